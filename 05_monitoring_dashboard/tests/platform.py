"""The real platform the dashboard tests run against: sample store, MLflow champion, API, replay.

One per pytest process (module-level singleton, like ``02_ml_forecast/tests/mlflow_server.py``):
the sample store, a real MLflow server with a LightGBM champion trained to 2020-11-30, a real
``edip serve`` whose clock is 2020-12-25 00:00 Paris, replayed days (2020-12-13..24),
the day-ahead forecasts of 2020-12-25 and 2020-12-18 issued with their explanations, and 2020-12-24
issued day-ahead and re-issued intraday.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPLAY_START, REPLAY_END = "2020-12-13", "2020-12-24"
API_NOW = "2020-12-25T00:00:00+01:00"
#: the dashboard's derived now: the hour after the last replayed actual (2020-12-24 23:00 Paris)
EXPECTED_NOW = "2020-12-24T23:00:00+00:00"
#: days issued and explained as the loop would (the Paris day of the API's now, a week before)
EXPLAINED_DAYS = ("2020-12-25", "2020-12-18")
#: a measured day issued day-ahead and re-issued intraday (edip_testkit.issued.SLOTS)
ISSUED_DAY = "2020-12-24"


@dataclass
class Platform:
    api_url: str
    api: Any  # edip_testkit.platform.RunningApi
    store: Any
    env: dict[str, str]
    champion_version: str
    replay: Any  # edip_api.replay.ReplayReport
    root: Path


_STACK: contextlib.ExitStack | None = None
_PLATFORM: Platform | None = None


def testing_module() -> Any:
    """``edip_testkit.platform``, or a skip saying why the API is not usable."""
    try:
        from edip_api.replay import run_replay  # noqa: F401
        from edip_testkit import platform as testing
    except ImportError as exc:  # the API package is not installed/finished
        pytest.skip(f"edip_testkit.platform unavailable: {exc}")
    return testing


@pytest.fixture(scope="session")
def platform(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Platform:
    """The platform, started once per session and stopped at its end."""
    global _STACK, _PLATFORM
    if _PLATFORM is not None and _PLATFORM.api.process.poll() is None:
        return _PLATFORM
    testing = testing_module()
    from edip_api.replay import run_replay

    root = tmp_path_factory.mktemp("platform")
    stack = contextlib.ExitStack()
    request.config.add_cleanup(stack.close)
    store = stack.enter_context(testing.sample_store(root / "data"))
    registry = stack.enter_context(testing.mlflow_with_champion(root / "mlflow", store))
    env = testing.platform_env(store, registry, root / "edip_log.db", replay_now=API_NOW)
    api = stack.enter_context(testing.running_api(env))
    with api.client() as client:
        report = run_replay(client, store, REPLAY_START, REPLAY_END)
        # the log writer batches; wait until the API says its queue is empty
        testing.wait_ready(api.url)
        _drain(client)
    from edip_testkit.explained import issue_explained

    for day in EXPLAINED_DAYS:  # the Why page's default day and the same day a week before
        issue_explained(api, registry, store, day)
    from edip_testkit.issued import issue_day

    # a measured day's day-ahead and re-issues (the Forecast updates page, the peak's score), and
    # tomorrow's evening re-issue on top of its explained day-ahead (the Now page's peak)
    issue_day(api, registry, ISSUED_DAY)
    issue_day(api, registry, EXPLAINED_DAYS[0], ("D-1 18:00",), forecast_day_ahead=False)
    with api.client() as client:
        _drain(client)
    _warm(api.url)
    _STACK = stack
    _PLATFORM = Platform(api.url, api, store, env, registry.champion_version, report, root)
    return _PLATFORM


def _drain(client: Any, attempts: int = 200) -> None:
    import time

    for _ in range(attempts):
        body = client.get("/ready").json()
        if body.get("log_store", {}).get("queue_depth", 0) == 0:
            return
        time.sleep(0.1)
    raise RuntimeError("the API's log queue did not drain")


def _warm(api_url: str) -> None:
    """One alert evaluation with a long timeout: the API's first data status and partition reads
    are cold, and whichever test came first (pages/test_alerts.py in path order) could see a
    15 s client timeout as an ``api_errors`` alert on a loaded machine."""
    from edip_dashboard.alerts import evaluate_alerts
    from edip_dashboard.client import ApiClient
    from edip_dashboard.config import DashboardSettings

    with ApiClient(api_url, timeout_s=300) as client:
        evaluate_alerts(client, DashboardSettings(api_url=api_url))  # type: ignore[arg-type]


@contextlib.contextmanager
def fallback_api(platform: Platform) -> Iterator[Any]:
    """A second API on the same store with no registry: it serves its fallback model."""
    testing = testing_module()
    env = testing.platform_env(
        platform.store, None, platform.root / "fallback_log.db", replay_now=API_NOW
    )
    with testing.running_api(env, require_ready=False) as api:
        yield api
