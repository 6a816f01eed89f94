"""Repair: which sources re-fetch a damaged dataset, which ranges, never past now."""

from __future__ import annotations

import pandas as pd

from edip_pipeline.repair import fetch_plan, lost_periods, repair
from edip_pipeline.sources.sample import SAMPLE_DATASET
from edip_pipeline.store import Store


def test_the_fetch_plan_comes_from_the_damaged_versions_sources() -> None:
    sources = ["cleaning", "sample", "odre:eco2mix-national-tr", "t"]
    assert fetch_plan("load_national", sources) == [
        ("odre", "eco2mix-national-tr"),
        ("sample", SAMPLE_DATASET),
    ]
    assert fetch_plan("weather_observed", ["sample"]) == []  # the sample holds no weather


def test_lost_periods_end_one_step_after_the_last_lost_stamp_and_never_after_now() -> None:
    report = {
        "dataset": "load_national",
        "lost": [
            {
                "year": 2020,
                "start": "2020-01-01T00:00:00+00:00",
                "end": "2020-01-02T23:30:00+00:00",
            },
            {"year": 2019, "start": None, "end": None},
        ],
    }
    now = pd.Timestamp("2021-01-01", tz="UTC")
    assert lost_periods(report, now) == [
        (pd.Timestamp("2020-01-01", tz="UTC"), pd.Timestamp("2020-01-03", tz="UTC"))
    ]
    early = pd.Timestamp("2020-01-02T12:00", tz="UTC")
    assert lost_periods(report, early)[0][1] == early


def test_repair_without_a_fetchable_source_leaves_the_report_open(store: Store) -> None:
    """Rows written by hand (source "t") cannot be re-fetched: the report stays open, says why."""
    from edip_pipeline.schema import Vintage
    from edip_pipeline.sources.base import canonical

    ts = pd.date_range("2020-01-01", periods=48, freq="30min", tz="UTC")
    rows = canonical(ts, [5e4] * 48, variable="consumption_mw", area="FR",
                     vintage=int(Vintage.REALTIME), source="t")  # fmt: skip
    store.write("load_national", rows)
    path = store.versions.current("load_national") / "year=2020" / "part.parquet"
    path.write_bytes(b"not parquet")
    [result] = repair(store, "load_national")
    assert not result.resolved
    assert "no source to re-fetch load_national" in result.message
    from edip_pipeline.integrity import damage_reports

    assert len(damage_reports(store.root, "load_national")) == 1
