"""Settings: the default key outside development, a clear refusal by ``edip serve``, the default
body limit and shutdown budget.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from edip_api.core.config import Settings
from edip_api.schemas import MAX_PREDICT_ROWS
from edip_pipeline.config import load_params
from edip_pipeline.features import feature_names
from edip_testkit.platform import repo_root


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_default_key_refused_outside_development(environment: str) -> None:
    with pytest.raises(ValidationError, match="default"):
        Settings(environment=environment)
    with pytest.raises(ValidationError, match="default"):
        Settings(environment=environment, api_key="")
    strong = "k" * 31 + "7"
    ok = Settings(environment=environment, api_key=strong)
    assert ok.api_key.get_secret_value() == strong
    assert Settings().environment == "development"


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example:1234")
    monkeypatch.setenv("EDIP_CORS_ORIGINS", '["http://localhost:8501"]')
    monkeypatch.setenv("EDIP_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EDIP_REPLAY_NOW", "2020-12-20T12:00:00+01:00")
    s = Settings()
    assert s.mlflow_tracking_uri == "http://example:1234"
    assert s.cors_origins == ["http://localhost:8501"]
    assert s.log_database_url == f"sqlite:///{tmp_path / 'edip_log.db'}"
    assert s.spill_dir == tmp_path / "log_spill"
    monkeypatch.setenv("EDIP_REPLAY_NOW", "2020-12-20T12:00:00")
    with pytest.raises(ValidationError, match="offset"):
        Settings()


def test_serve_refuses_default_key_in_production() -> None:
    env = {**os.environ, "EDIP_ENVIRONMENT": "production"}
    env.pop("EDIP_API_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", "edip_api.cli", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "EDIP_API_KEY" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "key", ["change-me", "a", " ", "s3cret-key", "REPLACE_ME", "edip-test-key", " " + "x" * 40]
)
def test_weak_or_example_keys_refused_in_production(key: str) -> None:
    """Keys shorter than 32 characters or equal to a documented example never run production."""
    with pytest.raises(ValidationError, match="EDIP_API_KEY"):
        Settings(environment="production", api_key=key)
    Settings(environment="development", api_key=key)  # development takes anything


def test_misnamed_environment_variable_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """EDIP_ENV=production used to start silently in development mode with the dev key."""
    monkeypatch.delenv("EDIP_ENVIRONMENT", raising=False)
    monkeypatch.delenv("EDIP_API_KEY", raising=False)
    monkeypatch.setenv("EDIP_ENV", "production")
    with pytest.raises(ValidationError, match="EDIP_ENVIRONMENT"):
        Settings()
    monkeypatch.setenv("EDIP_ENVIRONMENT", "production")
    monkeypatch.setenv("EDIP_API_KEY", "z" * 40)
    assert Settings().environment == "production"  # both agree: fine


def test_ten_thousand_predict_rows_fit_the_default_limit() -> None:
    names = feature_names(load_params(repo_root() / "params.yaml").features)
    row = dict.fromkeys(names, -12345.678901234567)  # the longest float text json writes
    body = json.dumps({"rows": [row] * MAX_PREDICT_ROWS}).encode()
    assert MAX_PREDICT_ROWS == 10_000
    assert len(body) < Settings().max_body_bytes


def test_default_budget_fits_a_30s_grace_period() -> None:
    s = Settings()
    assert s.shutdown_budget_s <= 25
    assert s.graceful_requests_s + s.writer_drain_s + 3 <= s.shutdown_budget_s
