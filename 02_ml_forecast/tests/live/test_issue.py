"""``issue-forecast``'s alert post: a failing webhook is logged without its token."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_ml.live.config import live_settings
from edip_ml.live.issue import post_alert


def test_a_failed_alert_post_never_logs_the_hooks_token(
    httpserver: HTTPServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "S3cr3tT0ken"
    httpserver.expect_request(f"/services/T0/B0/{token}").respond_with_data("gone", status=404)
    monkeypatch.setenv("EDIP_ALERT_WEBHOOK_URL", httpserver.url_for(f"/services/T0/B0/{token}"))
    settings = live_settings()
    assert token not in repr(settings)
    with caplog.at_level(logging.ERROR, logger="edip_ml.live.issue"):
        ok = post_alert(
            settings, "no forecast", "gate failed", pd.Timestamp("2020-12-04", tz="UTC")
        )
    assert ok is False
    assert "404" in caplog.text
    assert token not in caplog.text
    assert len(httpserver.log) == 1  # it was posted, to the real URL
