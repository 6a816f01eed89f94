"""Weather sources on the hourly grid: daily temperatures spread over hours, vintage bounds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.config import FeatureParams
from edip_pipeline.features.weather_sources import (
    daily_to_hourly,
    day_ahead_origins,
    national_wide,
    origin_bounds,
    points_of,
    read_hourly,
)
from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

PARAMS = FeatureParams(temperature_smoothing_alphas=[0.05, 0.01])
FEB10 = pd.date_range("2020-02-09T23:00Z", periods=24, freq="1h")


def test_daily_to_hourly_interpolates_and_adds_a_diurnal_cycle() -> None:
    days = pd.date_range("2020-01-01", "2020-01-05", freq="D").tz_localize("Europe/Paris")
    daily = pd.DataFrame(
        {"tmin_c": [0.0] * 5, "tmax_c": [10.0] * 5, "tmean_c": [5.0] * 5},
        index=days.tz_convert("UTC"),
    )
    grid = pd.date_range("2020-01-02", "2020-01-04", freq="1h", tz="UTC", inclusive="left")
    hourly = pd.Series(daily_to_hourly(daily, grid), index=grid)
    local = hourly.tz_convert("Europe/Paris")
    assert local.idxmax().hour == 15
    assert local.idxmin().hour == 3
    assert hourly.max() == pytest.approx(10.0)
    assert hourly.min() == pytest.approx(0.0)
    assert hourly.mean() == pytest.approx(5.0)
    # tmean only: a linear ramp between local noons
    ramp = daily[["tmean_c"]].assign(tmean_c=[0.0, 24.0, 48.0, 72.0, 96.0])
    h = pd.Series(daily_to_hourly(ramp, grid), index=grid)
    noon = pd.Timestamp("2020-01-02 11:00", tz="UTC")  # 12:00 CET
    assert h[noon] == pytest.approx(24.0)
    assert h[noon + pd.Timedelta(hours=6)] == pytest.approx(30.0)
    far = pd.date_range("2020-02-01", periods=3, freq="1h", tz="UTC")
    assert np.isnan(daily_to_hourly(ramp, far)).all()


def test_day_ahead_origin_and_bounds() -> None:
    origins = day_ahead_origins(FEB10, PARAMS)
    assert set(origins) == {pd.Timestamp("2020-02-09T11:00Z")}
    summer = day_ahead_origins(pd.DatetimeIndex([pd.Timestamp("2020-07-01T12:00Z")]), PARAMS)
    assert summer[0] == pd.Timestamp("2020-06-30T10:00Z")
    # an hour is bound by the earliest origin of the targets that read it (t > h - 1 h)
    grid = pd.date_range("2020-02-10T00:00Z", periods=4, freq="1h")
    targets = pd.DatetimeIndex(["2020-02-10T00:30Z", "2020-02-10T02:00Z"])
    early, late = pd.Timestamp("2020-02-08T00:00Z"), pd.Timestamp("2020-02-09T00:00Z")
    bounds = origin_bounds(grid, targets, pd.DatetimeIndex([late, early]))
    assert bounds[:3].tolist() == [early.value] * 3
    assert bounds[3] == np.iinfo(np.int64).min  # 03:00 is read by no target


def _rows(area: str, values: list[float]) -> pd.DataFrame:
    return canonical(
        FEB10[: len(values)],
        values,
        variable="temperature_2m_c",
        area=area,
        vintage=int(Vintage.DEFINITIVE),
        source="test",
    )


def test_national_weather_weighs_the_params_points_and_falls_back_to_fr(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Per-point rows are weighed with the feature parameters' points; FR rows fill the rest."""
    mine = tmp_path / "mine.csv"
    mine.write_text("slug,name,latitude,longitude,weight\nnorth,North,50,3,3\nsouth,South,43,5,1\n")
    params = FeatureParams(weather_points=str(mine))
    assert params.weather_points.startswith(f"{mine.resolve()}#")
    store.write(
        "weather_observed",
        pd.concat(
            [
                _rows("north", [0.0, 1.0, np.nan, np.nan]),
                _rows("south", [8.0, 9.0, 10.0, np.nan]),
                _rows("FR", [50.0, 50.0, 50.0, 50.0]),  # an ingest-time mean of other points
            ],
            ignore_index=True,
        ),
    )
    grid = FEB10[:4]
    wide = national_wide(store, "weather_observed", grid, ["temperature_2m_c"], points_of(params))
    got = wide["temperature_2m_c"].reindex(grid).tolist()
    # 2: south alone holds 25 % of the weight (under half); 3: no point: the stored FR rows
    assert got == [pytest.approx(2.0), pytest.approx(3.0), 50.0, 50.0]
    # points of another preset: nothing of them in the store, FR rows used and a warning says so
    hourly = read_hourly(store, ("weather_observed",), grid, points_of(FeatureParams()))
    assert hourly["temperature_2m_c"].tolist() == [50.0] * 4
    assert "holds other weather points (north, south" in caplog.text
