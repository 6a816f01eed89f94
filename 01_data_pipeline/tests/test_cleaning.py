"""Clock changes and duplicate resolution."""

from __future__ import annotations

import pandas as pd

from edip_pipeline.calendar import paris_wallclock_to_utc
from edip_pipeline.cleaning import resolve_duplicates
from edip_pipeline.schema import Flag
from edip_pipeline.sources.base import canonical


def test_spring_forward_phantoms_become_nat() -> None:
    local = pd.Series(pd.date_range("2020-03-29 01:00", "2020-03-29 03:30", freq="30min"))
    utc = paris_wallclock_to_utc(local)
    assert utc.isna().sum() == 2  # 02:00 and 02:30 do not exist
    assert utc.dropna()[0] == pd.Timestamp("2020-03-29 00:00", tz="UTC")
    assert utc.dropna()[-1] == pd.Timestamp("2020-03-29 01:30", tz="UTC")


def test_fall_back_repeated_hour_in_order() -> None:
    stamps = [
        "2020-10-25 01:30",
        "2020-10-25 02:00",
        "2020-10-25 02:30",
        "2020-10-25 02:00",
        "2020-10-25 02:30",
        "2020-10-25 03:00",
    ]
    utc = paris_wallclock_to_utc(pd.Series(pd.to_datetime(stamps)))
    expected = pd.date_range("2020-10-24 23:30", periods=6, freq="30min", tz="UTC")
    assert list(utc) == list(expected)


def test_resolve_duplicates_prefers_measured_then_vintage() -> None:
    ts = pd.DatetimeIndex([pd.Timestamp("2020-01-01", tz="UTC")] * 3)
    frame = canonical(ts, [1.0, 2.0, 3.0], variable="x", area="FR", vintage=[3, 1, 2], source="s")
    frame.loc[0, "flags"] = int(Flag.INTERPOLATED)
    out = resolve_duplicates(frame)
    assert out["value"].tolist() == [3.0]
