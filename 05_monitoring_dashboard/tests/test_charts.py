"""The Plotly figures on small frames: Paris wall-clock axes, one trace per forecaster, no Streamlit."""

from __future__ import annotations

from datetime import date

import pandas as pd

from edip_dashboard.charts import (
    by_day_type_figure,
    coverage_figure,
    daily_figure,
    now_figure,
    paris_naive,
    versions_figure,
)
from edip_dashboard.frames import actuals_frame, forecast_frame


def test_paris_naive_is_local_wall_clock_time() -> None:
    x = paris_naive(pd.Series(pd.to_datetime(["2020-07-01T10:00Z", "2020-12-01T10:00Z"], utc=True)))
    assert x.tz is None
    assert list(x.hour) == [12, 11]  # CEST, CET


def test_now_figure_draws_what_it_has() -> None:
    acts = actuals_frame(
        [
            {
                "timestamp": "2020-12-24T22:00:00Z",
                "consumption_mw": 60_000,
                "rte_forecast_d1_mw": None,
            }
        ]
    )
    served = pd.DataFrame(columns=["target_time", "p10", "p50", "p90"])
    upcoming = forecast_frame(
        {"points": [{"target_time": "2020-12-25T00:00:00Z", "p10": 1.0, "p50": 2.0, "p90": 3.0}]}
    )
    fig = now_figure(acts, served, upcoming, pd.Timestamp("2020-12-24T23:00Z"))
    names = [t.name for t in fig.data]
    assert "actual" in names
    assert "RTE D-1" not in names  # no RTE value: no trace
    assert "next forecast (P50)" in names
    assert "served forecast (P50)" not in names
    assert pd.Timestamp(fig.data[names.index("actual")].x[0]) == pd.Timestamp(
        "2020-12-24 23:00"
    )  # Paris


def test_daily_and_day_type_figures_have_one_trace_per_forecaster() -> None:
    daily = pd.DataFrame(
        {"forecaster": ["a", "a", "b"], "date": ["2020-12-20", "2020-12-21", "2020-12-20"],
         "mape": [0.02, 0.03, 0.04], "mape_rolling": [0.02, 0.025, 0.04]}
    )  # fmt: skip
    fig = daily_figure(daily, "mape")
    assert [t.name for t in fig.data] == ["a", "a (7-day mean)", "b", "b (7-day mean)"]
    assert list(fig.data[0].y) == [2.0, 3.0]  # percent
    by_type = pd.DataFrame(
        {"forecaster": ["a", "b"], "day_type": ["weekday"] * 2, "mape": [0.1, 0.2]}
    )
    assert len(by_day_type_figure(by_type).data) == 2


def test_versions_figure_highlights_the_alias_the_api_serves() -> None:
    """The highlighted version is the one with the alias ``/v1/model`` reports, whatever it is
    called: the dashboard does not spell the registry's aliases."""
    versions = pd.DataFrame(
        {"version": ["1", "2", "3"], "aliases": [[], ["live"], ["next"]],
         "created_at": pd.to_datetime(["2020-12-01", "2020-12-08", "2020-12-15"], utc=True),
         "backtest_mape": [0.03, 0.02, 0.025], "family": ["lightgbm"] * 3}
    )  # fmt: skip
    fig = versions_figure(versions, "live")
    served = [t for t in fig.data if t.name == "live (served)"]
    assert len(served) == 1
    assert list(served[0].text) == ["v2"]
    assert {t.name for t in versions_figure(versions, "champion").data} == {"other versions"}


def test_coverage_figure_lays_days_out_by_week() -> None:
    coverage = pd.DataFrame(
        {
            "date": [date(2020, 12, 21), date(2020, 12, 27), date(2020, 12, 28)],
            "share": [1.0, 0.5, 0.0],
        }
    )
    (heat,) = coverage_figure(coverage).data
    assert list(heat.x) == ["2020-12-21", "2020-12-28"]  # weeks starting Monday
    assert heat.z[0][0] == 100.0  # Monday 21st
    assert heat.z[6][0] == 50.0  # Sunday 27th
