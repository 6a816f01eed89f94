"""uvicorn's access log of the real API masks credentials in query strings."""

from __future__ import annotations

import logging
import time
import uuid

import httpx

from edip_api.access_log import RedactQueryFilter
from edip_testkit.platform import RunningApi


def test_the_access_log_masks_credentials_in_query_strings(
    client: httpx.Client, api: RunningApi
) -> None:
    secret = f"Tok3n-{uuid.uuid4().hex}"
    marker = uuid.uuid4().hex
    r = client.get("/health", params={"api_key": secret, "access_token": secret, "seen": marker})
    assert r.status_code == 200
    deadline = time.monotonic() + 10
    while marker not in api.log_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    line = next(x for x in api.log_text().splitlines() if marker in x)
    assert secret not in api.log_text()
    assert "api_key=***" in line
    assert "access_token=***" in line
    assert f"seen={marker}" in line


def test_the_filter_keeps_records_without_a_query() -> None:
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, "", 0, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:1", "GET", "/v1/model", "1.1", 200), None,
    )  # fmt: skip
    assert RedactQueryFilter().filter(record)
    assert record.getMessage() == '127.0.0.1:1 - "GET /v1/model HTTP/1.1" 200'
