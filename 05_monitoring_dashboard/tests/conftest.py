"""Fixtures of the dashboard tests: the real platform, a client and settings on it, a webhook."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from edip_dashboard.client import ApiClient
from edip_dashboard.config import DashboardSettings, reset_settings_cache

from .platform import Platform, platform  # noqa: F401  (session fixture)

#: test files that start a platform of their own (they need no session platform)
OWN_PLATFORM = ("e2e/test_demo_path.py",)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under xdist: the demo path (a platform of its own) on one worker, every other test on the
    other, in path order: the session platform (MLflow, a trained champion, the API, replayed and
    issued days) is then built once. (``xdist_group`` would say this per test, but pytest-xdist
    3.8 cannot rename pytest 9's node ids, so ``--dist loadgroup`` groups nothing.)"""
    from xdist.scheduler import LoadScopeScheduling

    class PlatformScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return path if path.endswith(OWN_PLATFORM) else "session-platform"

    return PlatformScheduling(config, log)


@pytest.fixture(autouse=True)
def _clean_settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No stray EDIP_* dashboard settings from the environment or a .env leak into a test."""
    for var in ("EDIP_API_URL", "EDIP_ALERT_WEBHOOK_URL", "EDIP_REPLAY_NOW", "EDIP_DRIFT_COLUMNS"):
        monkeypatch.delenv(var, raising=False)
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def settings(platform: Platform) -> DashboardSettings:  # noqa: F811
    return DashboardSettings(api_url=platform.api_url)  # type: ignore[arg-type]


@pytest.fixture
def client(platform: Platform) -> Iterator[ApiClient]:  # noqa: F811
    with ApiClient(platform.api_url, timeout_s=60) as c:
        yield c


@pytest.fixture
def hook(httpserver: HTTPServer) -> str:
    """The URL of a webhook on ``httpserver`` that accepts every POST (``httpserver.log`` has them)."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return httpserver.url_for("/hook")
