"""Error metrics, the day-ahead selection, baselines and groupings on crafted frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_dashboard.frames import actuals_frame, predictions_frame
from edip_dashboard.metrics import (
    comparison_frame,
    daily_metrics,
    day_ahead_forecasts,
    day_type,
    error_by_day_type,
    error_by_hour,
    error_metrics,
    long_errors,
    overall,
    rolling_daily,
    same_hour_last_week,
)


def test_error_metrics_values() -> None:
    m = error_metrics(np.array([110.0, 90.0, np.nan]), np.array([100.0, 100.0, 50.0]))
    assert m.n == 2
    assert m.mape == pytest.approx(0.10)
    assert m.mae == pytest.approx(10.0)
    assert m.bias == pytest.approx(0.0)


def test_error_metrics_zero_actual_and_empty() -> None:
    m = error_metrics(np.array([5.0, 110.0]), np.array([0.0, 100.0]))
    assert m.n == 2
    assert m.mape == pytest.approx(0.10)  # the zero actual is left out of the MAPE only
    assert m.mae == pytest.approx(7.5)
    empty = error_metrics(np.array([np.nan]), np.array([1.0]))
    assert empty.n == 0
    assert np.isnan(empty.mape)
    with pytest.raises(ValueError, match="shape"):
        error_metrics(np.ones(2), np.ones(3))


def _pred(model: str, version: str, origin: str, target: str, p50: float, created: str) -> dict:
    return {
        "request_id": f"{model}-{origin}",
        "model_name": model,
        "model_version": version,
        "origin": origin,
        "target_time": target,
        "horizon_h": 0,
        "p10": p50 - 1000,
        "p50": p50,
        "p90": p50 + 1000,
        "latency_ms": 1.0,
        "created_at": created,
    }


def test_day_ahead_takes_the_latest_origin_at_least_12h_before() -> None:
    target = "2020-12-21T12:00:00Z"
    items = [
        _pred("lgbm", "1", "2020-12-19T11:00:00Z", target, 50_000, "2020-12-19T11:00:01Z"),
        _pred("lgbm", "1", "2020-12-20T11:00:00Z", target, 51_000, "2020-12-20T11:00:01Z"),
        # 6 h before: intraday, not day-ahead
        _pred("lgbm", "1", "2020-12-21T06:00:00Z", target, 59_000, "2020-12-21T06:00:01Z"),
        _pred("lgbm", "2", "2020-12-20T11:00:00+01:00", target, 52_000, "2020-12-20T11:00:01Z"),
    ]
    out = day_ahead_forecasts(predictions_frame(items))
    assert list(out["model_version"]) == ["1", "2"]
    assert list(out["p50"]) == [51_000, 52_000]
    # the loop's D-1 18:00 re-issue is ≥ 12 h before and later, yet not the day-ahead
    evening = _pred("lgbm", "1", "2020-12-20T17:00:00Z", target, 58_000, "2020-12-20T17:00:01Z")
    evening["request_id"] = "issue-2020-12-21-intraday-D-1-1800"
    out = day_ahead_forecasts(predictions_frame([*items, evening]))
    assert list(out["p50"]) == [51_000, 52_000]
    assert day_ahead_forecasts(predictions_frame([])).empty


def test_same_hour_last_week_shifts_by_seven_days() -> None:
    idx = pd.date_range("2020-12-01", periods=24 * 14, freq="h", tz="UTC")
    load = pd.Series(np.arange(len(idx), dtype=float), index=idx)
    base = same_hour_last_week(load)
    t = pd.Timestamp("2020-12-10T05:00Z")
    assert base[t] == load[t - pd.Timedelta(days=7)]


def _comparison() -> pd.DataFrame:
    idx = pd.date_range("2020-12-07", "2020-12-21T23:00", freq="h", tz="UTC")
    actual = 50_000 + 5_000 * np.sin(np.arange(len(idx)) / 24 * 2 * np.pi)
    acts = actuals_frame(
        {"timestamp": t.isoformat(), "consumption_mw": a, "rte_forecast_d1_mw": a * 1.01}
        for t, a in zip(idx, actual, strict=True)
    )
    targets = idx[idx >= pd.Timestamp("2020-12-14", tz="UTC")]
    preds = predictions_frame(
        _pred("m", "3", (t - pd.Timedelta(hours=24)).isoformat(), t.isoformat(), 0, t.isoformat())
        for t in targets
    )
    preds["p50"] = acts.loc[targets, "consumption_mw"].to_numpy() * 1.02
    return comparison_frame(day_ahead_forecasts(preds), acts)


def test_comparison_and_overall_rank_the_forecasters() -> None:
    comp = _comparison()
    assert set(comp["model"]) == {"m v3"}
    assert comp["same_hour_last_week"].notna().all()
    errors = long_errors(comp)
    assert set(errors["forecaster"]) == {"m v3", "RTE D-1", "same hour last week"}
    table = overall(errors).set_index("forecaster")
    assert table.loc["m v3", "mape"] == pytest.approx(0.02)
    assert table.loc["RTE D-1", "mape"] == pytest.approx(0.01)
    assert table.loc["m v3", "bias"] > 0
    # the sine has a 24 h period: last week's same hour is exact
    assert table.loc["same hour last week", "mape"] == pytest.approx(0.0, abs=1e-9)
    assert table.index[0] == "same hour last week"


def test_daily_hourly_and_day_type_groupings() -> None:
    errors = long_errors(_comparison())
    daily = rolling_daily(daily_metrics(errors))
    ours = daily[daily["forecaster"] == "m v3"]
    assert len(ours) == 9  # Paris days touched by 2020-12-14T00Z..2020-12-21T23Z
    assert ours["mape"].iloc[1:-1].to_numpy() == pytest.approx(0.02)
    assert ours["mape_rolling"].notna().all()
    by_hour = error_by_hour(errors)
    assert sorted(by_hour[by_hour["forecaster"] == "m v3"]["hour"]) == list(range(24))
    by_type = error_by_day_type(errors)
    assert set(by_type["day_type"]) == {"weekday", "saturday", "sunday"}


def test_day_type_uses_paris_time() -> None:
    # Saturday 23:30 UTC is already Sunday in Paris
    times = pd.Series(pd.to_datetime(["2020-12-19T23:30:00Z", "2020-12-21T10:00:00Z"], utc=True))
    assert list(day_type(times)) == ["sunday", "weekday"]
