"""Forecast building: origin checks, features from the Store, the served model, an LRU cache.

Why cache: a forecast depends only on (origin, horizon, data version, model) — the feature build
(parquet reads, lookups) is the expensive part, so identical requests reuse it. The prediction
*log* is still written per request (one row per point, with its request id): see
:mod:`edip_api.services.prediction_log`.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from edip_api.core.config import Settings
from edip_api.schemas import FIRST_YEAR, LAST_YEAR
from edip_api.services.errors import InvalidRequestError, NotReadyError
from edip_api.services.forecast_result import ForecastResult
from edip_api.services.lru import LRU
from edip_api.services.model_manager import ServedModel
from edip_api.services.store_view import DataSnapshot, StoreView
from edip_pipeline import clock
from edip_pipeline.calendar import PARIS, paris_day
from edip_pipeline.config import FeatureParams
from edip_pipeline.features import (
    build_feature_table,
    day_ahead_pairs,
    feature_names,
    load_target,
)
from edip_pipeline.features.calendar import rolling_pairs
from edip_pipeline.features.load import lookback

log = logging.getLogger(__name__)

MAX_HORIZON_H = 48
#: how far past the store's last stamp an origin may lie (lags of a week still exist)
MAX_ORIGIN_PAST_DATA = pd.Timedelta(days=7)
#: how far in the future an origin may be
MAX_ORIGIN_AHEAD = pd.Timedelta(hours=1)
MAX_FEATURE_DAYS = 400
#: longest wait for another request's build of the same forecast before building it too
SINGLE_FLIGHT_WAIT_S = 120.0
TARGET_STEP = "1h"
_HOUR_NS = 3_600_000_000_000
_AHEAD_NS = MAX_ORIGIN_AHEAD.value


def utc(value: datetime | pd.Timestamp) -> pd.Timestamp:
    """An aware UTC timestamp; naive input is refused (no guessing of the zone), and so is a
    year outside the supported range (its arithmetic would overflow: a 422, never a 500)."""
    _check_year(value)
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise InvalidRequestError(
            f"time {value} needs a UTC offset (e.g. 2020-12-10T12:00:00+01:00)"
        )
    return ts.tz_convert("UTC").as_unit("ns")


def origin_hour(origin: datetime) -> pd.Timestamp:
    """:func:`utc` floored to the hour, memoised (the cached path is asked for the same few
    origins again and again); keyed on the offset too: equal instants differ in local year."""
    return _origin_hour(origin, origin.utcoffset())


@functools.lru_cache(maxsize=1024)
def _origin_hour(origin: datetime, _offset: Any) -> pd.Timestamp:
    return utc(origin).floor("h")


def _check_year(value: datetime | pd.Timestamp) -> None:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise InvalidRequestError(
            f"time {value.isoformat()} outside the supported years {FIRST_YEAR}..{LAST_YEAR}"
        )


class ServesModel(Protocol):
    """What a forecast service needs of its models (a :class:`ModelManager`, or the intraday
    choice of :mod:`.intraday`): the model serving now, and the default feature params."""

    default_params: FeatureParams

    @property
    def current(self) -> ServedModel: ...


class ForecastService:
    """Builds forecasts and feature rows from the Store for the served model."""

    def __init__(self, settings: Settings, view: StoreView, models: ServesModel) -> None:
        self.settings = settings
        self.view = view
        self.models = models
        self.cache = LRU(settings.forecast_cache_size)
        self.feature_cache = LRU(16)
        self.builds = 0  # forecasts computed (not served from the cache): single-flight shows
        self._inflight: dict[tuple[Any, ...], threading.Event] = {}
        self._inflight_lock = threading.Lock()
        self.warm = threading.Event()
        self.warm_error: str | None = None
        replay = settings.replay_now
        self._replay_now = pd.Timestamp(replay).tz_convert("UTC") if replay is not None else None
        self._bounds: tuple[DataSnapshot, Any, pd.Timestamp, pd.Timestamp] | None = None

    def now(self) -> pd.Timestamp:
        """``EDIP_REPLAY_NOW`` when replaying a past period, else the one EDIP clock (UTC)."""
        if self._replay_now is not None:
            return self._replay_now
        return clock.now()

    def data_age_h(self, snap: DataSnapshot) -> float | None:
        """Hours from the store's last stamp to now (None when the store holds no load)."""
        if snap.last is None:
            return None
        return (self.now().value - snap.last.value) / _HOUR_NS  # ns: no pandas arithmetic

    def data_snapshot(self) -> DataSnapshot:
        snap = self.view.snapshot()
        if not snap.readable:
            raise NotReadyError(snap.error or "store unreadable")
        return snap

    def resolve_origin(
        self, origin: datetime | None, params: Any, snap: DataSnapshot
    ) -> pd.Timestamp:
        """The origin floored to the hour, refused when it cannot be served honestly."""
        now = self.now()
        o = origin_hour(origin) if origin is not None else now.floor("h")
        # nanoseconds, not pandas arithmetic: the cached path checks every request
        if o.value > now.value + _AHEAD_NS:
            raise InvalidRequestError(
                f"origin {o.isoformat()} is in the future (now is {now.isoformat()})"
            )
        if snap.first is None or snap.last is None:
            raise NotReadyError(snap.error or "the store holds no national load")
        earliest, latest = self._origin_bounds(params, snap, snap.first, snap.last)
        if not earliest.value <= o.value <= latest.value:
            raise InvalidRequestError(
                f"origin far outside the data: {o.isoformat()} is not within "
                f"[{earliest.isoformat()}, {latest.isoformat()}] "
                f"(store load {snap.first.isoformat()} .. {snap.last.isoformat()} plus look-back)"
            )
        return o

    def _origin_bounds(
        self, params: Any, snap: DataSnapshot, first: pd.Timestamp, last: pd.Timestamp
    ) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first and last origin the store can serve for ``params``, computed once per
        snapshot and feature parameters (pandas arithmetic on every cached answer adds up)."""
        bounds = self._bounds
        if bounds is None or bounds[0] is not snap or bounds[1] is not params:
            earliest = first + lookback(params, pd.Timedelta(params.step))
            bounds = self._bounds = (snap, params, earliest, last + MAX_ORIGIN_PAST_DATA)
        return bounds[2], bounds[3]

    def forecast(self, origin: datetime | None, horizon: int) -> ForecastResult:
        """P10/P50/P90 of the ``horizon`` hourly targets from the origin (the first = origin)."""
        model, snap, o, key = self._request(origin, horizon)
        hit = self.cache.get(key)
        if hit is not None:
            cached: ForecastResult = hit
            return cached
        return self._single_flight(key, lambda: self._build(model, snap, o, horizon, key))

    def cached(self, origin: datetime | None, horizon: int) -> ForecastResult | None:
        """The forecast when the cache holds it, else None: no feature build, no model run and
        no disk read but the store check (``EDIP_STORE_CHECK_S``), so the event loop may call it
        (a cached answer then needs no threadpool hop). Refusals raise as :meth:`forecast`."""
        hit: ForecastResult | None = self.cache.get(self._request(origin, horizon)[3])
        return hit

    def _request(
        self, origin: datetime | None, horizon: int
    ) -> tuple[ServedModel, DataSnapshot, pd.Timestamp, tuple[Any, ...]]:
        """The served model, the store snapshot, the checked origin and the cache key."""
        if not 1 <= horizon <= MAX_HORIZON_H:
            raise InvalidRequestError(f"horizon must be within 1..{MAX_HORIZON_H}, got {horizon}")
        model = self.models.current
        snap = self.data_snapshot()
        o = self.resolve_origin(origin, model.feature_params, snap)
        return model, snap, o, (o.value, horizon, snap.data_version, model.key)

    def _single_flight(
        self, key: tuple[Any, ...], build: Callable[[], ForecastResult]
    ) -> ForecastResult:
        """One build per key at a time: concurrent requests for it wait for that build.

        Why: after a restart, many clients asking for the same new origin each rebuilt its
        features (seconds each, all at once); now one builds, the others read its result.
        """
        with self._inflight_lock:
            hit = self.cache.get(key)
            if hit is not None:
                cached: ForecastResult = hit
                return cached
            event = self._inflight.get(key)
            leader = event is None
            if event is None:
                event = self._inflight[key] = threading.Event()
        if not leader:
            event.wait(SINGLE_FLIGHT_WAIT_S)
            hit = self.cache.get(key)
            if hit is not None:
                shared: ForecastResult = hit
                return shared
            return build()  # the leader failed (its error was its own answer): try ourselves
        try:
            return build()
        finally:
            with self._inflight_lock:
                self._inflight.pop(key, None)
            event.set()

    def _build(
        self,
        model: ServedModel,
        snap: DataSnapshot,
        o: pd.Timestamp,
        horizon: int,
        key: tuple[Any, ...],
    ) -> ForecastResult:
        self.builds += 1
        # the (origin, target) pairs are built once and handed to the table builder as they are
        pairs = rolling_pairs(pd.DatetimeIndex([o]), horizon, TARGET_STEP)
        targets = pd.DatetimeIndex(pairs["target_time"])
        ft = build_feature_table(self.view.store, pairs, model.feature_params)
        quantiles = model.predict(ft.frame)
        if np.isnan(quantiles[:, 1]).any():
            n = int(np.isnan(quantiles[:, 1]).sum())
            raise NotReadyError(
                f"{model.info.name} cannot forecast {n} of {len(targets)} targets from "
                f"origin {o.isoformat()}: the load history it needs is missing"
            )
        variant = model.variant(ft.frame)
        result = ForecastResult(model, o, targets, quantiles, ft.weather_source, snap, variant)
        self.cache.put(key, result)
        return result

    def warm_up(self) -> None:
        """Build the next issuance's forecasts once at start-up (``/ready`` waits for it).

        The default origin (now) and the latest day-ahead issuance (12:00 Paris) at the longest
        horizon: their features and the store's partitions are then in memory, so the first
        burst of clients after a restart is served from cache instead of stampeding.
        """
        try:
            now = self.now()
            issue = (paris_day(now) + pd.Timedelta(hours=12)).tz_localize(PARIS)
            if issue > now:
                issue = (paris_day(now) - pd.Timedelta(hours=12)).tz_localize(PARIS)
            for origin, horizon in ((None, 24), (issue.to_pydatetime(), MAX_HORIZON_H)):
                self.forecast(origin, horizon)
        except Exception as exc:  # serving still works; the first request pays the build
            self.warm_error = f"{type(exc).__name__}: {exc}"
            log.warning("forecast warm-up failed: %s", self.warm_error)
        finally:
            self.warm.set()

    def start_warm_up(self) -> threading.Thread:
        thread = threading.Thread(target=self.warm_up, name="edip-warm-up", daemon=True)
        thread.start()
        return thread

    def feature_rows(self, start: str, end: str, columns: list[str]) -> pd.DataFrame:
        """Day-ahead feature rows (origin D-1 12:00 Paris) of target days ``start``..``end``."""
        params = self.models.current.feature_params
        known = [*feature_names(params), "load_mw"]
        unknown = [c for c in columns if c not in known]
        if unknown:
            raise InvalidRequestError(f"unknown feature columns {unknown}; known: {known}")
        try:
            first = _paris_day(start)
            last = _paris_day(end)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from exc
        days = (last - first).days + 1
        if days < 1:
            raise InvalidRequestError(f"end {end} is before start {start}")
        if days > MAX_FEATURE_DAYS:
            raise InvalidRequestError(f"range of {days} days exceeds {MAX_FEATURE_DAYS}")
        snap = self.data_snapshot()
        key = (first, last, tuple(columns), snap.data_version, params.model_dump_json())
        hit = self.feature_cache.get(key)
        if hit is not None:
            cached: pd.DataFrame = hit
            return cached
        pairs = day_ahead_pairs(first, last, params.step, params.origin_hour_local)
        ft = build_feature_table(self.view.store, pairs, params)
        frame = ft.frame.reset_index().drop(columns="origin").set_index("target_time")
        out = pd.DataFrame(index=frame.index)
        for c in columns:
            if c == "load_mw":
                out[c] = load_target(
                    self.view.store, pd.DatetimeIndex(frame.index), params.step
                ).to_numpy()
            else:
                out[c] = frame[c]
        self.feature_cache.put(key, out)
        return out


def _paris_day(value: str) -> pd.Timestamp:
    """A naive Paris calendar date from "2020-12-01" or an ISO instant (years checked)."""
    day = paris_day(value)
    _check_year(day)
    return day
