"""The loop's HTTP client of the EDIP API: the loop issues and logs *through* the API, like any
client, so that what it issued is exactly what the API served and logged."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

import httpx

from edip_ml.live.config import LiveSettings
from edip_pipeline.http import ssl_context


class LoopApiError(RuntimeError):
    """The API refused or failed a loop call (the message says which and why)."""

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class LoopApi:
    """A thin, typed wrapper of the endpoints the loop uses."""

    def __init__(self, settings: LiveSettings, timeout_s: float = 60.0) -> None:
        self.http = httpx.Client(
            verify=ssl_context(),
            base_url=settings.api_url.rstrip("/"),
            headers={"X-API-Key": settings.api_key.get_secret_value()},
            timeout=timeout_s,
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LoopApiError(f"{method} {path}: API unreachable ({exc})") from exc
        if response.status_code >= 400:
            raise LoopApiError(
                f"{method} {path}: HTTP {response.status_code} {response.text[:400]}",
                response.status_code,
            )
        return response.json()

    def model(self) -> dict[str, Any]:
        body: dict[str, Any] = self._call("GET", "/v1/model")
        return body

    def forecast(self, origin: str, horizon: int, request_id: str) -> dict[str, Any]:
        return self._forecast("/v1/forecast", origin, horizon, request_id)

    def forecast_intraday(self, origin: str, horizon: int, request_id: str) -> dict[str, Any]:
        """The intraday re-issue from ``origin``: the intraday model's forecast, or the day-ahead
        champion's when none is registered (its ``model.reason`` says so)."""
        return self._forecast("/v1/forecast/intraday", origin, horizon, request_id)

    def fallback(self, origin: str, horizon: int, request_id: str) -> dict[str, Any]:
        """The API's documented fallback from ``origin``, logged under ``request_id`` (key)."""
        return self._forecast("/v1/fallback", origin, horizon, request_id)

    def _forecast(self, path: str, origin: str, horizon: int, request_id: str) -> dict[str, Any]:
        """One of the forecast routes (same query and request id header)."""
        body: dict[str, Any] = self._call(
            "GET",
            path,
            params={"origin": origin, "horizon": horizon},
            headers={"X-Request-ID": request_id},
        )
        return body

    def issuances(
        self,
        start_day: str | None = None,
        end_day: str | None = None,
        limit: int = 100,
        kind: str = "day-ahead",
    ) -> list[dict[str, Any]]:
        """Recorded issuances of ``kind`` ('day-ahead', an intraday kind or 'all')."""
        params: dict[str, Any] = {"limit": limit, "kind": kind}
        if start_day:
            params["start_day"] = start_day
        if end_day:
            params["end_day"] = end_day
        body: list[dict[str, Any]] = self._call("GET", "/v1/issuances", params=params)
        return body

    def record_issuance(self, issuance: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = self._call("POST", "/v1/issuances", json=issuance)
        return body

    def post_explanation(self, explanation: dict[str, Any]) -> dict[str, Any]:
        """Store why an issued forecast says what it says (``/v1/forecast/explain``, key)."""
        body: dict[str, Any] = self._call("POST", "/v1/forecast/explain", json=explanation)
        return body

    def online_state(
        self, model: str, version: str, day: str | None = None
    ) -> dict[str, Any] | None:
        """The online state the API keeps for ``model`` v``version`` once it absorbed ``day``
        (the newest without), ``None`` when it keeps none (404)."""
        params = {"model": model, "version": version, **({"day": day} if day else {})}
        try:
            body = self._call("GET", "/v1/model/online-state", params=params)
        except LoopApiError as exc:
            if exc.status_code == 404:
                return None
            raise
        return dict(body["state"])

    def put_online_state(
        self, model: str, version: str, day: str, state: dict[str, Any]
    ) -> dict[str, Any]:
        """Post the state absorbed up to ``day``: the API checks it, keeps it and serves it."""
        body = {"model": model, "version": version, "day": day, "state": state}
        answer: dict[str, Any] = self._call("PUT", "/v1/model/online-state", json=body)
        return answer

    def post_actuals(self, rows: list[dict[str, Any]]) -> int:
        return int(self._call("POST", "/v1/actuals", json={"actuals": rows})["upserted"])

    def summary(self, window: str, end: str | None = None) -> dict[str, Any]:
        params = {"window": window, **({"end": end} if end else {})}
        body: dict[str, Any] = self._call("GET", "/v1/metrics/summary", params=params)
        return body

    def loop_status(self) -> dict[str, Any]:
        body: dict[str, Any] = self._call("GET", "/v1/loop/status")
        return body
