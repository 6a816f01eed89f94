"""The pages' shared plumbing (``ui``): an unreachable API is a clear message on every page."""

from __future__ import annotations

import pytest

from edip_dashboard.config import reset_settings_cache

from .apptest import charts, metrics, run_page


def test_unreachable_api_is_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDIP_API_URL", "http://127.0.0.1:9")
    reset_settings_cache()
    for page in (None, "performance", "data_health", "drift"):
        at = run_page(page)
        assert "unreachable" in at.error[0].value
        assert charts(at) == 0
    at = run_page("alerts")
    assert "unreachable" in at.error[0].value.lower()
    assert metrics(at)["Critical"] == "1"
