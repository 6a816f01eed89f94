"""One HTTP client for every connector: timeouts, retries with backoff and jitter, clear errors.

Retried: HTTP 429, any 5xx and network errors (connect, read, protocol), honouring ``Retry-After``
(seconds or an HTTP date) when the server sends it. Anything else (400, 401, 404, …) fails at once
with a :class:`SourceError` naming the dataset and the URL, because retrying a bad request only
burns quota.
"""

from __future__ import annotations

import email.utils
import functools
import logging
import random
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
)

from edip_pipeline.config import Settings, get_settings

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})


class SourceError(RuntimeError):
    """A source failed: the message names the dataset and the URL."""

    def __init__(self, dataset: str, url: str, reason: str) -> None:
        super().__init__(f"[{dataset}] {reason} (url: {url})")
        self.dataset = dataset
        self.url = url
        self.reason = reason


class _RetryableError(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@dataclass
class Response:
    """What a connector needs from a response: the final URL, status, headers and body."""

    url: str
    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8-sig", errors="replace")


@functools.cache
def ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context (CA bundle, ``SSL_CERT_FILE``), built once per process: pass
    it as ``verify=`` to every :class:`httpx.Client`.

    Why: httpx builds a new context, loading the CA bundle, for every client (~30 ms of CPU),
    even for a plain-HTTP URL; short-lived clients (one per flow run, one per status query of
    the API) paid it on every call.
    """
    return httpx.create_ssl_context()


class HttpClient:
    """Thin wrapper over :class:`httpx.Client` adding the retry policy."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self._sleep = sleep
        self._client = httpx.Client(
            verify=ssl_context(),
            timeout=self.settings.http_timeout_s,
            follow_redirects=True,
            headers={"User-Agent": "edip/0.1 (+https://github.com/edip-energy/edip)"},
            transport=transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _wait(self, state: RetryCallState) -> float:
        s = self.settings
        exp = min(s.http_backoff_max_s, s.http_backoff_initial_s * 2 ** (state.attempt_number - 1))
        wait = random.uniform(0, exp)  # "full jitter": spreads clients that failed together
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableError) and exc.retry_after is not None:
            wait = max(wait, min(exc.retry_after, s.http_backoff_max_s * 5))
        return wait

    def request(
        self,
        method: str,
        url: str,
        *,
        dataset: str,
        params: Mapping[str, Any] | None = None,
        data: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send a request with the retry policy; raise :class:`SourceError` on final failure."""
        full_url = str(httpx.URL(url, params=params)) if params else url

        def once() -> Response:
            try:
                r = self._client.request(method, url, params=params, data=data, headers=headers)
                content = r.content  # read fully: a truncated body raises here
            except (httpx.TransportError, httpx.DecodingError) as exc:
                raise _RetryableError(f"network error: {exc!r}") from exc
            if r.status_code in RETRY_STATUS:
                raise _RetryableError(
                    f"HTTP {r.status_code}: {r.text[:200]!r}",
                    parse_retry_after(r.headers.get("Retry-After")),
                )
            if r.status_code >= 400:
                raise SourceError(dataset, full_url, f"HTTP {r.status_code}: {r.text[:500]}")
            return Response(str(r.url), r.status_code, dict(r.headers), content)

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.http_max_attempts),
            wait=self._wait,
            retry=retry_if_exception(lambda e: isinstance(e, _RetryableError)),
            sleep=self._sleep,
            before_sleep=lambda st: log.warning(
                "%s: attempt %d failed (%s), retrying",
                dataset,
                st.attempt_number,
                st.outcome.exception() if st.outcome else "?",
            ),
            reraise=True,
        )
        try:
            return retrying(once)
        except _RetryableError as exc:
            raise SourceError(
                dataset,
                full_url,
                f"gave up after {self.settings.http_max_attempts} attempts: {exc}",
            ) from exc

    def get(
        self,
        url: str,
        *,
        dataset: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        return self.request("GET", url, dataset=dataset, params=params, headers=headers)

    def get_json(
        self,
        url: str,
        *,
        dataset: str,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """GET and decode JSON; malformed or truncated JSON is a :class:`SourceError`."""
        resp = self.get(url, dataset=dataset, params=params, headers=headers)
        return decode_json(resp, dataset)


def decode_json(resp: Response, dataset: str) -> Any:
    import json

    try:
        return json.loads(resp.content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SourceError(
            dataset,
            resp.url,
            f"malformed or truncated JSON ({exc}); body starts {resp.text[:120]!r}",
        ) from exc
