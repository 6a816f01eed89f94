"""RTE Data portal: realised national consumption and RTE's official D-1 forecast (OAuth2).

Why this source when ODRE already has éCO2mix: it is fresher (minutes) and carries the archived
D-1 forecast, the natural benchmark. It needs an app subscribed to the *Consumption* API on
data.rte-france.com, so it is enabled only when ``EDIP_RTE_CLIENT_ID`` and
``EDIP_RTE_CLIENT_SECRET`` are set.

Protocol (see the data-sources reference, section 2):

* token: ``POST {base}/token/oauth/`` with ``Authorization: Basic base64(id:secret)`` and
  ``grant_type=client_credentials`` → ``{"access_token", "token_type", "expires_in"}``; the token
  is cached until ``expires_in`` minus a margin, and refreshed once when a call answers 401;
* data: ``GET {base}/open_api/consumption/v1/short_term?type=REALISED,D-1&start_date=…&end_date=…``
  with bounds at Paris midnights written with *their own* offset (``+01:00`` / ``+02:00``: a fixed
  offset silently shifts the window), ``end_date`` exclusive. Windows are at most 31 days (D-1's
  limit; REALISED alone allows ~150) and at least 2 days (shorter D-1 windows are reported to
  fail), so short periods are widened backwards and the rows filtered.

``short_term[]`` has one block per ``type``; values are 15-min means in MW in recent years (30 min
in older ones). Only the :00 and :30 starts are kept, matching the 30-min canonical grid of
``load_national``: REALISED → ``consumption_mw`` (REALTIME), D-1 → ``forecast_d1_mw`` (FORECAST).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.config import Settings, get_settings
from edip_pipeline.http import HttpClient, Response, SourceError, decode_json
from edip_pipeline.schema import COLUMNS, Vintage, empty_frame
from edip_pipeline.sources.base import Batch, Period, canonical, lenient_numbers

if TYPE_CHECKING:
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

DATASET = "short_term"
ATTRIBUTION = "RTE Data portal (data.rte-france.com), Licence Ouverte / Etalab 2.0"
TOKEN_PATH = "/token/oauth/"
SHORT_TERM_PATH = "/open_api/consumption/v1/short_term"
#: RTE ``type`` -> (canonical variable, vintage)
TYPES: dict[str, tuple[str, Vintage]] = {
    "REALISED": ("consumption_mw", Vintage.REALTIME),
    "D-1": ("forecast_d1_mw", Vintage.FORECAST),
}
MAX_WINDOW_DAYS = 31
MIN_WINDOW_DAYS = 2
TOKEN_MARGIN_S = 60.0
MISSING_CREDENTIALS = (
    "RTE Data portal disabled: set EDIP_RTE_CLIENT_ID and EDIP_RTE_CLIENT_SECRET (an application "
    "subscribed to the Consumption API on https://data.rte-france.com)"
)


def _http_status(exc: SourceError) -> int | None:
    match = re.match(r"HTTP (\d+):", exc.reason)
    return int(match.group(1)) if match else None


def _explain(exc: SourceError, what: str) -> NoReturn:
    """Re-raise with RTE's ``{"error", "error_description"}`` and a hint for 401/403."""
    status = _http_status(exc)
    detail = exc.reason
    body_match = re.match(r"HTTP \d+: (.*)", exc.reason, re.S)
    if body_match:
        try:
            body = json.loads(body_match.group(1))
        except json.JSONDecodeError:
            body = None
        if isinstance(body, dict) and body.get("error"):
            detail = f"HTTP {status}: {body['error']} {body.get('error_description', '')}".strip()
    hint = {
        401: " (check EDIP_RTE_CLIENT_ID / EDIP_RTE_CLIENT_SECRET)",
        403: " (subscribe the application to this API on data.rte-france.com)",
    }.get(status or 0, "")
    raise SourceError(exc.dataset, exc.url, f"{what}: {detail}{hint}") from exc


def paris_iso(ts: pd.Timestamp) -> str:
    """``2024-01-01T00:00:00+01:00``: the bound with its real Paris offset."""
    return ts.tz_convert(PARIS).isoformat()


def windows(period: Period) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Request windows between Paris midnights covering ``period`` (2 to 31 local days each)."""
    start = period.start.tz_convert(PARIS).normalize()
    end_local = period.end.tz_convert(PARIS)
    end = end_local.normalize()
    if end < end_local:
        end = end + pd.DateOffset(days=1)
    out: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    cur = start
    while cur < end:
        nxt = min(cur + pd.DateOffset(days=MAX_WINDOW_DAYS), end)
        lo = min(cur, nxt - pd.DateOffset(days=MIN_WINDOW_DAYS))
        out.append((pd.Timestamp(lo), pd.Timestamp(nxt)))
        cur = nxt
    return out


def parse_short_term(payload: Any, *, dataset: str, url: str, source: str) -> pd.DataFrame:
    """Canonical ``load_national`` rows (area FR, :00/:30 starts, non-null values) from one body."""
    if not isinstance(payload, dict) or not isinstance(payload.get("short_term"), list):
        raise SourceError(dataset, url, "expected {'short_term': [...]}")
    frames: list[pd.DataFrame] = []
    for block in payload["short_term"]:
        if not isinstance(block, dict) or not isinstance(block.get("values"), list):
            raise SourceError(dataset, url, "short_term block without a 'values' array")
        kind = block.get("type")
        if kind not in TYPES:
            log.debug("%s: ignoring block of type %r", dataset, kind)
            continue
        variable, vintage = TYPES[str(kind)]
        values = block["values"]
        if not values:
            continue
        try:
            starts = [v["start_date"] for v in values]
            raw = [v.get("value") for v in values]
            ts = pd.DatetimeIndex(pd.to_datetime(starts, utc=True, format="ISO8601"))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise SourceError(dataset, url, f"unreadable {kind} values: {exc!r}") from exc
        ts = pd.DatetimeIndex(ts.astype("datetime64[ns, UTC]"))
        mw = lenient_numbers(raw)
        keep = np.isin(ts.minute, [0, 30]) & (ts.second == 0) & (ts.nanosecond == 0) & ~np.isnan(mw)
        if keep.any():
            frames.append(
                canonical(
                    ts[keep],
                    mw[keep],
                    variable=variable,
                    area="FR",
                    vintage=int(vintage),
                    source=source,
                )
            )
    return pd.concat(frames, ignore_index=True) if frames else empty_frame()


class RteSource:
    """RTE Consumption API ``short_term`` → ``load_national`` (FR, MW)."""

    name: ClassVar[str] = "rte"
    datasets: ClassVar[tuple[str, ...]] = (DATASET,)
    revision_family: ClassVar[dict[str, str]] = {DATASET: "rte"}

    def __init__(
        self,
        settings: Settings | None = None,
        client: HttpClient | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or get_settings()
        self.client = client or HttpClient(self.settings)
        self._clock = clock
        self._token: str | None = None
        self._token_expiry = 0.0

    @staticmethod
    def enabled(settings: Settings | None = None) -> bool:
        """True when both OAuth2 credentials are configured."""
        return (settings or get_settings()).rte_enabled

    def target_datasets(self, dataset: str) -> list[str]:
        self._check(dataset)
        return ["load_national"]

    @property
    def _base(self) -> str:
        return self.settings.rte_base_url.rstrip("/")

    def _check(self, dataset: str) -> None:
        if dataset != DATASET:
            raise SourceError(dataset, self._base, f"unknown dataset; known: [{DATASET!r}]")

    # ------------------------------------------------------------------ auth
    def _access_token(self, dataset: str) -> str:
        """The cached token, or a fresh one when absent or about to expire."""
        if self._token and self._clock() < self._token_expiry:
            return self._token
        s = self.settings
        if not (s.rte_client_id and s.rte_client_secret):
            raise SourceError(dataset, self._base + TOKEN_PATH, MISSING_CREDENTIALS)
        pair = f"{s.rte_client_id.get_secret_value()}:{s.rte_client_secret.get_secret_value()}"
        headers = {
            "Authorization": "Basic " + base64.b64encode(pair.encode()).decode("ascii"),
            "Content-Type": "application/x-www-form-urlencoded",
        }
        url = self._base + TOKEN_PATH
        try:
            resp = self.client.request(
                "POST",
                url,
                dataset=dataset,
                data={"grant_type": "client_credentials"},
                headers=headers,
            )
        except SourceError as exc:
            _explain(exc, "RTE token request failed")
        body = decode_json(resp, dataset)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise SourceError(dataset, url, "token response without access_token")
        expires = body.get("expires_in", 3600)
        ttl = float(expires) if isinstance(expires, int | float) and expires > 0 else 3600.0
        self._token = token
        self._token_expiry = self._clock() + max(ttl - TOKEN_MARGIN_S, ttl / 2)
        log.info("rte: new access token valid %.0f s", ttl)
        return token

    def _authorised_get(self, url: str, dataset: str, params: Mapping[str, str]) -> Response:
        """GET with the bearer token; on a 401 drop the token and retry once with a new one."""
        for attempt in (1, 2):
            token = self._access_token(dataset)
            try:
                return self.client.get(
                    url,
                    dataset=dataset,
                    params=params,
                    headers={"Authorization": f"Bearer {token}"},
                )
            except SourceError as exc:
                if _http_status(exc) == 401 and attempt == 1:
                    log.info("rte: token rejected (401), re-authenticating once")
                    self._token = None
                    continue
                _explain(exc, "RTE consumption request failed")
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ data
    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        """REALISED and D-1 half-hours of ``period`` (windows of Paris days, raw bodies kept)."""
        self._check(dataset)
        url = self._base + SHORT_TERM_PATH
        if not self.enabled(self.settings):
            raise SourceError(dataset, url, MISSING_CREDENTIALS)
        source = f"{self.name}:{dataset}"
        frames: list[pd.DataFrame] = []
        for lo, hi in windows(period):
            params = {
                "type": "REALISED,D-1",
                "start_date": paris_iso(lo),
                "end_date": paris_iso(hi),
            }
            resp = self._authorised_get(url, dataset, params)
            store.save_raw(self.name, dataset, resp.content, "json")
            frame = parse_short_term(
                decode_json(resp, dataset), dataset=dataset, url=resp.url, source=source
            )
            if not frame.empty:
                frames.append(frame)
        frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
        frame = frame[(frame["timestamp"] >= period.start) & (frame["timestamp"] < period.end)]
        frame = frame.drop_duplicates(["timestamp", "area", "variable"], keep="last")
        frame = frame.sort_values(["timestamp", "variable"]).reset_index(drop=True)[COLUMNS]
        log.info("%s: %d rows for %s → %s", source, len(frame), period.start, period.end)
        return [Batch("load_national", frame, [ATTRIBUTION])]
