"""The EDA report: one offline HTML page with the expected figures, and a markdown summary."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.eda import TITLES, build_eda_report, holiday_effect, thermosensitivity
from edip_pipeline.features.holidays import holiday_table
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store


def _write_temperature(store: Store) -> None:
    g = pd.date_range("2019-01-01", "2021-01-01", freq="1h", tz="UTC", inclusive="left")
    doy = np.asarray(g.day_of_year, dtype=float)
    temp = 12 - 8 * np.cos(2 * np.pi * (doy - 20) / 365)
    store.write(
        "weather_observed",
        canonical(g, temp, variable="temperature_2m_c", area="FR", vintage=2, source="synthetic"),
    )


def test_report_with_temperature(sample_store: Store, tmp_path: Path) -> None:
    _write_temperature(sample_store)
    path = build_eda_report(sample_store, tmp_path / "reports")
    assert path == tmp_path / "reports" / "eda.html"
    html = path.read_text()
    for title in TITLES.values():
        assert title in html, title
    # plotly.js embedded once, inline: the page works offline
    assert len(re.findall(r"plotly\.js v\d", html)) == 1
    assert 'src="https://cdn.plot.ly' not in html
    assert html.count("Plotly.newPlot") == 7
    assert "GW/°C" in html
    assert "heating threshold of 15 °C" in html
    md = (tmp_path / "reports" / "eda.md").read_text()
    assert "Thermosensitivity" in md
    assert "Holiday effect" in md


def test_report_without_weather_says_so(sample_store: Store, tmp_path: Path) -> None:
    path = build_eda_report(sample_store, tmp_path, start="2020-01-01", end="2020-03-31")
    html = path.read_text()
    assert "No temperature in the store" in html
    assert html.count("Plotly.newPlot") == 6
    assert "2020-01-01 to 2020-03-31" in html


def test_empty_store_is_refused(store: Store, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no national load"):
        build_eda_report(store, tmp_path)


def test_thermosensitivity_recovers_a_known_slope() -> None:
    days = pd.date_range("2020-01-01", periods=200, freq="D")
    temp = pd.Series(np.linspace(-5, 30, 200), index=days)
    load = pd.Series(np.where(temp < 15, 60 - 2.5 * temp, 22.5), index=days)
    slope, _, n = thermosensitivity(load, temp, 15.0)
    assert slope == pytest.approx(-2.5)
    assert n == int((temp < 15).sum())


def test_holiday_effect_compares_with_the_same_weekday() -> None:
    days = pd.date_range("2020-06-01", "2020-08-31", freq="D")
    daily = pd.Series(50.0, index=days)
    daily[pd.Timestamp("2020-07-14")] = 40.0
    effect = holiday_effect(daily, holiday_table(days.min(), days.max()))
    row = effect.set_index("date").loc[pd.Timestamp("2020-07-14")]
    assert row["effect_pct"] == pytest.approx(-20.0)
