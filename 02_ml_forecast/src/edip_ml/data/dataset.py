"""From the store to (X, y): the pipeline's leak-free features and the matching label.

Models see exactly the columns of :func:`edip_pipeline.features.build_feature_table` (no extra
derived columns), so serving only needs ``build_features`` and the model's ``feature_names``. The
columns are those of the feature *groups* available in the table; a model remembers its groups and
asks for them again at prediction time, which fails loudly (:class:`ModelError`) when one of them
has no data instead of silently feeding NaN to a model that learnt from it.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from edip_ml.config import PROTOCOLS, MLParams, Protocol
from edip_ml.models.base import ModelError
from edip_pipeline.calendar import PARIS, to_utc
from edip_pipeline.config import FeatureParams
from edip_pipeline.features import (
    FeatureFrame,
    WeatherMode,
    build_feature_table,
    day_ahead_pairs,
    intraday_pairs,
    load_target,
    rolling_pairs,
)
from edip_pipeline.features.load import AREA, DATASET, VARIABLE, lookback
from edip_pipeline.store import Store

log = logging.getLogger(__name__)


def feature_params(store: Store, params: MLParams) -> FeatureParams:
    """The store's feature parameters with the ML step (``ml.step`` wins over ``features.step``)
    and the family's ``feature_overrides`` (e.g. a past-load window for sequence models)."""
    update: dict[str, object] = {"step": params.step, **params.feature_overrides}
    unknown = sorted(set(update) - set(FeatureParams.model_fields))
    if unknown:
        raise ValueError(f"feature_overrides name unknown FeatureParams fields: {unknown}")
    return FeatureParams.model_validate({**store.params.features.model_dump(), **update})


def protocol_pairs(
    start_day: str | pd.Timestamp,
    end_day: str | pd.Timestamp,
    protocol: Protocol,
    params: MLParams,
    fparams: FeatureParams,
) -> pd.DataFrame:
    """(origin, target_time) pairs of ``protocol`` for Paris days ``start_day``..``end_day``.

    Day-ahead: target days in the range, origin at ``origin_hour_local`` the day before.
    Rolling-24h: origins every ``backtest.rolling_origin_every`` from ``start_day`` 00:00 Paris
    to the end of ``end_day``, each with the next ``rolling_horizon_h`` hours. Intraday: the
    loop's re-issues (``ml.intraday``: an origin every 3 h, targets to the end of D).
    """
    if protocol == "day-ahead":
        return day_ahead_pairs(start_day, end_day, params.step, fparams.origin_hour_local)
    if protocol == "intraday":
        every, next_day = params.intraday.every_h, params.intraday.next_day_from_h
        return intraday_pairs(start_day, end_day, params.step, every, next_day)
    if protocol == "rolling-24h":
        first = to_utc(pd.Timestamp(start_day).normalize())
        last = to_utc(pd.Timestamp(end_day).normalize() + pd.Timedelta(days=1))
        origins = pd.date_range(
            first.tz_convert(PARIS),
            last.tz_convert(PARIS),
            freq=params.backtest.rolling_origin_every,
            inclusive="left",
        ).tz_convert("UTC")
        return rolling_pairs(origins, params.backtest.rolling_horizon_h, params.step)
    raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")


def load_span(store: Store) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last stamps of measured national consumption, or a :class:`ModelError`."""
    s = store.series(DATASET, VARIABLE, AREA).dropna()
    if s.empty:
        raise ModelError(
            f"no data: {DATASET}/{VARIABLE} (area {AREA}) is empty in the store {store.root}"
        )
    idx = pd.DatetimeIndex(s.index)
    return idx.min(), idx.max()


def default_train_start(store: Store, fparams: FeatureParams) -> pd.Timestamp:
    """First Paris day whose targets have the full load look-back (lags, rolling windows)."""
    first, _ = load_span(store)
    ready = (first + lookback(fparams, pd.Timedelta(fparams.step))).tz_convert(PARIS)
    return ready.tz_localize(None).normalize() + pd.Timedelta(days=1)


def make_xy(
    store: Store,
    pairs: pd.DataFrame,
    params: MLParams,
    weather: WeatherMode = "auto",
    *,
    groups: list[str] | None = None,
    drop_missing_target: bool = True,
) -> tuple[pd.DataFrame, pd.Series, FeatureFrame]:
    """Features and label for ``pairs``, indexed by (origin, target_time).

    ``groups``: the feature groups to use (a trained model's); every one must have data here,
    else :class:`ModelError` naming them. ``None`` uses every group available in the table.
    Rows whose target is unknown are dropped (and counted in the log) unless
    ``drop_missing_target=False`` (backtests keep them: their ``actual`` is NaN).
    """
    if pairs.empty:
        raise ModelError("no data: no (origin, target_time) pairs were asked for")
    fparams = feature_params(store, params)
    ft = build_feature_table(store, pairs, fparams, weather=weather)
    targets = pd.DatetimeIndex(ft.frame.index.get_level_values("target_time"))
    y = pd.Series(
        load_target(store, targets, params.step).to_numpy(dtype=float),
        index=ft.frame.index,
        name="load_mw",
    )
    X, y = select_groups(ft, y, groups, drop_missing_target=drop_missing_target)
    return X, y, ft


def select_groups(
    ft: FeatureFrame,
    y: pd.Series,
    groups: list[str] | None = None,
    *,
    drop_missing_target: bool = True,
) -> tuple[pd.DataFrame, pd.Series]:
    """The columns of ``groups`` (default: those with data) and the label, checked (see make_xy)."""
    targets = pd.DatetimeIndex(ft.frame.index.get_level_values("target_time"))
    period = f"{targets.min().isoformat()} .. {targets.max().isoformat()}"
    if "load" not in ft.available_groups:
        raise ModelError(
            f"no data: no {DATASET}/{VARIABLE} history before the origins of targets {period}"
        )
    wanted = list(groups) if groups is not None else list(ft.available_groups)
    missing = [g for g in wanted if g not in ft.available_groups]
    if missing:
        cols = ft.columns_of(*missing)
        raise ModelError(
            f"feature group(s) {missing} used in training have no data for targets {period} "
            f"(columns {cols}; weather source here: {ft.weather_source})"
        )
    X = ft.frame[ft.columns_of(*wanted)]
    y = pd.Series(y.to_numpy(dtype=float), index=X.index, name="load_mw")
    n_missing = int(y.isna().sum())
    if drop_missing_target and n_missing:
        log.warning("dropping %d of %d rows with no target value (%s)", n_missing, len(y), period)
        keep = y.notna().to_numpy()
        X, y = X[keep], y[keep]
        if y.empty:
            raise ModelError(f"no data: no {DATASET}/{VARIABLE} values for targets {period}")
    log.info(
        "dataset: %d rows x %d features, groups %s, weather %s",
        len(X),
        X.shape[1],
        wanted,
        ft.weather_source,
    )
    return X, y


def check_history(y: pd.Series, min_days: float, what: str = "training") -> None:
    """Refuse a training set spanning fewer than ``min_days`` days of targets."""
    if y.empty:
        raise ModelError(f"too little history for {what}: no rows (need {min_days:g} days)")
    t = pd.DatetimeIndex(y.index.get_level_values("target_time"))
    span = float((t.max() - t.min()) / pd.Timedelta(days=1))
    if span < min_days:
        raise ModelError(
            f"too little history for {what}: targets span {span:.1f} days "
            f"({t.min().isoformat()} .. {t.max().isoformat()}), need {min_days:g}"
        )


def horizons(X: pd.DataFrame) -> np.ndarray:
    """Horizon in hours of each row, from the index (not the ``horizon_h`` feature column)."""
    o = pd.DatetimeIndex(X.index.get_level_values("origin"))
    t = pd.DatetimeIndex(X.index.get_level_values("target_time"))
    return np.asarray((t - o) / pd.Timedelta(hours=1), dtype=float)
