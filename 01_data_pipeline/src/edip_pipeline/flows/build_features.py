"""``build_features`` flow: the feature table of a protocol into ``data/processed/``."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NONE

from edip_pipeline.calendar import PARIS
from edip_pipeline.features import (
    build_feature_table,
    day_ahead_pairs,
    rolling_pairs,
    write_feature_table,
)
from edip_pipeline.features.load import first_ready_day
from edip_pipeline.flows import run_task
from edip_pipeline.store import Store

log = logging.getLogger(__name__)


def default_range(store: Store, start: str | None, end: str | None) -> tuple[str, str]:
    """Explicit bounds, else params.yaml, else the span of stored national load (the normal path:
    from the first day with the full load look-back to the last stored day)."""
    fp = store.params.features
    start = start or fp.start
    end = end or fp.end
    if start is None or end is None:
        entry = store.manifest().get("datasets", {}).get("load_national")
        if not entry:
            raise ValueError("no national load in the store: run `edip ingest` first")
        first = first_ready_day(pd.Timestamp(entry["start"]), fp)
        last = pd.Timestamp(entry["end"]).tz_convert(PARIS)
        start = start or first.strftime("%Y-%m-%d")
        end = end or last.strftime("%Y-%m-%d")
    return start, end


@task(cache_policy=NONE)
def build_table(start: str, end: str, protocol: str, weather: str) -> Path:
    store = Store()
    fp = store.params.features
    if protocol == "day-ahead":
        pairs = day_ahead_pairs(start, end, step=fp.step, origin_hour_local=fp.origin_hour_local)
    elif protocol == "rolling-24h":
        origins = pd.date_range(
            pd.Timestamp(start, tz=PARIS),
            pd.Timestamp(end, tz=PARIS),
            freq="1D",
        ).tz_convert("UTC")
        pairs = rolling_pairs(origins, horizon_h=24, step=fp.step)
    else:
        raise ValueError(f"unknown protocol {protocol!r}: day-ahead or rolling-24h")
    table = build_feature_table(store, pairs, fp, weather=weather)  # type: ignore[arg-type]
    return write_feature_table(store, table, f"features_{protocol.replace('-', '_')}")


@flow(name="build_features")
def build_features_flow(
    start: str | None = None,
    end: str | None = None,
    protocol: str = "day-ahead",
    weather: str = "auto",
) -> Path:
    """Build and store the feature table for target days ``start``..``end``."""
    start, end = default_range(Store(), start, end)
    return run_task(build_table, start, end, protocol, weather)


if __name__ == "__main__":
    build_features_flow()
