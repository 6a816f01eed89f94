"""``issue-intraday``: re-issues of day D after its day-ahead, each from the data known at its slot.

Slots (``intraday_slots``, Paris: ``D-1 18:00`` with the evening weather run, then ``D 06:00`` …
``D 18:00``) are checked by each run of the deployment (``intraday_cron``). A slot is issued when it
is the *latest* slot of its day that is due by now and D has not ended: origin and ``issued_at``
are the loop's now (never back-dated), the forecast is the API's from that origin — features built
from the store as it stands, so the latest actuals and the newest weather run (the feature builder
only reads load complete at the origin: :mod:`edip_pipeline.features.load`) — up to the end of D,
by the intraday model (``GET /v1/forecast/intraday``: ``edip train intraday``'s champion, else the
day-ahead champion, the answer's ``model.reason`` saying so; the issuance records the model),
asked under request id ``issue-<D>-intraday-<slot>`` and recorded with its ``kind``
(``intraday D 09:00``) and lead time (origin → start of D, hours; negative during D). A slot
already recorded is left alone (idempotent); a slot superseded by a later one while the loop was
down is skipped, not issued late (a stale re-issue would be worse than the later one). A failed
data-quality gate, or an API that answers but cannot forecast, issues nothing: the day-ahead and
any earlier re-issue stay the latest forecast (an unreachable API fails the run: it is retried).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import pandas as pd
from prefect import flow

from edip_ml.live.api import LoopApi, LoopApiError
from edip_ml.live.config import LiveSettings, live_settings, parse_slot
from edip_ml.live.issue import checked_gate
from edip_pipeline import clock
from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

MAX_HORIZON_H = 48


@dataclass(frozen=True)
class Slot:
    """One intraday re-issue of Paris day ``day`` due at ``due`` (UTC)."""

    day: pd.Timestamp  # naive Paris date
    name: str  # "D-1 18:00"
    due: pd.Timestamp

    @property
    def label(self) -> str:
        return str(self.day.date())

    @property
    def kind(self) -> str:
        return f"intraday {self.name}"

    @property
    def request_id(self) -> str:
        return f"issue-{self.label}-intraday-{self.name.replace(' ', '-').replace(':', '')}"


def slot_due(day: pd.Timestamp, slot: str) -> pd.Timestamp:
    """When ``slot`` of Paris day ``day`` is due, in UTC."""
    offset, hour, minute = parse_slot(slot)
    local = pd.Timestamp(day).normalize() + pd.Timedelta(days=offset, hours=hour, minutes=minute)
    return local.tz_localize(PARIS, nonexistent="shift_forward", ambiguous=True).tz_convert("UTC")


def plan_intraday(
    now: pd.Timestamp, recorded: set[tuple[str, str]], settings: LiveSettings
) -> list[Slot]:
    """The slots to issue now: per target day (today, tomorrow) whose end is still ahead, its
    latest slot due by ``now``, unless ``(day, kind)`` is in ``recorded``."""
    today = now.tz_convert(PARIS).tz_localize(None).normalize()
    out: list[Slot] = []
    for day in (today, today + pd.Timedelta(days=1)):
        if now >= local_day_bounds(day)[1]:
            continue
        due = [Slot(day, s, slot_due(day, s)) for s in settings.intraday_slots]
        due = [s for s in due if s.due <= now]
        if not due:
            continue
        latest = max(due, key=lambda s: s.due)
        if (latest.label, latest.kind) not in recorded:
            out.append(latest)
    return out


def issue_slot(
    slot: Slot, now: pd.Timestamp, settings: LiveSettings, api: LoopApi
) -> dict[str, Any] | None:
    """Issue one re-issue from now to the end of D and record it; ``None`` when the gate fails."""
    store = Store()
    origin = now.floor("h")
    day_start, day_end = local_day_bounds(slot.day)
    gate = checked_gate(store, now, day_end, settings)
    if not gate.ok:
        log.warning("no intraday re-issue of %s (%s): data-quality gate failed: %s",
                    slot.label, slot.name, gate.failures())  # fmt: skip
        return None
    horizon = min(MAX_HORIZON_H, math.ceil((day_end - origin) / pd.Timedelta(hours=1)))
    try:
        fc = api.forecast_intraday(origin.isoformat(), horizon, slot.request_id)
    except LoopApiError as exc:
        if exc.status_code is None:  # unreachable: the run fails and is retried
            raise
        log.warning("no intraday re-issue of %s (%s): the API could not forecast: %s",
                    slot.label, slot.name, exc)  # fmt: skip
        return None
    model = fc["model"]
    late = now > slot.due + pd.Timedelta(minutes=settings.late_after_min)
    body = {
        "target_day": slot.label,
        "kind": slot.kind,
        "lead_h": (day_start - origin) / pd.Timedelta(hours=1),
        "status": "late" if late else "on_time",
        "due_at": slot.due.isoformat(),
        "issued_at": now.isoformat(),
        "origin": origin.isoformat(),
        "request_id": slot.request_id,
        "late": late,
        "model_name": model["name"],
        "model_version": model.get("version"),
        "weather_source": fc.get("weather_source"),
        "points": len(fc["points"]),
        "gate_ok": True,
        "gate_checks": gate.as_json(),
    }
    stored = dict(api.record_issuance(body)["issuance"])
    log.info("intraday re-issue of %s (%s): %s, %d points from %s by %s v%s%s", slot.label,
             slot.name, stored["status"], stored["points"], origin.isoformat(), model["name"],
             model.get("version"), f" ({model['reason']})" if model.get("reason") else "")  # fmt: skip
    return stored


@flow(name="issue-intraday", log_prints=False)
def issue_intraday_flow() -> list[dict[str, Any]]:
    """Issue the intraday slots due now and not recorded yet."""
    settings = live_settings()
    now = clock.now()
    if not settings.intraday_slots:
        return []
    with LoopApi(settings) as api:
        since = str((now.tz_convert(PARIS) - pd.Timedelta(days=1)).date())
        rows = api.issuances(start_day=since, limit=1000, kind="all")
        recorded = {(r["target_day"], r["kind"]) for r in rows}
        planned = plan_intraday(now, recorded, settings)
        issued = [issue_slot(s, now, settings, api) for s in planned]
    return [i for i in issued if i is not None]
