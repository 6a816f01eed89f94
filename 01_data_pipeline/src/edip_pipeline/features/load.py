"""Load-history features, leak-free by construction.

Availability rule
-----------------
The store stamps a value at the *start* of its interval: a 30-min value stamped ``u`` covers
``[u, u + 30min)`` and is only complete, hence known, at ``u + 30min``. Load features work on the
target grid of step ``s`` (the 30-min values are averaged into ``[u, u + s)`` buckets, the same
definition as :func:`load_target`), and a bucket ``u`` is **known at origin o iff u + s <= o**.

* the store is read with ``end = max(origin)`` (the store's ``end`` is exclusive, so nothing
  stamped at or after the last origin is even loaded), then
* every lookup goes through :func:`_gather`, which refuses (``LeakageError``) any bucket that
  is not known at the row's own origin. Lags are computed so that this never fires; the guard is
  what makes a future bug loud instead of a silently optimistic backtest.

Horizon-aware same-hour lags
----------------------------
``load_lag_{k}d`` for target ``t`` is the bucket at ``t − m·24h`` with
``m = max(k, ceil((t − o + s) / 24h))``: the k-day lag when it is known at the origin, else the
most recent same-hour value that is (for a day-ahead origin at 12:00 and a target at 15:00
tomorrow, ``load_lag_1d`` is the value of 15:00 *two* days before). ``load_same_hour_last_week``
does the same with weeks (it equals ``load_lag_7d`` whenever 7 is in ``lag_days``).

Short-lead shape features (``shape_features``)
----------------------------------------------
A re-issue two hours ahead is mostly "the load now, moved along today's daily profile". Trees learn
the load as a ratio to ``load_last`` but cannot divide two columns, so the profile is given as
ratios, each read through the same guard: ``load_shape_{1d,7d}`` = the target's horizon-aware
same-hour value over the bucket at the *same* offset before the origin's last known one (how the
load moved from that hour to the target's, yesterday or last week); ``load_profile_1d`` =
``load_last × load_shape_1d`` (that move applied to today's level, in MW: the reference an
intraday model learns its ratio to); ``load_level_{1d,7d}`` = ``load_last`` over the same bucket
a day or a week before; ``load_slope_{1,3}h`` = ``load_last`` over the bucket 1 or 3 hours
before it.

Latest known error (``recent_error_features``, with the shape columns): the classic intraday
correction carries the error of the reference on the last observed hours into the next ones. The
reference here is the profile move; moved from the bucket 1 or 3 hours before the last known one,
it would have forecast the last known bucket with the error ``load_error_{1d,7d}_{1,3}h`` =
``load_slope_{1,3}h`` over the same slope a day or a week before (1 = yesterday's / last week's
profile was right). Only buckets known at the origin are read; the model learns how much of that
error persists at each lead (``horizon_h``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS, as_utc_index, step_timedelta
from edip_pipeline.config import FeatureParams
from edip_pipeline.store import Store

DATASET = "load_national"
VARIABLE = "consumption_mw"
AREA = "FR"
NATIVE_STEP = pd.Timedelta("30min")
DAY_NS = pd.Timedelta(days=1).value
WEEK_NS = pd.Timedelta(days=7).value
HOUR_NS = pd.Timedelta(hours=1).value


class LeakageError(AssertionError):
    """A feature tried to read a load value that is not known at its origin."""


#: prefix of the past-load window columns (``load_window_000`` = the last known bucket)
WINDOW_PREFIX = "load_window_"


#: the short-lead shape columns (``FeatureParams.shape_features``), in frame order
SHAPE_FEATURES: tuple[str, ...] = (
    "load_shape_1d",
    "load_shape_7d",
    "load_profile_1d",
    "load_level_1d",
    "load_level_7d",
    "load_slope_1h",
    "load_slope_3h",
)

#: the latest-known-error columns (``FeatureParams.recent_error_features``), in frame order
ERROR_FEATURES: tuple[str, ...] = (
    "load_error_1d_1h",
    "load_error_1d_3h",
    "load_error_7d_1h",
    "load_error_7d_3h",
)


def window_steps(params: FeatureParams) -> int:
    """Number of past-load window columns: ``window_h`` divided by the grid step (0 = none)."""
    if params.window_h <= 0:
        return 0
    step = pd.Timedelta(params.step)
    window = pd.Timedelta(hours=params.window_h)
    if window.value % step.value:
        raise ValueError(f"window_h={params.window_h} is not a multiple of step {params.step}")
    return int(window.value // step.value)


def window_feature_names(params: FeatureParams) -> list[str]:
    """``load_window_000`` … ``load_window_{n−1}``: k steps before the last known bucket."""
    return [f"{WINDOW_PREFIX}{k:03d}" for k in range(window_steps(params))]


def load_feature_names(params: FeatureParams) -> list[str]:
    """Load columns for ``params``, in frame order."""
    names = ["load_last", "load_last_diff_1d"]
    names += [f"load_lag_{k}d" for k in params.lag_days]
    names.append("load_same_hour_last_week")
    for w in params.rolling_windows_h:
        names += [f"load_roll_{stat}_{w}h" for stat in ("mean", "std", "min", "max")]
    if params.shape_features:
        names += SHAPE_FEATURES
        if params.recent_error_features:
            names += ERROR_FEATURES
    return names + window_feature_names(params)


def lookback(params: FeatureParams, step: pd.Timedelta) -> pd.Timedelta:
    """How far before the earliest origin the load history must reach."""
    days = max([*params.lag_days, 7, 1])
    window = max([*params.rolling_windows_h, params.window_h, 0])
    return max(pd.Timedelta(days=days), pd.Timedelta(hours=window)) + pd.Timedelta(days=1) + step


def first_ready_day(load_first: pd.Timestamp, params: FeatureParams) -> pd.Timestamp:
    """First Paris day (naive midnight) whose targets have the full look-back after ``load_first``."""
    ready = (load_first + lookback(params, pd.Timedelta(params.step))).tz_convert(PARIS)
    return ready.tz_localize(None).normalize() + pd.Timedelta(days=1)


@dataclass(frozen=True)
class LoadHistory:
    """Load averaged on a regular UTC grid of step ``step``: ``values[i]`` covers
    ``[start + i·step, start + (i+1)·step)``. ``cutoff`` is the exclusive end of what was read."""

    start: pd.Timestamp
    step: pd.Timedelta
    values: np.ndarray
    cutoff: pd.Timestamp

    @property
    def start_ns(self) -> int:
        return int(pd.Timestamp(self.start).as_unit("ns").value)

    def known_limit(self, origins_ns: np.ndarray) -> np.ndarray:
        """Per origin, the last bucket index known at that origin (``u + s <= o``)."""
        return np.floor_divide(origins_ns - self.step.value - self.start_ns, self.step.value)

    def positions(self, times_ns: np.ndarray) -> np.ndarray:
        """Bucket index of grid-aligned instants; refuses instants off the grid."""
        offset = times_ns - self.start_ns
        if np.any(offset % self.step.value):
            raise ValueError(f"target times must lie on the {self.step} grid (UTC)")
        return offset // self.step.value


def aggregate_to_step(
    series: pd.Series, start: pd.Timestamp, end: pd.Timestamp, step: pd.Timedelta
) -> np.ndarray:
    """Mean of the 30-min values in each ``[u, u + step)`` bucket, ``start <= u < end``.

    A bucket with some missing half-hours is the mean of the others (NaN only when all are
    missing): a 1-hour bucket with one measured half-hour is still informative.
    """
    if step.value % NATIVE_STEP.value:
        raise ValueError(f"load features need a step that is a multiple of {NATIVE_STEP}")
    ratio = step.value // NATIVE_STEP.value
    native_grid = pd.date_range(start, end, freq=NATIVE_STEP, inclusive="left").as_unit("ns")
    native = series.reindex(native_grid).to_numpy(dtype=float)
    if ratio == 1:
        return native.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        return np.nanmean(native.reshape(-1, ratio), axis=1)


def read_load_history(
    store: Store, start: pd.Timestamp, cutoff: pd.Timestamp, step: pd.Timedelta
) -> LoadHistory:
    """National load from ``start`` (floored to ``step``) up to ``cutoff`` (exclusive).

    Half-hours that would end after ``cutoff`` are dropped too, so an origin off the 30-min grid
    never sees a value still in progress.
    """
    g0 = pd.Timestamp(start).floor(step).as_unit("ns")
    end = pd.Timestamp(cutoff).ceil(step).as_unit("ns")
    raw = store.series(DATASET, VARIABLE, AREA, g0, cutoff)
    if len(raw):
        raw.index = pd.DatetimeIndex(raw.index).as_unit("ns")
        raw = raw[raw.index + NATIVE_STEP <= cutoff]
        raw = raw[~raw.index.duplicated(keep="last")]
    values = aggregate_to_step(raw, g0, max(end, g0), step)
    return LoadHistory(g0, step, values, pd.Timestamp(cutoff))


def horizon_aware_multiple(
    targets_ns: np.ndarray, origins_ns: np.ndarray, k: int, period_ns: int, step_ns: int
) -> np.ndarray:
    """Smallest ``m >= k`` such that ``t − m·period`` is known at ``o`` (``+ step <= o``)."""
    delta = targets_ns - origins_ns + step_ns
    needed = -np.floor_divide(-delta, period_ns)  # ceil
    return np.maximum(k, needed)


def _gather(values: np.ndarray, pos: np.ndarray, limit: np.ndarray) -> np.ndarray:
    """``values[pos]`` — but only where bucket ``pos`` is known (``pos <= limit``), else raise."""
    if np.any(pos > limit):
        raise LeakageError(
            f"{int(np.sum(pos > limit))} lookup(s) would read load not yet known at the origin"
        )
    out = np.full(len(pos), np.nan)
    ok = (pos >= 0) & (pos < len(values))
    out[ok] = values[pos[ok]]
    return out


def _window_stats(values: np.ndarray, limits: np.ndarray, n: int) -> np.ndarray:
    """Mean, std (ddof=0), min and max of ``values[limit − n + 1 : limit + 1]`` per limit."""
    out = np.full((len(limits), 4), np.nan)
    ok = (limits - n + 1 >= 0) & (limits < len(values))
    if not ok.any() or n <= 0:
        return out
    windows = np.lib.stride_tricks.sliding_window_view(values, n)[limits[ok] - n + 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        out[ok] = np.column_stack(
            [
                np.nanmean(windows, axis=1),
                np.nanstd(windows, axis=1),
                np.nanmin(windows, axis=1),
                np.nanmax(windows, axis=1),
            ]
        )
    return out


def load_features(
    history: LoadHistory,
    origins: pd.DatetimeIndex,
    targets: pd.DatetimeIndex,
    params: FeatureParams,
) -> pd.DataFrame:
    """Load columns (:func:`load_feature_names`) for each (origin, target) row, vectorised.

    * ``load_last``: the last bucket known at the origin (``[o − s, o)``).
    * ``load_last_diff_1d``: ``load_last`` minus the same bucket 24 h earlier.
    * ``load_lag_{k}d``, ``load_same_hour_last_week``: horizon-aware same-hour values (module doc).
    * ``load_roll_{mean,std,min,max}_{W}h``: over the buckets of ``[o − W, o)``, computed once per
      distinct origin.
    * ``load_window_{k}`` (``window_h > 0``): the bucket k steps before ``load_last``, once per
      distinct origin (the past sequence of the DL encoders).
    """
    s = history.step.value
    o = origins.as_unit("ns").asi8
    t = targets.as_unit("ns").asi8
    if np.any(t < o):
        raise ValueError("a target starts before its origin")
    if np.any(o > history.cutoff.as_unit("ns").value):
        raise LeakageError("an origin is later than the history that was read")
    limit = history.known_limit(o)
    tpos = history.positions(t)
    per_day = DAY_NS // s
    per_week = WEEK_NS // s
    v = history.values
    cols: dict[str, np.ndarray] = {}
    cols["load_last"] = _gather(v, limit, limit)
    cols["load_last_diff_1d"] = cols["load_last"] - _gather(v, limit - per_day, limit)
    for k in params.lag_days:
        m = horizon_aware_multiple(t, o, k, DAY_NS, s)
        cols[f"load_lag_{k}d"] = _gather(v, tpos - m * per_day, limit)
    m = horizon_aware_multiple(t, o, 1, WEEK_NS, s)
    cols["load_same_hour_last_week"] = _gather(v, tpos - m * per_week, limit)
    if params.shape_features:
        cols.update(_shape_columns(v, t, o, s, limit, tpos, cols["load_last"]))
        if params.recent_error_features:
            cols.update(_error_columns(v, s, limit, cols))
    uniq, inv = np.unique(o, return_inverse=True)
    ulimit = history.known_limit(uniq)
    for w in params.rolling_windows_h:
        n = int(pd.Timedelta(hours=w).value // s)
        stats = _window_stats(v, ulimit, n)[inv]
        for j, stat in enumerate(("mean", "std", "min", "max")):
            cols[f"load_roll_{stat}_{w}h"] = stats[:, j]
    # the past window of sequence models: per distinct origin, through the same guard
    window = window_feature_names(params)
    if window:
        lim = np.repeat(ulimit, len(window))
        pos = (ulimit[:, None] - np.arange(len(window))[None, :]).ravel()
        block = _gather(v, pos, lim).reshape(len(ulimit), len(window))[inv]
        cols.update({name: block[:, k] for k, name in enumerate(window)})
    return pd.DataFrame(cols)[load_feature_names(params)]


def _shape_columns(
    v: np.ndarray,
    t: np.ndarray,
    o: np.ndarray,
    s: int,
    limit: np.ndarray,
    tpos: np.ndarray,
    last: np.ndarray,
) -> dict[str, np.ndarray]:
    """The short-lead shape columns (module doc), every lookup through :func:`_gather`."""
    per_day, per_week, per_hour = DAY_NS // s, WEEK_NS // s, max(1, HOUR_NS // s)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: dict[str, np.ndarray] = {}
        for name, period, per in (("1d", DAY_NS, per_day), ("7d", WEEK_NS, per_week)):
            m = horizon_aware_multiple(t, o, 1, period, s) * per
            moved = _gather(v, tpos - m, limit) / _gather(v, limit - m, limit)
            out[f"load_shape_{name}"] = moved
            out[f"load_level_{name}"] = last / _gather(v, limit - per, limit)
        out["load_profile_1d"] = last * out["load_shape_1d"]
        for hours in (1, 3):
            out[f"load_slope_{hours}h"] = last / _gather(v, limit - hours * per_hour, limit)
    return {k: np.where(np.isfinite(x), x, np.nan) for k, x in out.items()}


def _error_columns(
    v: np.ndarray, s: int, limit: np.ndarray, cols: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The latest-known-error columns (module doc): today's 1 h / 3 h slope over the same slope
    a day or a week before, every lookup through :func:`_gather`."""
    per_hour = max(1, HOUR_NS // s)
    out: dict[str, np.ndarray] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for name, back in (("1d", DAY_NS // s), ("7d", WEEK_NS // s)):
            for hours in (1, 3):
                before = _gather(v, limit - back, limit) / _gather(
                    v, limit - back - hours * per_hour, limit
                )
                out[f"load_error_{name}_{hours}h"] = cols[f"load_slope_{hours}h"] / before
    return {k: np.where(np.isfinite(x), x, np.nan) for k, x in out.items()}


def load_target(
    store: Store, targets: pd.DatetimeIndex, step: str | pd.Timedelta = "1h"
) -> pd.Series:
    """The quantity forecast at each target: mean national load (MW) over ``[t, t + step)``.

    Same bucket definition as the load features, so a model's lags and its label agree.
    """
    td = step_timedelta(step)
    idx = as_utc_index(targets)
    if not len(idx):
        return pd.Series([], index=idx, name="load_mw", dtype=float)
    g0 = idx.min().floor(td)
    g1 = idx.max().floor(td) + td
    history = read_load_history(store, g0, g1, td)
    pos = history.positions(idx.asi8)
    return pd.Series(history.values[pos], index=idx, name="load_mw")
