"""``edip replay``: live a past period through the API, day by day, as production would.

For each simulated Paris day D in [start, end]:

1. ``GET /v1/forecast?origin=<D-1 12:00 Paris>&horizon=<hours to the end of D>`` over HTTP, so
   the API builds, serves and *logs* the day-ahead forecast exactly as for a real client;
2. ``POST /v1/actuals`` with day D's measured load from the Store (hourly means of
   ``load_national/consumption_mw``, the models' label definition, plus RTE's D-1 forecast
   ``forecast_d1_mw`` as ``rte_forecast_d1_mw`` when stored).

Idempotent: the forecast request carries a deterministic ``X-Request-ID``
(``replay-<D>-<model>-<version>-<data version>``) and the log ignores a (request id, target) it
already holds; actuals are upserts. Re-running after a champion change or a re-ingest logs the new
forecasts alongside (a new id: the API refuses an id reused on a different forecast with 409).
The API's clock must be at or after the replayed period (``EDIP_REPLAY_NOW``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
import pandas as pd

from edip_pipeline.actuals import hourly_actuals
from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

MAX_HORIZON_H = 48


class ReplayError(RuntimeError):
    """The API refused a replay call (the message says which day and why)."""


@dataclass
class ReplayReport:
    """What a replay did."""

    days: list[str] = field(default_factory=list)
    forecast_points: int = 0
    actuals_upserted: int = 0
    models: set[str] = field(default_factory=set)

    def summary(self) -> str:
        span = f"{self.days[0]}..{self.days[-1]}" if self.days else "no day"
        return (
            f"replayed {len(self.days)} day(s) {span}: {self.forecast_points} forecast points "
            f"logged by {sorted(self.models)}, {self.actuals_upserted} actuals upserted"
        )


def replay_days(start: str, end: str) -> list[pd.Timestamp]:
    """Naive Paris dates ``start``..``end`` inclusive."""
    first, last = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    if first.tzinfo is not None or last.tzinfo is not None:
        raise ValueError("--start/--end are Paris calendar days like 2020-12-04")
    if last < first:
        raise ValueError(f"end {end} is before start {start}")
    return list(pd.date_range(first, last, freq="D"))


def day_plan(day: pd.Timestamp, origin_hour_local: int = 12) -> tuple[pd.Timestamp, int]:
    """The day-ahead origin of Paris day ``day`` and the horizon reaching the end of it."""
    _, day_end = local_day_bounds(day)
    origin = (day - pd.Timedelta(days=1) + pd.Timedelta(hours=origin_hour_local)).tz_localize(
        PARIS, nonexistent="shift_forward", ambiguous=True
    )
    horizon = int(np.ceil((day_end - origin.tz_convert("UTC")) / pd.Timedelta(hours=1)))
    return origin, min(horizon, MAX_HORIZON_H)


def day_actuals(store: Store, day: pd.Timestamp) -> list[dict[str, Any]]:
    """Day ``day``'s hourly actuals (label definition) and RTE's D-1 forecast when stored."""
    t0, t1 = local_day_bounds(day)
    return hourly_actuals(store, t0, t1)


def _check(response: httpx.Response, what: str) -> dict[str, Any]:
    if response.status_code >= 400:
        raise ReplayError(f"{what}: HTTP {response.status_code} {response.text[:500]}")
    body: dict[str, Any] = response.json()
    return body


def run_replay(
    client: httpx.Client,
    store: Store,
    start: str,
    end: str,
    *,
    on_day: Callable[[str], None] | None = None,
) -> ReplayReport:
    """Replay ``start``..``end`` through the API behind ``client`` (base URL and key set)."""
    report = ReplayReport()
    model = _check(client.get("/v1/model"), "GET /v1/model")
    # the id names one forecast (the API answers 409 to a reuse on another): model, version and
    # the store's data version, so a re-run is idempotent and a retrain or re-ingest is not a clash
    ready = client.get("/ready")
    state = ready.json() if ready.status_code in (200, 503) else {}
    data_version = str((state.get("store") or {}).get("data_version") or "nodata")[:8]
    tag = f"{model['name']}-{model.get('version') or 'none'}-{data_version}"
    origin_hour = int((model.get("feature_params") or {}).get("origin_hour_local", 12))
    for day in replay_days(start, end):
        label = str(day.date())
        origin, horizon = day_plan(day, origin_hour)
        rid = f"replay-{label}-{tag}"[:64]
        fc = _check(
            client.get(
                "/v1/forecast",
                params={"origin": origin.isoformat(), "horizon": horizon},
                headers={"X-Request-ID": rid},
            ),
            f"forecast for {label}",
        )
        report.forecast_points += len(fc["points"])
        report.models.add(f"{fc['model']['name']}:{fc['model'].get('version') or ''}")
        actuals = day_actuals(store, day)
        if actuals:
            up = _check(client.post("/v1/actuals", json={"actuals": actuals}), f"actuals {label}")
            report.actuals_upserted += int(up["upserted"])
        report.days.append(label)
        if on_day is not None:
            on_day(label)
    return report
