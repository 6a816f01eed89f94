"""An API serving its fallback model: the fallback alert fires and every page still renders."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from edip_dashboard.alerts import evaluate_alerts
from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings, reset_settings_cache

from ..apptest import APP, TIMEOUT
from ..platform import Platform, fallback_api


def test_fallback_model_alert_and_pages(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fallback_api(platform) as api:
        with ApiClient(api.url) as c:
            fired = evaluate_alerts(c, DashboardSettings(api_url=api.url))  # type: ignore[arg-type]
        assert "fallback_model" in {a.rule for a in fired}
        monkeypatch.setenv("EDIP_API_URL", api.url)
        reset_settings_cache()
        at = AppTest.from_file(str(APP), default_timeout=TIMEOUT).run()
        assert not at.exception, [e.value for e in at.exception]
        for page in ("performance", "drift", "alerts"):
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception, (page, [e.value for e in at.exception])
        assert any("Fallback model in use" in e.value for e in at.error)
