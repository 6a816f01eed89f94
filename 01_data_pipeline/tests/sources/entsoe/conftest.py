"""ENTSO-E test helpers: settings on the local recorded-response server, the hand-written bodies."""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings, get_settings, reset_settings_cache

from ...conftest import FIXTURES

FIX = FIXTURES / "entsoe"
TOKEN = "0a1b2c3d-secret-token-4e5f"
API = "/api"


@pytest.fixture
def entsoe_settings(
    settings: Settings, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("EDIP_ENTSOE_BASE_URL", httpserver.url_for(API))
    monkeypatch.setenv("EDIP_ENTSOE_TOKEN", TOKEN)
    reset_settings_cache()
    return get_settings()


def body(name: str) -> bytes:
    return (FIX / name).read_bytes()


def query(process: str, start: str, end: str) -> dict[str, str]:
    """The exact query entsoe-py sends for A65 (A16 adds ``out_Domain``)."""
    q = {
        "documentType": "A65",
        "processType": process,
        "outBiddingZone_Domain": "10YFR-RTE------C",
        "securityToken": TOKEN,
        "periodStart": start,
        "periodEnd": end,
    }
    if process == "A16":
        q["out_Domain"] = "10YFR-RTE------C"
    return q
