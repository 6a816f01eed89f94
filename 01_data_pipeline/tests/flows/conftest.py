"""A temporary Prefect server for the flow tests, and a fake ODRÉ exports endpoint."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from prefect.testing.utilities import prefect_test_harness
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

API = "/api/explore/v2.1"
PARIS = "Europe/Paris"


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[None]:
    """The real Prefect engine and API, on a throw-away SQLite database (started once)."""
    with prefect_test_harness(server_startup_timeout=60):
        yield


def national_record(ts: pd.Timestamp, value: float) -> dict[str, Any]:
    """An ``eco2mix-national-cons-def`` export row in the documented field order (made up)."""
    local = ts.tz_convert(PARIS)
    return {
        "perimetre": "France",
        "nature": "Données définitives",
        "date": local.strftime("%Y-%m-%d"),
        "heure": local.strftime("%H:%M"),
        "date_heure": local.isoformat(),
        "consommation": int(value),
        "prevision_j1": int(value) + 150,
        "prevision_j": int(value) + 60,
    }


_WHERE = re.compile(r"^date_heure >= '([^']+)' and date_heure < '([^']+)'$")


class FakeExports:
    """``/exports/json`` of one dataset: the records inside the requested ``where`` window.

    ``broken`` holds window starts (UTC ISO) answered with ``failure`` instead.
    """

    def __init__(self, server: HTTPServer, dataset: str, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.broken: set[str] = set()
        self.failure = Response("upstream exploded", status=500)
        self.path = f"{API}/catalog/datasets/{dataset}/exports/json"
        server.expect_request(self.path).respond_with_handler(self)

    @staticmethod
    def window(request: Request) -> tuple[pd.Timestamp, pd.Timestamp]:
        m = _WHERE.match(request.args.get("where", ""))
        assert m, request.args
        return pd.Timestamp(m.group(1)), pd.Timestamp(m.group(2))

    def __call__(self, request: Request) -> Response:
        lo, hi = self.window(request)
        if lo.isoformat() in self.broken:
            return self.failure
        rows = [r for r in self.records if lo <= pd.Timestamp(r["date_heure"]) < hi]
        return Response(json.dumps(rows), content_type="application/json; charset=utf-8")
