"""The Now page with Streamlit's AppTest against the real API after a replay."""

from __future__ import annotations

from datetime import timedelta

import pytest

from edip_dashboard import loaders, ui
from edip_dashboard.client import ApiClient
from edip_dashboard.clock import effective_now
from edip_dashboard.metrics import error_metrics

from ..apptest import charts, metrics, run_page
from ..platform import Platform


def test_now_page(api_env: Platform) -> None:
    at = run_page()
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Now"
    shown = metrics(at)
    # the headline is the API's own 7-day summary …
    with ApiClient(api_env.api_url) as c:
        now = effective_now(c, 48)
        summary = c.metrics_summary("7d", now)
    (model,) = summary["models"]
    assert shown["MAPE, last 7 days"] == ui.fmt_pct(model["mape"])
    assert shown["RTE D-1 MAPE"] == "—"  # the sample has no RTE forecast
    # … and the dashboard's own day-ahead selection agrees with the API's
    with ApiClient(api_env.api_url) as c:
        comp = loaders.comparison(c, now - timedelta(days=7), now)
    mine = error_metrics(comp["p50"], comp["actual"])
    assert mine.n == model["n"]
    assert mine.mape == pytest.approx(model["mape"], rel=1e-6)
    assert charts(at) == 1
    assert any("replayed period" in i.value.lower() for i in at.info)
    # the next 48 h table
    assert len(at.dataframe[0].value) == 48


def test_now_page_24h_horizon(api_env: Platform) -> None:
    at = run_page()
    at.get("button_group")[0].set_value(24).run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 24
