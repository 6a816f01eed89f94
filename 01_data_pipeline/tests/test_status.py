"""``edip data status``: range, rows, gaps, missing values and version per dataset."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_pipeline.schema import Flag, Vintage
from edip_pipeline.sources.base import canonical
from edip_pipeline.status import count_gaps, dataset_status
from edip_pipeline.store import Store


def _day(variable: str, drop: slice | None, offset: float = 0.0) -> pd.DataFrame:
    """One day of made-up half-hourly load (2021-03-01 UTC), optionally with a hole."""
    ts = pd.date_range("2021-03-01", periods=48, freq="30min", tz="UTC")
    values = 55_000 + 4_000 * np.sin(np.arange(48) / 48 * 2 * np.pi) + offset
    frame = canonical(
        ts, values, variable=variable, area="FR", vintage=int(Vintage.REALTIME), source="test"
    )
    if drop is not None:
        frame = frame.drop(frame.index[drop]).reset_index(drop=True)
    return frame


def test_status_of_an_empty_store(store: Store) -> None:
    assert dataset_status(store) == []


def test_status_reports_a_five_hour_gap(store: Store) -> None:
    # consumption: 10:00-14:30 UTC absent (10 half-hours = 5 h, more than max_interpolate = 2 h)
    # forecast: 1 h absent (2 half-hours): interpolated, not a gap
    frame = pd.concat(
        [_day("consumption_mw", slice(20, 30)), _day("forecast_d1_mw", slice(6, 8))],
        ignore_index=True,
    )
    store.write("load_national", frame)

    [row] = dataset_status(store)
    assert row["dataset"] == "load_national"
    assert row["data_dir"] == str(store.root)
    assert row["gaps"] == 1
    assert row["missing"] == 10
    assert row["interpolated"] == 2
    assert row["rows"] == 2 * 48  # the hole is on the grid, as MISSING rows
    assert row["start"] == "2021-03-01T00:00:00+00:00"
    assert row["end"] == "2021-03-01T23:30:00+00:00"
    assert row["step"] == "30min"
    assert row["version"] == 1
    assert row["sources"] == "cleaning,test"
    assert row["last_ingest"]

    hole = store.read(
        "load_national",
        "2021-03-01T10:00Z",
        "2021-03-01T15:00Z",
        variables=["consumption_mw"],
    )
    assert len(hole) == 10
    assert hole["value"].isna().all()
    assert ((hole["flags"] & int(Flag.MISSING)) != 0).all()

    # a second hole in another series counts as a second gap; the version moves on
    regional = _day("consumption_mw", slice(30, 40))
    store.write("load_regional", regional.assign(area="84", value=regional["value"] / 8))
    store.write("load_national", _day("consumption_mw", None))  # fills the 5-h hole
    rows = {r["dataset"]: r for r in dataset_status(store)}
    assert rows["load_national"]["gaps"] == 0
    assert rows["load_national"]["missing"] == 0
    assert rows["load_national"]["version"] == 2
    assert rows["load_regional"]["gaps"] == 1
    assert rows["load_regional"]["missing"] == 10
    assert rows["load_regional"]["version"] == 1


def test_count_gaps_counts_runs() -> None:
    m, ok = int(Flag.MISSING), int(Flag.INTERPOLATED)
    assert count_gaps(np.array([0, 0, ok], dtype="int8")) == 0
    assert count_gaps(np.array([m, m, 0, m, 0, 0, m | ok, m], dtype="int8")) == 3
