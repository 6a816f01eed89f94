"""``issue-forecast``: the day-ahead forecast of tomorrow, issued once, on time or flagged.

At the issuance time (D-1 at ``issuance_hour`` Paris) the flow runs the data-quality gate, then
asks the API for the champion's forecast from now (``/v1/forecast``, request id ``issue-<D>``, so
the API logs it like any request and a re-run cannot log it twice) and records the issuance
(``/v1/issuances``: origin, model version, weather source, gate checks). A failed gate (a store
it cannot read counts as failed) issues the documented fallback instead — same hour last week,
asked of the API (``/v1/fallback``, request id ``issue-<D>-fallback``) — flagged, and raises an
alert (log + webhook) naming any open damage report of the store. When even the fallback cannot
be had (the API is down), the run fails and is retried; see the catch-up below.

**Catch-up**: the flow looks at every target day due since the last recorded one. A day whose
forecast is still useful (D has not started) is issued now, labelled late when past due; a day
already started is recorded as *missed*. Nothing is ever back-dated: ``issued_at`` and ``origin``
are the loop's now. Days already recorded are left alone, so a re-run changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NONE

from edip_ml.live.api import LoopApi, LoopApiError
from edip_ml.live.config import LiveSettings, live_settings
from edip_ml.live.explain import explain_issued
from edip_ml.live.gate import Check, GateResult, data_quality_gate
from edip_pipeline import clock
from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.flows import run_task
from edip_pipeline.integrity import damage_reports, describe
from edip_pipeline.redact import redact_url
from edip_pipeline.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Planned:
    """One target day the flow has to act on now."""

    day: pd.Timestamp  # naive Paris date
    due: pd.Timestamp  # UTC
    action: str  # "issue" or "missed"
    late: bool

    @property
    def label(self) -> str:
        return str(self.day.date())


def due_at(day: pd.Timestamp, hour: int) -> pd.Timestamp:
    """When the forecast of Paris day ``day`` is due: D-1 at ``hour`` Paris, in UTC."""
    local = pd.Timestamp(day).normalize() - pd.Timedelta(days=1) + pd.Timedelta(hours=hour)
    return local.tz_localize(PARIS, nonexistent="shift_forward", ambiguous=True).tz_convert("UTC")


def plan_issuances(now: pd.Timestamp, recorded: set[str], settings: LiveSettings) -> list[Planned]:
    """The target days due by ``now`` and not recorded yet, with what to do for each.

    With no record at all the loop is new: only the latest due day is considered, if it has not
    started (days before the loop existed were not missed by it). Otherwise every unrecorded day since the first recorded
    one (at most ``catch_up_days`` back) is planned.
    """
    today = now.tz_convert(PARIS).tz_localize(None).normalize()
    latest = today + pd.Timedelta(days=1)
    if due_at(latest, settings.issuance_hour) > now:
        latest = today
    first = latest - pd.Timedelta(days=settings.catch_up_days - 1)
    if recorded:
        first = max(first, pd.Timestamp(min(recorded)))
    elif now >= local_day_bounds(latest)[0]:
        return []  # a new loop, and the day due has started: nothing it could still issue
    else:
        first = latest
    grace = pd.Timedelta(minutes=settings.late_after_min)
    out: list[Planned] = []
    for day in pd.date_range(first, latest, freq="D"):
        if str(day.date()) in recorded:
            continue
        due = due_at(day, settings.issuance_hour)
        started = now >= local_day_bounds(day)[0]
        out.append(Planned(day, due, "missed" if started else "issue", now > due + grace))
    return out


def checked_gate(
    store: Store, now: pd.Timestamp, day_end: pd.Timestamp, settings: LiveSettings
) -> GateResult:
    """The data-quality gate; a store it cannot read is a failed check, never a failed run."""
    try:
        return data_quality_gate(store, now, day_end, settings)
    except Exception as exc:  # damaged beyond recovery, unreadable: the fallback is the answer
        log.exception("the data-quality gate could not read the store")
        return GateResult([Check("store", False, f"store unreadable: {exc}")])


def damage_note(store: Store) -> str:
    """The store's open damage reports, as an alert's last sentence (empty when none)."""
    reports = damage_reports(store.root)
    return "".join(f"; store damaged: {describe(r)}" for r in reports)


def post_alert(settings: LiveSettings, title: str, message: str, at: pd.Timestamp) -> bool:
    """Log the alert and post it to the webhook (dashboard format); False if the post failed."""
    log.error("ALERT %s: %s", title, message)
    if not settings.alert_webhook_url:
        return True
    alert = {"rule": "issuance", "severity": "critical", "title": title, "message": message}
    body = {
        "source": "edip-loop",
        "text": f"EDIP: {title}: {message}",
        "alerts": [{**alert, "at": at.isoformat()}],
    }
    url = settings.alert_webhook_url.get_secret_value()
    try:
        httpx.post(url, json=body, timeout=10).raise_for_status()
    except httpx.HTTPError as exc:  # its message may quote the URL: the path is the token
        where = redact_url(url, keep_path=False)
        log.error("alert webhook %s failed: %s", where, str(exc).replace(url, where))
        return False
    return True


def _base(item: Planned, now: pd.Timestamp) -> dict[str, Any]:
    return {
        "target_day": item.label,
        "due_at": item.due.isoformat(),
        "late": item.late,
        "issued_at": now.isoformat(),
    }


def issue_day(
    item: Planned, now: pd.Timestamp, settings: LiveSettings, api: LoopApi
) -> dict[str, Any]:
    """Issue (or record as missed) one target day; returns the stored issuance."""
    if item.action == "missed":
        body = {
            **_base(item, now),
            "status": "missed",
            "issued_at": None,
            "detail": (
                f"not issued by its due time {item.due.isoformat()}; at {now.isoformat()} the day had started"
            ),
        }
        post_alert(settings, f"forecast of {item.label} missed", body["detail"], now)
        return dict(api.record_issuance(body)["issuance"])
    store = Store()
    origin = now.floor("h")
    gate = checked_gate(store, now, local_day_bounds(item.day)[1], settings)
    rid = f"issue-{item.label}"
    body = {**_base(item, now), "origin": origin.isoformat(), "request_id": rid,
            "gate_ok": gate.ok, "gate_checks": gate.as_json()}  # fmt: skip
    reason = None if gate.ok else f"data-quality gate failed: {gate.failures()}"
    fc: dict[str, Any] | None = None
    if gate.ok:
        try:
            fc = api.forecast(origin.isoformat(), settings.horizon_h, rid)
        except LoopApiError as exc:
            reason = f"the API could not forecast: {exc}"
        else:
            model = fc["model"]
            body.update(model_name=model["name"], model_version=model.get("version"),
                        weather_source=fc.get("weather_source"), points=len(fc["points"]))  # fmt: skip
            if model.get("source") == "fallback":
                reason = f"the API serves its fallback: {model.get('reason')}"
    if reason is not None and not body.get("points"):  # raises when the API cannot: retried
        fb = api.fallback(origin.isoformat(), settings.horizon_h, f"{rid}-fallback")
        body.update(model_name=fb["model"]["name"], model_version="", points=len(fb["points"]),
                    weather_source=fb.get("weather_source"), request_id=f"{rid}-fallback")  # fmt: skip
    if reason is not None:
        reason += damage_note(store)
        body.update(status="fallback", fallback=True, detail=reason[:2000])
        post_alert(settings, f"fallback issued for {item.label}", reason, now)
    else:
        body["status"] = "late" if item.late else "on_time"
    stored = dict(api.record_issuance(body)["issuance"])
    if fc is not None and reason is None:  # the champion's forecast: why it says what it says
        explain_issued(api, fc, item.label, store)
    log.info("issuance of %s: %s (%s v%s, %d points)", item.label, stored["status"],
             stored["model_name"], stored["model_version"], stored["points"])  # fmt: skip
    return stored


@task(cache_policy=NONE, task_run_name="issue-{label}")
def issue_task(label: str, item: Planned, now: str) -> dict[str, Any]:
    settings = live_settings()
    with LoopApi(settings) as api:
        return issue_day(item, pd.Timestamp(now), settings, api)


_RETRY = live_settings()  # a served deployment runs the flow as decorated: read at import


@flow(
    name="issue-forecast",
    log_prints=False,
    retries=_RETRY.retries,
    retry_delay_seconds=_RETRY.retry_delay_min * 60,
)
def issue_forecast_flow() -> list[dict[str, Any]]:
    """Issue every target day due and not recorded yet (normally: tomorrow, once)."""
    settings = live_settings()
    now = clock.now()
    with LoopApi(settings) as api:
        since = (now.tz_convert(PARIS) - pd.Timedelta(days=settings.catch_up_days + 1)).date()
        recorded = {r["target_day"] for r in api.issuances(start_day=str(since), limit=1000)}
    planned = plan_issuances(now, recorded, settings)
    if not planned:
        log.info("nothing due at %s: tomorrow's forecast is already recorded", now.isoformat())
    return [run_task(issue_task, p.label, p, now.isoformat()) for p in planned]
