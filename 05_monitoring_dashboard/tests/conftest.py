"""Fixtures of the dashboard tests: the real platform, settings pointed at it, a webhook server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings, reset_settings_cache

from .platform import Platform, platform  # noqa: F401  (session fixture)


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No stray EDIP_* dashboard settings from the environment or a .env leak into a test."""
    for var in ("EDIP_API_URL", "EDIP_ALERT_WEBHOOK_URL", "EDIP_REPLAY_NOW", "EDIP_DRIFT_COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def api_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:  # noqa: F811
    """``EDIP_API_URL`` pointing at the platform's API (for the app and the flow)."""
    monkeypatch.setenv("EDIP_API_URL", platform.api_url)
    reset_settings_cache()
    return platform


@pytest.fixture
def settings(platform: Platform) -> DashboardSettings:  # noqa: F811
    return DashboardSettings(api_url=platform.api_url)  # type: ignore[arg-type]


@pytest.fixture
def client(platform: Platform) -> Iterator[ApiClient]:  # noqa: F811
    with ApiClient(platform.api_url, timeout_s=60) as c:
        yield c
