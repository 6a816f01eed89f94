"""The daily peak: the hour of the largest P50, its band at that hour, scored once measured."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_pipeline.peak import daily_peaks, peak_scores


def _day(day: str, peak_hour: int, level: float) -> pd.DataFrame:
    hours = pd.date_range(day, periods=24, freq="h", tz="Europe/Paris").tz_convert("UTC")
    p50 = level + 1000.0 * np.arange(24)
    p50[peak_hour] = level + 50_000.0
    return pd.DataFrame({"p10": p50 - 2000, "p50": p50, "p90": p50 + 3000}, index=hours)


def test_peak_band_is_the_quantiles_at_the_peak_hour_and_is_scored() -> None:
    fc = pd.concat([_day("2020-01-06", 19, 60_000.0), _day("2020-01-07", 9, 60_000.0)])
    actual = fc["p50"].copy()
    actual.iloc[24 + 9] -= 50_000.0  # on the 7th the measured peak is at 23:00, 1000 MW lower
    peaks = daily_peaks(fc, actual)
    assert list(peaks["day"]) == ["2020-01-06", "2020-01-07"]
    assert list(peaks["peak_hour"]) == [19, 9]
    assert list(peaks["peak_mw"]) == [110_000.0, 110_000.0]
    assert list(peaks["peak_p10"]) == [108_000.0, 108_000.0]
    assert list(peaks["peak_p90"]) == [113_000.0, 113_000.0]
    assert list(peaks["actual_peak_hour"]) == [19, 23]
    assert list(peaks["error_mw"]) == [0.0, 110_000.0 - 83_000.0]
    assert list(peaks["hit"]) == [1.0, 0.0]
    scores = peak_scores(peaks)
    assert scores == {"n": 2, "hit_rate": 0.5, "mae_mw": 13_500.0, "bias_mw": 13_500.0}


def test_a_day_not_wholly_measured_is_not_scored() -> None:
    fc = _day("2020-01-06", 19, 60_000.0)
    peaks = daily_peaks(fc, fc["p50"].iloc[:20])
    assert peaks["error_mw"].isna().all()
    assert peak_scores(peaks)["n"] == 0
