"""A day's successive issues recorded on a running platform, as the loop records them.

Why shared: the dashboard's page and browser tests need a measured day with its day-ahead and
intraday re-issues (``/v1/issued/history``, the daily peak) without running the loop's Prefect
flows and their data-quality gate. The slot names, due times, request ids and kinds are the
loop's own (:mod:`edip_ml.live.intraday`), so what is seeded reads as what the loop issues.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from edip_pipeline.calendar import local_day_bounds
from edip_testkit.platform import Registry, RunningApi, temporary_env

DAY_AHEAD = "day-ahead"
#: the re-issues seeded by default (a subset of the loop's default slots)
SLOTS = ("D-1 18:00", "D 06:00", "D 12:00", "D 18:00")


def issue_day(
    api: RunningApi,
    registry: Registry,
    day: str,
    slots: tuple[str, ...] = SLOTS,
    forecast_day_ahead: bool = True,
) -> list[dict[str, Any]]:
    """Record Paris ``day``'s day-ahead (origin D-1 12:00, request ``issue-<day>``; asked of the
    API unless ``forecast_day_ahead`` is false, i.e. already logged) and its intraday re-issues
    at ``slots`` (each from its due time to the end of D), issued at their origins; the stored
    issuance records, oldest first. Idempotent like the loop: a recorded (day, kind) stays."""
    from edip_ml.live.api import LoopApi
    from edip_ml.live.config import LiveSettings
    from edip_ml.live.intraday import Slot, slot_due

    start, end = local_day_bounds(day)
    ahead = (pd.Timestamp(day) - pd.Timedelta(hours=12)).tz_localize("Europe/Paris")
    issues = [(DAY_AHEAD, ahead.tz_convert("UTC"), f"issue-{day}", forecast_day_ahead)]
    for name in slots:
        slot = Slot(pd.Timestamp(day), name, slot_due(pd.Timestamp(day), name))
        issues.append((slot.kind, slot.due, slot.request_id, True))
    settings = LiveSettings(api_url=api.url, api_key=api.api_key)
    stored: list[dict[str, Any]] = []
    with temporary_env(registry.env()), LoopApi(settings) as client:
        model = client.model()
        for kind, origin, request_id, ask in issues:
            horizon = min(48, math.ceil((end - origin) / pd.Timedelta(hours=1)))
            if ask:
                client.forecast(origin.isoformat(), horizon, request_id)
            body = {
                "target_day": day, "kind": kind, "status": "on_time",
                "lead_h": (start - origin) / pd.Timedelta(hours=1),
                "due_at": origin.isoformat(), "issued_at": origin.isoformat(),
                "origin": origin.isoformat(), "request_id": request_id,
                "points": horizon, "gate_ok": True,
                "model_name": model["name"], "model_version": model.get("version"),
            }  # fmt: skip
            stored.append(dict(client.record_issuance(body)["issuance"]))
    return stored
