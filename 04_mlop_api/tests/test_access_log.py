"""uvicorn's access log of the real API masks credentials in query strings."""

from __future__ import annotations

import io
import logging
import time
import uuid

import httpx
from uvicorn.config import LOGGING_CONFIG
from uvicorn.logging import AccessFormatter

from edip_api.access_log import ACCESS_LOGGER, RedactQueryFilter, install
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


def _access_logger(fmt: str) -> tuple[logging.Logger, io.StringIO]:
    """A logger shaped like uvicorn's access logger (its formatter), writing to a buffer."""
    logger = logging.getLogger(f"{ACCESS_LOGGER}.test-{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(AccessFormatter(fmt, use_colors=False))
    logger.addHandler(handler)
    return logger, sink


def _lines(logger: logging.Logger, sink: io.StringIO) -> list[str]:
    for status, path in (
        (200, "/v1/forecast?api_key=k1"),
        (404, "/nope"),
        (200, "/v1/forecast?api_key=k1"),
    ):
        logger.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5", "GET", path, "1.1", status)
    return sink.getvalue().splitlines()


def test_remembered_access_lines_are_the_lines_uvicorn_writes() -> None:
    fmt = LOGGING_CONFIG["formatters"]["access"]["fmt"]
    plain, plain_sink = _access_logger(fmt)
    plain.addFilter(RedactQueryFilter())
    expected = _lines(plain, plain_sink)
    logger, sink = _access_logger(fmt)
    install(logger)
    install(logger)  # idempotent: one filter, one memo
    assert _lines(logger, sink) == expected
    assert expected[0] == 'INFO:     127.0.0.1:5 - "GET /v1/forecast?api_key=*** HTTP/1.1" 200 OK'
    assert len(logger.filters) == 1


def test_a_format_with_the_time_is_not_remembered() -> None:
    logger, _sink = _access_logger('%(asctime)s %(client_addr)s - "%(request_line)s"')
    formatter = logger.handlers[0].formatter
    assert formatter is not None
    before = formatter.formatMessage
    install(logger)
    assert formatter.formatMessage == before
