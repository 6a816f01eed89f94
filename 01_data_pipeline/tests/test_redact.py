"""Credentials out of URLs: database passwords, secret query values, webhook paths."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from edip_pipeline.config import Settings
from edip_pipeline.redact import redact_query, redact_url


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("postgresql+psycopg2://edip:S3cr3t@db:5432/edip", "postgresql+psycopg2://edip:***@db:5432/edip"),
        ("sqlite:////var/lib/edip/log.db", "sqlite:////var/lib/edip/log.db"),
        ("redis://:S3cr3t@[::1]:6379/0", "redis://:***@[::1]:6379/0"),
        ("https://h.example/a?api_key=S3cr3t&x=1#S3cr3t", "https://h.example/a?api_key=***&x=1"),
        ("http://[::1:80/x", "<unparsable URL>"),
    ],
)  # fmt: skip
def test_redact_url(url: str, safe: str) -> None:
    assert redact_url(url) == safe


def test_a_webhook_keeps_its_host_only() -> None:
    hook = "https://hooks.slack.com/services/T000/B000/S3cr3tT0ken?x=S3cr3t"
    assert redact_url(hook, keep_path=False) == "https://hooks.slack.com/***"
    assert redact_url("https://hooks.example", keep_path=False) == "https://hooks.example"


def test_redact_query_masks_secret_names_only() -> None:
    path = "/v1/forecast?origin=2020-12-20&API_KEY=k1&access_token=t2&password=p3&sig=s4&horizon=24"
    assert redact_query(path) == (
        "/v1/forecast?origin=2020-12-20&API_KEY=***&access_token=***&password=***&sig=***&horizon=24"
    )
    assert redact_query("/v1/model") == "/v1/model"


def test_a_refused_setting_does_not_echo_the_rte_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDIP_RTE_CLIENT_SECRET", "Rte-S3cr3t-value")
    monkeypatch.setenv("EDIP_HTTP_TIMEOUT_S", "not-a-number")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "http_timeout_s" in str(refused.value)
    assert "not-a-number" not in str(refused.value)
    monkeypatch.delenv("EDIP_HTTP_TIMEOUT_S")
    assert "Rte-S3cr3t" not in repr(Settings())
