"""Metrics on hand-computed examples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_ml.evaluation import metrics


def frame(rows: list[tuple]) -> pd.DataFrame:
    """rows: (model, target_time UTC, p10, p50, p90, actual); origin = target − 24 h."""
    df = pd.DataFrame(rows, columns=["model", "target_time", "p10", "p50", "p90", "actual"])
    df["target_time"] = pd.to_datetime(df["target_time"], utc=True)
    df["origin"] = df["target_time"] - pd.Timedelta(hours=24)
    df["horizon_h"] = 24.0
    return df[list(metrics.COLUMNS)]


# two targets: 2020-05-01 is a public holiday (Fête du Travail), 2020-05-04 an ordinary Monday
T1, T2 = "2020-05-01 10:00", "2020-05-04 10:00"
FC = frame(
    [
        ("m", T1, 100.0, 110.0, 120.0, 100.0),
        ("m", T2, 180.0, 190.0, 195.0, 200.0),
        ("same_hour_last_week", T1, 60.0, 80.0, 90.0, 100.0),
        ("same_hour_last_week", T2, 200.0, 220.0, 230.0, 200.0),
    ]
)


def test_point_metrics() -> None:
    a, p = np.array([100.0, 200.0]), np.array([110.0, 190.0])
    assert metrics.mape(a, p) == pytest.approx((0.10 + 0.05) / 2)
    assert metrics.mae(a, p) == pytest.approx(10.0)
    assert metrics.rmse(a, p) == pytest.approx(10.0)
    assert metrics.bias(a, p) == pytest.approx(0.0)
    assert metrics.bias(a, p + 5) == pytest.approx(5.0)  # positive = over-forecast
    assert metrics.rmse([0.0, 0.0], [3.0, -4.0]) == pytest.approx(np.sqrt(12.5))


def test_nan_rows_are_ignored() -> None:
    assert metrics.mae([100.0, np.nan, 200.0], [110.0, 5.0, np.nan]) == pytest.approx(10.0)
    assert np.isnan(metrics.mape([np.nan], [1.0]))


def test_pinball() -> None:
    a, p = np.array([100.0, 200.0]), np.array([110.0, 190.0])
    # d = a − p = [−10, +10]; q=0.1: max(−1, 9)=9 and max(1, −9)=1 → 5
    assert metrics.pinball(a, p, 0.1) == pytest.approx(5.0)
    assert metrics.pinball(a, p, 0.5) == pytest.approx(5.0)
    # q=0.9: max(−9, 1)=1 and max(9, −1)=9 → 5; an under-forecast costs 0.9 per MW
    assert metrics.pinball([100.0], [90.0], 0.9) == pytest.approx(9.0)
    assert metrics.pinball([100.0], [90.0], 0.1) == pytest.approx(1.0)


def test_coverage() -> None:
    a = [100.0, 150.0, 200.0, 260.0]
    assert metrics.coverage(a, [90, 160, 200, 100], [110, 170, 210, 250]) == pytest.approx(0.5)


def test_summary_and_skill() -> None:
    table = metrics.summary(FC)
    assert list(table.index) == ["m", "same_hour_last_week"]  # sorted by MAPE
    m = table.loc["m"]
    assert m["n"] == 2
    assert m["mape"] == pytest.approx(0.075)
    assert m["mae"] == pytest.approx(10.0)
    assert m["bias"] == pytest.approx(0.0)
    assert m["coverage_p10_p90"] == pytest.approx(0.5)  # 100 in [100,120]; 200 not in [180,195]
    # pinball p10: d=[0, 20] → [0, 2] → 1; p50: d=[−10, 10] → 5; p90: d=[−20, 5] → [2, 4.5] → 3.25
    assert m["pinball_p10"] == pytest.approx(1.0)
    assert m["pinball_p50"] == pytest.approx(5.0)
    assert m["pinball_p90"] == pytest.approx(3.25)
    assert m["pinball"] == pytest.approx((1.0 + 5.0 + 3.25) / 3)
    # reference MAE = (20 + 20)/2 = 20 → skill = 1 − 10/20
    assert m["skill"] == pytest.approx(0.5)
    assert table.loc["same_hour_last_week", "skill"] == pytest.approx(0.0)


def test_skill_without_reference_is_nan() -> None:
    assert np.isnan(metrics.summary(FC[FC["model"] == "m"]).loc["m", "skill"])


def test_breakdown_by_holiday_hour_month_horizon() -> None:
    hol = metrics.breakdown(FC, "holiday").set_index(["model", "holiday"])
    assert hol.loc[("m", "holiday"), "mape"] == pytest.approx(0.10)
    assert hol.loc[("m", "ordinary"), "mape"] == pytest.approx(0.05)
    hour = metrics.breakdown(FC, "hour")
    assert set(hour["hour"]) == {12}  # 10:00 UTC is 12:00 in Paris (summer time)
    month = metrics.breakdown(FC, "month")
    assert set(month["month"]) == {"2020-05"}
    hz = metrics.breakdown(FC, "horizon")
    assert list(hz["horizon"]) == [24.0, 24.0]
    assert hz.set_index("model").loc["m", "n"] == 2


def test_bad_frame_and_key() -> None:
    with pytest.raises(ValueError, match="lacks columns"):
        metrics.summary(FC.drop(columns="actual"))
    with pytest.raises(ValueError, match="breakdown by"):
        metrics.breakdown(FC, "weekday")
