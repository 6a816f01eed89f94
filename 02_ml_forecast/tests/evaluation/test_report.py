"""The report: both files, every model, the weather-source label, plotly.js inline once."""

from __future__ import annotations

from pathlib import Path

import pytest

from edip_ml.evaluation.backtest import BacktestResult
from edip_ml.evaluation.report import WEATHER_LABELS, write_report

from ..conftest import BT_BASELINES, BT_MODELS


def test_report_files(sample_backtest: BacktestResult, tmp_path: Path) -> None:
    html_path, md_path = write_report(
        sample_backtest.forecasts, tmp_path, "Sample backtest", ["tiny models, harness test"]
    )
    html = html_path.read_text()
    md = md_path.read_text()
    for model in BT_MODELS + BT_BASELINES:
        assert model in html
        assert f"| {model} |" in md
    assert WEATHER_LABELS["none"] in html
    assert WEATHER_LABELS["none"] in md
    assert "tiny models, harness test" in html
    assert "tiny models, harness test" in md
    # self-contained: the library inline exactly once, no CDN, five figures
    assert html.count("Plotly.newPlot") == 5
    assert "<script src=" not in html
    assert html.count("/*! For license information please see plotly.min.js.LICENSE.txt */") <= 1
    for title in ("by horizon", "by hour of day", "by month", "holidays vs ordinary", "Last 14"):
        assert title.lower() in html.lower()
    assert "skill vs same_hour_last_week" in md
    assert "| holiday | ordinary |" in md  # 1 and 8 May are in the period


def test_observed_as_forecast_is_stated(sample_backtest: BacktestResult, tmp_path: Path) -> None:
    html_path, md_path = write_report(
        sample_backtest.forecasts, tmp_path, "t", None, weather_source="observed-as-forecast"
    )
    for text in (html_path.read_text(), md_path.read_text()):
        assert "observed-as-forecast" in text
        assert "optimistic" in text


def test_empty_forecasts_are_refused(sample_backtest: BacktestResult, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no forecasts"):
        write_report(sample_backtest.forecasts.iloc[:0], tmp_path)
