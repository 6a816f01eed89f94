"""The data-quality gate of an issuance: is the store fit to forecast day D from now?

Three checks, each with what it measured (recorded with the issuance, shown by the dashboard):

* **freshness** — the last stored national load is at most ``max_data_age_h`` old at now (and not
  after now: a store holding "future" data means the clock or the data is wrong);
* **gaps** — at most ``max_gap_share`` of the half-hours the features look back on
  (``gap_window_days`` before the last stored load) are missing;
* **weather** — every weather dataset in the store covers the whole target day (a store with no
  weather passes: the model then forecasts from calendar and load, as it was trained).

A failed gate does not stop the issuance: :mod:`edip_ml.live.issue` issues the documented
fallback instead, flagged, and raises an alert.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from edip_ml.live.config import LiveSettings
from edip_pipeline.store import Store

LOAD = ("load_national", "consumption_mw")
HALF_HOUR = pd.Timedelta("30min")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class GateResult:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failures(self) -> str:
        return "; ".join(f"{c.name}: {c.detail}" for c in self.checks if not c.ok)

    def as_json(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.checks]


def last_load_before(store: Store, now: pd.Timestamp, days: int = 30) -> pd.Timestamp | None:
    """The last stored load stamp before ``now`` (reads stop at now, whatever the store holds)."""
    values = store.series(*LOAD, start=now - pd.Timedelta(days=days), end=now).dropna()
    return pd.Timestamp(values.index.max()) if len(values) else None


def freshness(last: pd.Timestamp | None, now: pd.Timestamp, max_age_h: float) -> Check:
    if last is None:
        return Check("freshness", False, "no national load stored in the 30 days before now")
    age_h = (now - last) / pd.Timedelta(hours=1)
    if age_h < 0:
        return Check("freshness", False, f"load stored up to {last.isoformat()}, after now")
    ok = age_h <= max_age_h
    return Check(
        "freshness", ok, f"last load {last.isoformat()}, {age_h:.1f} h old (max {max_age_h:g} h)"
    )


def gaps(store: Store, last: pd.Timestamp | None, window_days: int, max_share: float) -> Check:
    if last is None:
        return Check("gaps", False, "no load to look back on")
    end = last + HALF_HOUR
    start = end - pd.Timedelta(days=window_days)
    values = store.series(*LOAD, start=start, end=end)
    expected = int((end - start) / HALF_HOUR)
    missing = 1.0 - float(values.notna().sum()) / expected
    ok = missing <= max_share
    return Check(
        "gaps",
        ok,
        f"{missing:.1%} of the {window_days} days' half-hours missing (max {max_share:.0%})",
    )


def weather(store: Store, day_end: pd.Timestamp) -> Check:
    datasets = store.manifest().get("datasets", {})
    names = sorted(n for n in datasets if n.startswith("weather"))
    if not names:
        return Check("weather", True, "no weather in the store: calendar and load features only")
    short = [n for n in names if pd.Timestamp(datasets[n]["end"]) < day_end]
    if short:
        return Check("weather", False, f"{', '.join(short)} end before {day_end.isoformat()}")
    return Check("weather", True, f"{', '.join(names)} cover the target day")


def data_quality_gate(
    store: Store, now: pd.Timestamp, day_end: pd.Timestamp, settings: LiveSettings
) -> GateResult:
    """Every check of the gate at ``now`` for a target day ending at ``day_end`` (UTC)."""
    last = last_load_before(store, now)
    return GateResult(
        [
            freshness(last, now, settings.max_data_age_h),
            gaps(store, last, settings.gap_window_days, settings.max_gap_share),
            weather(store, day_end),
        ]
    )
