"""Dashboard settings: this machine only by default, the webhook URL a secret never echoed."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edip_dashboard.config import DashboardSettings

HOOK = "https://hooks.example/services/T000/B000/S3cr3tT0ken"


def test_the_dashboard_listens_on_this_machine_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """It listened on 0.0.0.0: forecasts, alerts and the loop's state, with no login, for the
    whole network."""
    monkeypatch.delenv("EDIP_DASHBOARD_ADDRESS", raising=False)
    assert DashboardSettings().dashboard_address == "127.0.0.1"


def test_the_webhook_url_is_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDIP_ALERT_WEBHOOK_URL", HOOK)
    settings = DashboardSettings()
    assert settings.webhook_url == HOOK
    assert "S3cr3tT0ken" not in repr(settings) + str(settings.model_dump())
    monkeypatch.setenv("EDIP_ALERT_WEBHOOK_URL", "ftp://S3cr3tT0ken@hooks.example/x")
    with pytest.raises(ValidationError) as refused:
        DashboardSettings()
    assert "EDIP_ALERT_WEBHOOK_URL" in str(refused.value)
    assert "S3cr3tT0ken" not in str(refused.value)
    monkeypatch.setenv("EDIP_ALERT_WEBHOOK_URL", "")
    assert DashboardSettings().webhook_url is None
