"""Fixtures of the page tests: the app pointed at the platform's API."""

from __future__ import annotations

import pytest

from edip_dashboard.config import reset_settings_cache

from ..platform import Platform


@pytest.fixture
def api_env(platform: Platform, monkeypatch: pytest.MonkeyPatch) -> Platform:
    """``EDIP_API_URL`` pointing at the platform's API (read by the app)."""
    monkeypatch.setenv("EDIP_API_URL", platform.api_url)
    reset_settings_cache()
    return platform
