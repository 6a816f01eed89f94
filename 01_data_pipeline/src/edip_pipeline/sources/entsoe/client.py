"""entsoe-py's raw client wired to EDIP's settings: base URL, retries, timeouts, a secret token.

Why a session and not a subclass: entsoe-py reads its endpoint once, at import, from the
``ENTSOE_ENDPOINT_URL`` environment variable (module constant ``entsoe.entsoe.URL``), and calls
``session.get(url=URL, ...)``. The :class:`requests.Session` it is given here sends those calls to
``EDIP_ENTSOE_BASE_URL`` instead, per client and without touching the process environment, and
mounts urllib3's retry policy: 429, 5xx and network errors retried with exponential backoff and
jitter, ``Retry-After`` honoured, the same attempt budget as the other connectors
(``EDIP_HTTP_MAX_ATTEMPTS``). entsoe-py keeps the query building and its error mapping
(``NoMatchingDataError`` for the "no data" acknowledgement).

The token travels as the ``securityToken`` query parameter (the API's only way): every message
that could carry the URL (entsoe-py's and urllib3's debug logs, ``requests`` exceptions) goes
through :func:`redact`, and a logging filter blanks it in those libraries' records.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import requests
from entsoe import EntsoeRawClient
from entsoe import entsoe as entsoe_module
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from edip_pipeline.config import Settings
from edip_pipeline.http import RETRY_STATUS

TOKEN_PARAM = "securityToken"
_TOKEN_RE = re.compile(rf"({TOKEN_PARAM}[=:'\"\s]+)[^&'\"\s,}}]+")


def redact(text: str) -> str:
    """Blank the value of ``securityToken`` wherever it appears in ``text``."""
    return _TOKEN_RE.sub(r"\1***", text)


class _RedactingFilter(logging.Filter):
    """Rewrites log records of the HTTP libraries so that the token never reaches a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN_PARAM in message:
            record.msg, record.args = redact(message), None
        return True


_FILTER = _RedactingFilter()
for _name in ("entsoe", "entsoe.entsoe", "urllib3.connectionpool", "requests"):
    logging.getLogger(_name).addFilter(_FILTER)


class BaseUrlSession(requests.Session):
    """A session that sends entsoe-py's calls to ``base_url`` (see the module doc)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url

    def request(self, method: str, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if isinstance(url, str) and url.startswith(entsoe_module.URL):
            url = self.base_url + url[len(entsoe_module.URL) :]
        return super().request(method, url, *args, **kwargs)


def retry_policy(settings: Settings) -> Retry:
    """urllib3's retries with the settings' attempts and backoff (full jitter on top)."""
    return Retry(
        total=max(0, settings.http_max_attempts - 1),
        status_forcelist=sorted(RETRY_STATUS),
        allowed_methods=frozenset({"GET"}),
        backoff_factor=settings.http_backoff_initial_s,
        backoff_max=settings.http_backoff_max_s,
        backoff_jitter=settings.http_backoff_initial_s,
        respect_retry_after_header=True,
        retry_after_max=int(settings.http_backoff_max_s * 5),
        raise_on_status=False,  # the last answer goes back to entsoe-py, which explains it
    )


def make_client(settings: Settings, token: str) -> EntsoeRawClient:
    """entsoe-py's raw client on EDIP's endpoint, retry policy and timeout."""
    session = BaseUrlSession(settings.entsoe_base_url.rstrip("/"))
    adapter = HTTPAdapter(max_retries=retry_policy(settings))
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return EntsoeRawClient(
        api_key=token,
        session=session,
        retry_count=1,  # entsoe-py's own loop: one try (urllib3 above retries)
        retry_delay=0,
        timeout=int(max(1, round(settings.http_timeout_s))),
    )
