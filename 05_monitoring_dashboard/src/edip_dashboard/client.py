"""The one HTTP client of the dashboard: every page and the alert flow read the API through it.

Why one module: timeouts, error wording, paging through ``next_offset`` and the API's range caps
(92 days for predictions/actuals, 400 for features) are handled once, so a page never sees a raw
``httpx`` error nor a half-read list.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self, TypedDict, cast

import httpx

log = logging.getLogger(__name__)

#: the API refuses longer ranges on these endpoints (see the contract): the client splits them
MAX_LIST_RANGE = timedelta(days=92)
MAX_FEATURE_RANGE = timedelta(days=400)
#: a guard against a server whose ``next_offset`` never ends
MAX_PAGES = 10_000


class IssuedValue(TypedDict):
    """One hour of an issued forecast (``target_time`` UTC, ISO)."""

    target_time: str
    p10: float | None
    p50: float
    p90: float | None


class Issue(TypedDict):
    """One issue of a day: ``day-ahead`` or ``intraday D 09:00``; ``lead_h`` from its origin to
    the start of the day (negative once the day has begun)."""

    kind: str
    origin: str
    issued_at: str
    model_name: str
    model_version: str
    lead_h: float
    points: list[IssuedValue]


class Measured(TypedDict):
    timestamp: str
    consumption_mw: float


class DayHistory(TypedDict):
    """``/v1/issued/history``: every issue of a Paris day made by ``as_of``, and its actual."""

    day: str
    as_of: str
    issues: list[Issue]
    actual: list[Measured]


class DailyPeak(TypedDict):
    """A day's forecast peak (MW, Paris hour, P10–P90 at that hour) and, once measured, its
    error (forecast − measured, MW) and hour hit (1/0)."""

    day: str
    peak_mw: float
    peak_hour: int
    peak_p10: float | None
    peak_p90: float | None
    actual_peak_mw: float | None
    actual_peak_hour: int | None
    error_mw: float | None
    hit: float | None


class ApiError(RuntimeError):
    """The API answered with an error (or not as the contract says): status and detail kept."""

    def __init__(self, url: str, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.url = url
        self.status_code = status_code


class ApiUnreachableError(ApiError):
    """Nothing answered at the API URL (connection refused, DNS, timeout)."""


def iso(value: datetime) -> str:
    """An aware datetime as the ISO string the API expects (naive means UTC)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) time")
    return value.isoformat()


def split_range(
    start: datetime, end: datetime, span: timedelta
) -> Iterator[tuple[datetime, datetime]]:
    """``[start, end)`` cut into consecutive pieces of at most ``span``."""
    if end <= start:
        return
    cursor = start
    while cursor < end:
        stop = min(cursor + span, end)
        yield cursor, stop
        cursor = stop


class ApiClient:
    """A synchronous client of the EDIP API (``base_url`` like ``http://127.0.0.1:8000``)."""

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 15.0,
        page_limit: int = 5000,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.page_limit = page_limit
        self._http = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 5.0)),
            transport=transport,
            headers={"Accept": "application/json", "User-Agent": "edip-dashboard"},
        )

    # -- plumbing --------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._http.close()

    def _request(
        self, path: str, params: Mapping[str, Any] | None = None, accept: tuple[int, ...] = (200,)
    ) -> httpx.Response:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.base_url}{path}"
        try:
            response = self._http.get(path, params=clean)
        except httpx.TimeoutException as exc:
            raise ApiUnreachableError(
                url, f"the API at {self.base_url} did not answer in time ({exc})"
            ) from exc
        except httpx.TransportError as exc:
            raise ApiUnreachableError(
                url, f"the API at {self.base_url} is unreachable ({exc})"
            ) from exc
        if response.status_code not in accept:
            raise ApiError(
                url,
                f"GET {path} → HTTP {response.status_code}: {_detail(response)}",
                response.status_code,
            )
        return response

    def _json(
        self, path: str, params: Mapping[str, Any] | None = None, accept: tuple[int, ...] = (200,)
    ) -> dict[str, Any]:
        response = self._request(path, params, accept)
        try:
            body = response.json()
        except ValueError as exc:
            raise ApiError(response.request.url.__str__(), f"GET {path}: not JSON") from exc
        if not isinstance(body, dict):
            raise ApiError(str(response.request.url), f"GET {path}: expected a JSON object")
        return body

    def _paged(self, path: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every item of a paged list endpoint, following ``next_offset``."""
        items: list[dict[str, Any]] = []
        offset: int | None = 0
        for _ in range(MAX_PAGES):
            if offset is None:
                return items
            page = self._json(path, {**params, "limit": self.page_limit, "offset": offset})
            items.extend(page.get("items") or [])
            nxt = page.get("next_offset")
            if nxt is not None and int(nxt) <= offset:
                raise ApiError(
                    path, f"GET {path}: next_offset {nxt} does not advance past {offset}"
                )
            offset = None if nxt is None else int(nxt)
        raise ApiError(path, f"GET {path}: more than {MAX_PAGES} pages")

    def _ranged(
        self, path: str, start: datetime, end: datetime, extra: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        iso(start), iso(end)  # refuses naive times before any comparison
        items: list[dict[str, Any]] = []
        for lo, hi in split_range(start, end, MAX_LIST_RANGE):
            items.extend(self._paged(path, {**(extra or {}), "start": iso(lo), "end": iso(hi)}))
        return items

    # -- endpoints ---------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        """``/health`` (liveness)."""
        return self._json("/health")

    def ready(self) -> dict[str, Any]:
        """``/ready``; a 503 is an answer too (``ready: false`` with the reasons)."""
        return self._json("/ready", accept=(200, 503))

    def forecast(self, origin: datetime | None = None, horizon: int = 24) -> dict[str, Any]:
        """``/v1/forecast`` from ``origin`` (default: the API's now) for ``horizon`` hours."""
        if not 1 <= horizon <= 48:
            raise ValueError(f"horizon must be 1..48 hours, got {horizon}")
        return self._json(
            "/v1/forecast",
            {"origin": iso(origin) if origin else None, "horizon": horizon},
        )

    def predictions(
        self, start: datetime, end: datetime, model: str | None = None
    ) -> list[dict[str, Any]]:
        """Every logged prediction with a target in ``[start, end)`` (all pages, any range)."""
        return self._ranged("/v1/predictions", start, end, {"model": model})

    def actuals(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every stored actual in ``[start, end)`` (all pages, any range)."""
        return self._ranged("/v1/actuals", start, end)

    def actuals_page(
        self, start: datetime, end: datetime, limit: int, offset: int = 0
    ) -> dict[str, Any]:
        """One raw page of ``/v1/actuals`` (for ``total`` and the last item)."""
        return self._json(
            "/v1/actuals", {"start": iso(start), "end": iso(end), "limit": limit, "offset": offset}
        )

    def metrics_summary(self, window: str = "7d", end: datetime | None = None) -> dict[str, Any]:
        """``/v1/metrics/summary`` over ``window`` (``24h``, ``7d``…) ending at ``end``."""
        return self._json(
            "/v1/metrics/summary", {"window": window, "end": iso(end) if end else None}
        )

    def model(self) -> dict[str, Any]:
        """``/v1/model``: the served model, its features and training period."""
        return self._json("/v1/model")

    def model_versions(self) -> list[dict[str, Any]]:
        """``/v1/model/versions``: the registry's versions with their aliases."""
        return list(self._json("/v1/model/versions").get("versions") or [])

    def data_status(self) -> dict[str, Any]:
        """``/v1/data/status``: datasets' freshness and gaps, Prefect flow runs."""
        return self._json("/v1/data/status")

    def features(
        self, start: datetime, end: datetime, columns: list[str]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        """Day-ahead feature rows (``columns`` known to the API) over any range."""
        if not columns:
            raise ValueError("features: at least one column is needed")
        iso(start), iso(end)
        names: list[str] = []
        items: list[dict[str, Any]] = []
        for lo, hi in split_range(start, end, MAX_FEATURE_RANGE):
            body = self._json(
                "/v1/features", {"start": iso(lo), "end": iso(hi), "columns": ",".join(columns)}
            )
            names = list(body.get("columns") or names)
            items.extend(body.get("items") or [])
        return names, items

    def loop_status(self) -> dict[str, Any]:
        """``/v1/loop/status``: the API's clock, last and next issuance, actuals' age, loop runs."""
        return self._json("/v1/loop/status")

    def issuances(
        self, start_day: str | None = None, end_day: str | None = None, limit: int = 100
    ) -> list[dict[str, Any]]:
        """``/v1/issuances``: the loop's issuance records, newest target day first."""
        params = {"start_day": start_day, "end_day": end_day, "limit": limit}
        body = self._request("/v1/issuances", params).json()
        if not isinstance(body, list):
            raise ApiError(f"{self.base_url}/v1/issuances", "GET /v1/issuances: expected a list")
        return body

    def explanation(self, target_day: str) -> dict[str, Any]:
        """``/v1/forecast/explain`` of a Paris day: its issued forecast's P50 in named
        contributions; a day with none issued comes back ``available: false`` with the reason."""
        response = self._request("/v1/forecast/explain", {"target_day": target_day}, (200, 404))
        if response.status_code == 404:
            return {"target_day": target_day, "available": False, "reason": _detail(response),
                    "points": [], "contributions": []}  # fmt: skip
        body: dict[str, Any] = response.json()
        return body

    def issued_history(self, day: str, as_of: datetime | None = None) -> DayHistory:
        """``/v1/issued/history``: how the forecast of Paris ``day`` evolved, as of ``as_of``
        (default: the API's now), oldest issue first, with the hours measured by then."""
        body = self._json("/v1/issued/history", {"day": day, "as_of": _opt_iso(as_of)})
        return cast(DayHistory, body)

    def issued_peaks(
        self,
        start_day: str,
        end_day: str | None = None,
        kind: str = "day-ahead",
        as_of: datetime | None = None,
    ) -> list[DailyPeak]:
        """``/v1/issued/peaks``: each day's forecast peak from its ``kind`` issue (``latest``:
        the latest issue of each hour as of ``as_of``), scored once the day is measured."""
        params = {"start_day": start_day, "end_day": end_day, "kind": kind,
                  "as_of": _opt_iso(as_of)}  # fmt: skip
        body = self._request("/v1/issued/peaks", params).json()
        if not isinstance(body, list):
            raise ApiError(f"{self.base_url}/v1/issued/peaks", "GET /v1/issued/peaks: not a list")
        return cast(list[DailyPeak], body)

    def prometheus(self) -> str:
        """The API's ``/metrics`` (Prometheus text)."""
        return self._request("/metrics").text


def _opt_iso(value: datetime | None) -> str | None:
    return iso(value) if value is not None else None


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason_phrase
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])[:500]
    return str(body)[:300]
