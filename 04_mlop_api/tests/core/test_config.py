"""Settings: the key policy outside development, refusals that name the setting and never echo a
value, a clear refusal by ``edip serve``, the default body limit and shutdown budget.
"""

from __future__ import annotations

import json
import os
import secrets
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
    strong = secrets.token_urlsafe(32)
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


@pytest.mark.parametrize(
    "key",
    [
        "change-me",
        "a",
        " ",
        "s3cret-key",
        "REPLACE_ME",
        "edip-test-key",
        " Zq8vN3kTLw0pXc5RbYh7JdUe2MfGsA9o",  # strong, but padded (fixed: xdist workers collect alike)
        "a" * 32,  # long enough, one character
        "change-me" * 4,  # a documented example, repeated past 32
        "abcdefghijklmnopq" * 2,  # 17 distinct characters, but a pattern repeated
        "0123456789abcdef0123456789abcdef0",  # ... and with a partial last repetition
    ],
)
def test_weak_or_example_keys_refused_in_production(key: str) -> None:
    """Short, example, low-entropy or repeated-pattern keys never run production, and the
    refusal says how to make a good key without quoting the bad one."""
    with pytest.raises(ValidationError, match="EDIP_API_KEY") as refused:
        Settings(environment="production", api_key=key)
    assert "secrets.token_urlsafe(32)" in str(refused.value)
    if len(key.strip()) >= 8:
        assert key.strip() not in str(refused.value)
    Settings(environment="development", api_key=key)  # development takes anything


def test_few_distinct_characters_refused() -> None:
    with pytest.raises(ValidationError, match="distinct"):
        Settings(environment="production", api_key="abcdefghijklmno" * 2 + "ab")  # 15 distinct
    for _ in range(20):  # a generated key always passes
        Settings(environment="production", api_key=secrets.token_urlsafe(32))


def test_a_refused_setting_never_echoes_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """pydantic's input_value printed the key, and the whole input (the database password with
    it) when the model-level key check failed."""
    monkeypatch.setenv("EDIP_ENVIRONMENT", "production")
    monkeypatch.setenv("EDIP_API_KEY", "MySecretPrefix-short")
    monkeypatch.setenv("EDIP_DATABASE_URL", "postgresql+psycopg2://edip:Pa55-w0rd-xyz@db/edip")
    with pytest.raises(ValidationError) as refused:
        Settings()
    text = str(refused.value) + repr(refused.value)
    assert "EDIP_API_KEY" in text
    assert "MySecretPrefix" not in text
    assert "Pa55-w0rd" not in text
    monkeypatch.setenv("EDIP_API_KEY", secrets.token_urlsafe(32))
    monkeypatch.setenv("EDIP_MODEL_POLL_S", "-5")  # a field error: named, the others not shown
    with pytest.raises(ValidationError) as field_error:
        Settings()
    assert "model_poll_s" in str(field_error.value)
    assert "Pa55-w0rd" not in str(field_error.value)
    monkeypatch.delenv("EDIP_MODEL_POLL_S")
    s = Settings()
    assert "Pa55-w0rd" not in repr(s) + str(s.model_dump())
    assert s.log_database_url.endswith("Pa55-w0rd-xyz@db/edip")


@pytest.mark.parametrize(
    "secrets_env",
    [
        {},  # no key at all: the default
        {
            "EDIP_API_KEY": "MySecretPrefix-short",
            "EDIP_DATABASE_URL": "postgresql+psycopg2://edip:Pa55-w0rd-xyz@db/edip",
        },
    ],
)
def test_serve_names_the_refused_setting_without_its_value(secrets_env: dict[str, str]) -> None:
    env = {**os.environ, "EDIP_ENVIRONMENT": "production"}
    env.pop("EDIP_API_KEY", None)
    out = subprocess.run(
        [sys.executable, "-m", "edip_api.cli", "serve", "--port", "1"],
        env={**env, **secrets_env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "EDIP_API_KEY" in out.stderr
    assert "token_urlsafe" in out.stderr
    assert "Traceback" not in out.stderr
    assert "MySecretPrefix" not in out.stdout + out.stderr
    assert "Pa55-w0rd" not in out.stdout + out.stderr


@pytest.mark.parametrize(
    ("name", "value"), [("EDIP_RATE_LIMIT_ANONYMOUS", "lots"), ("EDIP_ANONYMOUS_LOGGING", "some")]
)
def test_security_knobs_are_checked(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=name.removeprefix("EDIP_").lower()):
        Settings()


def test_security_defaults() -> None:
    s = Settings()
    assert (s.anonymous_logging, s.rate_limit_enabled) == ("none", True)
    assert (s.rate_limit_anonymous, s.rate_limit_anonymous_compute) == ("600/minute", "60/minute")
    assert s.anonymous_max_body_bytes < s.max_body_bytes


def test_misnamed_environment_variable_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """EDIP_ENV=production used to start silently in development mode with the dev key."""
    monkeypatch.delenv("EDIP_ENVIRONMENT", raising=False)
    monkeypatch.delenv("EDIP_API_KEY", raising=False)
    monkeypatch.setenv("EDIP_ENV", "production")
    with pytest.raises(ValidationError, match="EDIP_ENVIRONMENT"):
        Settings()
    monkeypatch.setenv("EDIP_ENVIRONMENT", "production")
    monkeypatch.setenv("EDIP_API_KEY", secrets.token_urlsafe(32))
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
