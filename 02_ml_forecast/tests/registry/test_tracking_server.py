"""Where clients find the MLflow server (the server itself runs in the other tracking tests)."""

from __future__ import annotations

import pytest

from edip_ml.registry.tracking_server import tracking_uri


def test_tracking_uri_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri() == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://example.invalid:1234")
    assert tracking_uri() == "http://example.invalid:1234"
