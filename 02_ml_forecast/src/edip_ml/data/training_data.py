"""Training data built once: the feature table, its label and where they came from.

Why one value object: tuning, backtests, the final fit, promotion and the DL trainers all need the
same (features, label) rows. :func:`load_training_data` reads them once — from the table
``edip features`` wrote to ``data/processed`` when it is current (same data version, same feature
parameters, same weather mode, covering the days asked for), else by building it in memory — and
every consumer slices the same :class:`TrainingData` by Paris day.

Weather and training years (a documented choice, never an accident): when the table has weather
for only part of its span, the default training start is the first day with a temperature
(:meth:`TrainingData.default_train_start`), so weather-less years are not silently mixed with
weather years. An explicit ``train_start`` may mix them; the share of training rows with weather
is then logged and recorded (:meth:`TrainingData.weather_share`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edip_ml.data.dataset import feature_params as ml_feature_params
from edip_ml.data.dataset import load_span, protocol_pairs, select_groups
from edip_ml.data.evaluation_window import default_train_end, last_complete_day
from edip_ml.models.base import ModelError
from edip_pipeline.calendar import PARIS, paris_day
from edip_pipeline.config import FeatureParams
from edip_pipeline.features import FeatureFrame, build_feature_table, load_target
from edip_pipeline.features.builder import read_feature_table
from edip_pipeline.features.load import first_ready_day

if TYPE_CHECKING:
    from edip_ml.config import MLParams, Protocol
    from edip_pipeline.features import WeatherMode
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: feature-table names written by ``edip features`` per protocol
TABLE_NAMES = {"day-ahead": "features_day_ahead"}
#: FeatureParams fields that choose the range of a table, not its content
RANGE_FIELDS = frozenset({"start", "end"})
TEMPERATURE_COLUMN = "temperature_c"


def definition(params: FeatureParams | dict[str, Any]) -> dict[str, Any]:
    """What makes two feature tables interchangeable: their params less the range fields."""
    raw = params.model_dump(mode="json") if isinstance(params, FeatureParams) else dict(params)
    return {k: v for k, v in raw.items() if k not in RANGE_FIELDS}


def day_keys(index: pd.Index, protocol: Protocol) -> pd.DatetimeIndex:
    """Paris day of each row: target day (day-ahead) or origin day (rolling-24h)."""
    level = "target_time" if protocol == "day-ahead" else "origin"
    t = pd.DatetimeIndex(index.get_level_values(level)).tz_convert(PARIS)
    return pd.DatetimeIndex(t.tz_localize(None).normalize())


@dataclass(frozen=True)
class TrainingData:
    """Features and label of every row of one protocol over a span of Paris days."""

    params: MLParams
    feature_params: FeatureParams
    protocol: Protocol
    weather: WeatherMode
    features: FeatureFrame
    target: pd.Series  # label at each row (NaN where the load is unknown), same index
    data_version: str
    origin: str  # "data/processed/<table>.parquet" or "built in memory"
    load_first: pd.Timestamp
    load_last: pd.Timestamp

    @property
    def keys(self) -> pd.DatetimeIndex:
        return day_keys(self.features.frame.index, self.protocol)

    @property
    def first_day(self) -> pd.Timestamp:
        return self.keys.min()

    @property
    def last_day(self) -> pd.Timestamp:
        return self.keys.max()

    def matches(self, params: MLParams, weather: WeatherMode, protocol: Protocol) -> bool:
        """Whether this data stands for what ``params``/``weather``/``protocol`` would build."""
        fp = FeatureParams.model_validate(
            {**self.feature_params.model_dump(), **_ml_update(params)}
        )
        return (
            protocol == self.protocol
            and weather == self.weather
            and definition(fp) == definition(self.feature_params)
        )

    def load_ready_day(self) -> pd.Timestamp:
        """First Paris day whose targets have the full load look-back (lags, rolling windows)."""
        return first_ready_day(self.load_first, self.feature_params)

    def weather_start(self) -> pd.Timestamp | None:
        """First Paris day with a temperature in the table (None: no weather at all)."""
        temp = self.features.frame[TEMPERATURE_COLUMN].to_numpy()
        has = ~np.isnan(temp)
        return self.keys[has].min() if has.any() else None

    def default_train_start(self) -> pd.Timestamp:
        """The load-ready day, or the first day with weather when the table has some (module doc)."""
        ready = self.load_ready_day()
        start = self.weather_start()
        if start is not None and start > ready:
            log.info(
                "training starts %s, the first day with weather (load from %s): weather-less "
                "years are not mixed in (set --train-start to include them)",
                start.date(),
                ready.date(),
            )
            return start
        return ready

    def last_complete_day(self) -> pd.Timestamp:
        """The last Paris day whose every half-hour of load is stored."""
        return last_complete_day(self.load_last)

    def weather_share(self, X: pd.DataFrame) -> float:
        """Share of the rows of ``X`` with a temperature (0 when the column is not used)."""
        if TEMPERATURE_COLUMN not in X or not len(X):
            return 0.0
        return float(X[TEMPERATURE_COLUMN].notna().mean())

    def rows(self, start_day: pd.Timestamp | None, end_day: pd.Timestamp | None) -> FeatureFrame:
        """The table's rows of Paris days ``start_day``..``end_day`` (inclusive)."""
        keys = self.keys
        keep = np.ones(len(keys), dtype=bool)
        if start_day is not None:
            keep &= np.asarray(keys >= paris_day(start_day))
        if end_day is not None:
            keep &= np.asarray(keys <= paris_day(end_day))
        frame = self.features.frame[keep]
        ft = self.features
        available = [g for g in ft.groups if len(frame) and frame[ft.groups[g]].notna().any().any()]
        rows = ft.row_weather[keep] if ft.row_weather is not None else None
        return replace(ft, frame=frame, available_groups=available, row_weather=rows)

    def xy(
        self,
        start_day: pd.Timestamp | str | None = None,
        end_day: pd.Timestamp | str | None = None,
        *,
        groups: list[str] | None = None,
        drop_missing_target: bool = True,
    ) -> tuple[pd.DataFrame, pd.Series, FeatureFrame]:
        """``(X, y, table)`` of Paris days ``start_day``..``end_day``, as :func:`make_xy` gives."""
        s = paris_day(start_day) if start_day is not None else None
        e = paris_day(end_day) if end_day is not None else None
        ft = self.rows(s, e)
        if ft.frame.empty:
            raise ModelError(
                f"no data: no feature rows between {s and s.date()} and {e and e.date()} "
                f"(table {self.first_day.date()} .. {self.last_day.date()})"
            )
        y = self.target.reindex(ft.frame.index)
        X, y = select_groups(ft, y, groups, drop_missing_target=drop_missing_target)
        share = self.weather_share(X)
        if 0.0 < share < 1.0:
            log.warning(
                "%.1f %% of the %d rows %s..%s have weather (%s): weather-less rows are mixed in",
                100 * share,
                len(X),
                s and s.date(),
                e and e.date(),
                ft.weather_source,
            )
        return X, y, ft


def _ml_update(params: MLParams) -> dict[str, Any]:
    return {"step": params.step, **params.feature_overrides}


def _stored_table(
    store: Store,
    protocol: Protocol,
    fparams: FeatureParams,
    weather: WeatherMode,
    first: pd.Timestamp,
    last: pd.Timestamp,
) -> FeatureFrame | None:
    """The table ``edip features`` wrote, when current and covering ``first``..``last``."""
    name = TABLE_NAMES.get(protocol)
    if name is None or not (store.processed_dir / f"{name}.parquet").is_file():
        return None
    try:
        ft = read_feature_table(store, name)
    except (OSError, ValueError, KeyError) as exc:
        log.warning("feature table %s unreadable (%s): rebuilding in memory", name, exc)
        return None
    why = None
    if ft.data_version != store.data_version():
        why = "the store changed since it was built"
    elif definition(ft.params) != definition(fparams):
        why = "the feature parameters changed"
    elif ft.weather_mode != weather:
        why = f"it was built with weather {ft.weather_mode!r}, not {weather!r}"
    else:
        keys = day_keys(ft.frame.index, protocol)
        if not len(keys) or keys.min() > first or keys.max() < last:
            why = f"it does not cover {first.date()} .. {last.date()}"
    if why:
        log.info("feature table %s not used: %s (rebuilt in memory)", name, why)
        return None
    log.info("features from %s (%d rows)", store.processed_dir / f"{name}.parquet", len(ft))
    return ft


def load_training_data(
    store: Store,
    params: MLParams,
    *,
    weather: WeatherMode | None = None,
    protocol: Protocol | None = None,
    feature_params: FeatureParams | None = None,
    first_day: pd.Timestamp | str | None = None,
    last_day: pd.Timestamp | str | None = None,
) -> TrainingData:
    """The training data of ``params`` over the stored load (or ``first_day``..``last_day``).

    ``feature_params`` (e.g. those a registered model recorded) replace the ones ``params`` and
    ``params.yaml`` give. Reads the ``edip features`` table when it is current, else builds the
    table once in memory.
    """
    weather = weather or params.backtest.weather
    protocol = protocol or params.protocol
    fparams = feature_params or ml_feature_params(store, params)
    load_first, load_last = load_span(store)
    probe = TrainingData(
        params,
        fparams,
        protocol,
        weather,
        FeatureFrame(pd.DataFrame(), {}, [], "none", []),
        pd.Series(dtype=float),
        store.data_version(),
        "",
        load_first,
        load_last,
    )
    first = paris_day(first_day) if first_day is not None else probe.load_ready_day()
    last = paris_day(last_day) if last_day is not None else probe.last_complete_day()
    if last < first:
        raise ModelError(
            f"too little history: load {load_first.isoformat()} .. {load_last.isoformat()} gives "
            f"no complete day with the full look-back"
        )
    ft, origin = _feature_table(store, params, fparams, protocol, weather, first, last)
    target = _target(store, ft, fparams.step)
    data = replace(probe, features=ft, target=target, origin=origin)
    log.info(
        "training data: %s rows, days %s .. %s, weather %s (%s), %s",
        len(ft),
        data.first_day.date() if len(ft) else "-",
        data.last_day.date() if len(ft) else "-",
        ft.weather_source,
        weather,
        origin,
    )
    return data


def _feature_table(
    store: Store,
    params: MLParams,
    fparams: FeatureParams,
    protocol: Protocol,
    weather: WeatherMode,
    first: pd.Timestamp,
    last: pd.Timestamp,
) -> tuple[FeatureFrame, str]:
    """The stored ``edip features`` table when current, else one built in memory; and where from."""
    ft = _stored_table(store, protocol, fparams, weather, first, last)
    if ft is not None:
        return ft, f"{store.processed_dir}/{TABLE_NAMES.get(protocol)}.parquet"
    pairs = protocol_pairs(first, last, protocol, params, fparams)
    return build_feature_table(store, pairs, fparams, weather=weather), "built in memory"


def _target(store: Store, ft: FeatureFrame, step: str | pd.Timedelta) -> pd.Series:
    """The load at each row's target (``load_mw``, NaN where not stored), on the table's index."""
    targets = pd.DatetimeIndex(ft.frame.index.get_level_values("target_time"))
    return pd.Series(
        load_target(store, targets, step).to_numpy(dtype=float),
        index=ft.frame.index,
        name="load_mw",
    )


def ensure_training_data(
    data: TrainingData | None,
    store: Store,
    params: MLParams,
    weather: WeatherMode,
    protocol: Protocol,
) -> TrainingData:
    """``data`` when it stands for ``params``/``weather``/``protocol``, else a fresh load."""
    if data is not None and data.matches(params, weather, protocol):
        return data
    return load_training_data(store, params, weather=weather, protocol=protocol)


def training_period(
    data: TrainingData, start: str | None, end: str | None
) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Target days (Paris, inclusive) to train on; by default all the stored load supports
    (from the first day with weather when the table has weather: see :mod:`edip_ml.data.training_data`)
    up to the evaluation window ``ml.promotion.eval_window_days``, held out so that ``edip
    promote`` judges on days the model never saw (:mod:`edip_ml.data.evaluation_window`).
    """
    bt = data.params.backtest
    if start:
        start_day = paris_day(start)
    elif bt.train_start:
        start_day = paris_day(bt.train_start)
    else:
        start_day = data.default_train_start()
    if end:
        end_day = paris_day(end)
    else:
        days = data.params.promotion.eval_window_days
        end_day = default_train_end(data.last_complete_day(), days)
    if end_day < start_day:
        raise ValueError(f"empty training period: {start_day.date()} .. {end_day.date()}")
    return start_day, end_day


@dataclass
class TrainingTable:
    """Training rows (protocol of ``params``): features, target, weather source, groups."""

    X: pd.DataFrame
    y: pd.Series
    weather_source: str = "none"
    groups: list[str] = field(default_factory=list)
    weather_share: float = 0.0


def make_training_table(
    data: TrainingData, start_day: pd.Timestamp, end_day: pd.Timestamp
) -> TrainingTable:
    """The training rows of ``start_day``..``end_day`` from the data built once."""
    X, y, ft = data.xy(start_day, end_day)
    share = data.weather_share(X)
    log.info("training rows: %d, %.1f %% with weather (%s)", len(X), 100 * share, ft.weather_source)
    return TrainingTable(
        X=X,
        y=y,
        weather_source=ft.weather_source,
        groups=list(ft.available_groups),
        weather_share=share,
    )
