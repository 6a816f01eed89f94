"""The feature builder: (store, origins, targets) → one float feature row per (origin, target).

One code path for training, backtests and serving: :func:`build_features` (one origin) is
:func:`build_feature_table` (many origins) called with a single origin, so a model is served the
exact features it was trained on. The build is vectorised: the store is read once per dataset
for the whole batch and every per-row value is an index lookup into a regular UTC grid.

Leak-freeness is structural (see :mod:`edip_pipeline.features.load`): load is read only up to the
last origin and each row can only look up buckets complete at its own origin; weather is read at
target times from *forecast* datasets (or observations explicitly labelled
``"observed-as-forecast"``); calendar and holiday features are known in advance.

Feature columns are stable for given :class:`~edip_pipeline.config.FeatureParams`: a group whose
data is absent keeps its columns, filled with NaN, and is left out of ``available_groups``.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from edip_pipeline.atomic import atomic_write_parquet, atomic_write_text
from edip_pipeline.calendar import as_utc_index, step_timedelta
from edip_pipeline.config import FeatureParams
from edip_pipeline.features.calendar import CALENDAR_FEATURES, calendar_features
from edip_pipeline.features.holidays import HOLIDAY_FEATURES, holiday_features
from edip_pipeline.features.load import (
    load_feature_names,
    load_features,
    lookback,
    read_load_history,
)
from edip_pipeline.features.rte import RTE_FEATURE, rte_forecast_at
from edip_pipeline.features.weather import (
    WeatherChoice,
    WeatherMode,
    choose_weather,
    row_sources,
    temperature_feature_names,
    weather_feature_names,
    weather_features,
)
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

GROUPS: tuple[str, ...] = ("calendar", "holidays", "load", "temperature", "weather", "rte")
INDEX: list[str] = ["origin", "target_time"]
#: parquet column of the per-row weather label (not a feature)
WEATHER_ROW = "weather_row_source"


def feature_groups(params: FeatureParams) -> dict[str, list[str]]:
    """Feature group → column names, in frame order; depends on ``params`` only."""
    return {
        "calendar": list(CALENDAR_FEATURES),
        "holidays": list(HOLIDAY_FEATURES),
        "load": load_feature_names(params),
        "temperature": temperature_feature_names(params),
        "weather": weather_feature_names(),
        "rte": [RTE_FEATURE] if params.rte_forecast != "none" else [],
    }


def feature_names(params: FeatureParams) -> list[str]:
    """All feature columns in their stable order."""
    return [c for g in GROUPS for c in feature_groups(params)[g]]


@dataclass
class FeatureFrame:
    """A feature table and what it is made of.

    Attributes
    ----------
    frame
        One row per (origin, target_time) pair, indexed by that ``MultiIndex`` (both UTC,
        sorted), columns :attr:`feature_names`, all float64 (NaN where a value is unavailable).
    groups
        Group name → its columns (``calendar``, ``holidays``, ``load``, ``temperature``,
        ``weather``, ``rte``); always all six, so the columns do not depend on what data exists
        (``rte`` is empty unless ``params.rte_forecast`` names a source).
    available_groups
        Groups with at least one non-NaN value in this table.
    weather_source
        ``"forecast"``, ``"observed-as-forecast"`` (observations standing in for a forecast:
        optimistic) or ``"none"``.
    feature_names
        Column order of :attr:`frame`.
    origin
        The origin of a single-origin build, else ``None``.
    step
        Target grid step (``"1h"``, ``"30min"``).
    params
        The :class:`FeatureParams` used, as a dict (provenance).
    data_version
        ``store.data_version()`` at build time.
    row_weather
        Per row, which source its target's weather came from (``forecast-vintage``: the
        forecast known at the origin; ``forecast``: stitched short-lead forecasts; ``observed``,
        ``observed-daily``: oracles in a backtest; ``none``).
    weather_mode
        The mode asked for (``auto``, ``forecast``, ``observed``, ``none``): with ``params`` and
        ``data_version`` it says whether a stored table can stand for a new build.
    """

    frame: pd.DataFrame
    groups: dict[str, list[str]]
    available_groups: list[str]
    weather_source: str
    feature_names: list[str]
    origin: pd.Timestamp | None = None
    step: str = "1h"
    params: dict[str, Any] = field(default_factory=dict)
    data_version: str | None = None
    weather_mode: str = "auto"
    row_weather: pd.Series | None = None

    def __len__(self) -> int:
        return len(self.frame)

    def weather_shares(self, mask: np.ndarray | None = None) -> dict[str, float]:
        """Share of rows (of ``mask``) per weather label of :func:`~.weather.row_sources`."""
        if self.row_weather is None:
            return {}
        rows = self.row_weather if mask is None else self.row_weather[mask]
        if not len(rows):
            return {}
        return {str(k): round(float(v), 4) for k, v in rows.value_counts(normalize=True).items()}

    def columns_of(self, *groups: str) -> list[str]:
        """Columns of the given groups (all if none), in frame order."""
        wanted = groups or GROUPS
        return [c for g in GROUPS if g in wanted for c in self.groups[g]]

    def metadata(self) -> dict[str, Any]:
        """JSON-serialisable description (the sidecar of :func:`write_feature_table`)."""
        return {
            "groups": self.groups,
            "available_groups": self.available_groups,
            "weather_source": self.weather_source,
            "feature_names": self.feature_names,
            "origin": self.origin.isoformat() if self.origin is not None else None,
            "step": self.step,
            "params": self.params,
            "data_version": self.data_version,
            "weather_mode": self.weather_mode,
            "weather_shares": self.weather_shares(),
            "rows": len(self.frame),
        }


def _normalise_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in INDEX if c not in pairs.columns]
    if missing:
        raise ValueError(f"pairs lack columns {missing} (need origin, target_time)")
    out = pd.DataFrame(
        {"origin": as_utc_index(pairs["origin"]), "target_time": as_utc_index(pairs["target_time"])}
    )
    if out.isna().any().any():
        raise ValueError("pairs contain NaT")
    out = out.drop_duplicates().sort_values(INDEX, kind="mergesort").reset_index(drop=True)
    return out


def build_feature_table(
    store: Store,
    pairs: pd.DataFrame,
    params: FeatureParams | None = None,
    *,
    weather: WeatherMode = "auto",
) -> FeatureFrame:
    """Features for every (origin, target_time) row of ``pairs`` (see the module doc).

    ``pairs`` comes from :func:`~edip_pipeline.features.calendar.day_ahead_pairs`,
    :func:`~edip_pipeline.features.calendar.rolling_pairs` or any frame with time-zone aware
    ``origin``/``target_time`` columns. Targets must lie on the ``params.step`` UTC grid, start at
    or after their origin, and be at most ``params.horizon_h`` hours ahead. Duplicate pairs are
    dropped and rows sorted by (origin, target_time).
    """
    t_start = time.perf_counter()
    params = params or store.params.features
    step = step_timedelta(params.step)
    p = _normalise_pairs(pairs)
    origins = pd.DatetimeIndex(p["origin"])
    targets = pd.DatetimeIndex(p["target_time"])
    groups = feature_groups(params)
    names = feature_names(params)
    # calendar, holidays and weather are computed per distinct target, then broadcast
    uniq_t, inv_t = np.unique(targets.asi8, return_inverse=True)
    uniq_targets = pd.DatetimeIndex(uniq_t.view("M8[ns]")).tz_localize("UTC")
    parts: dict[str, np.ndarray] = {"horizon_h": _horizons(origins, targets, params)}
    parts |= _calendar_parts(uniq_targets, inv_t, len(p))
    parts |= _load_parts(store, origins, targets, params, step, groups["load"])
    choice = _choose_weather(store, origins, uniq_targets, inv_t, params, weather)
    wx = weather_features(choice, uniq_targets, params)
    for c in groups["temperature"] + groups["weather"]:
        parts[c] = wx[c].to_numpy(dtype=float)[inv_t] if len(p) else np.array([], dtype=float)
    if groups["rte"]:  # known at 10:00 Paris on D-1 (features.rte): per (origin, target)
        parts[RTE_FEATURE] = rte_forecast_at(store, params.rte_forecast, targets, step, origins)

    index = pd.MultiIndex.from_arrays([origins, targets], names=INDEX)
    frame = pd.DataFrame({c: np.asarray(parts[c], dtype=float) for c in names}, index=index)
    available = [g for g in GROUPS if len(frame) and frame[groups[g]].notna().to_numpy().any()]
    weather_source = choice.source if {"temperature", "weather"} & set(available) else "none"
    ft = FeatureFrame(
        frame=frame,
        groups=groups,
        available_groups=available,
        weather_source=weather_source,
        feature_names=names,
        origin=None,
        step=params.step,
        params=params.model_dump(),
        data_version=store.data_version(),
        weather_mode=weather,
        row_weather=pd.Series(
            row_sources(choice, uniq_targets)[inv_t] if len(p) else np.array([], dtype=object),
            index=index,
            name=WEATHER_ROW,
        ),
    )
    _log_build(ft, origins, t_start)
    return ft


def _log_build(ft: FeatureFrame, origins: pd.DatetimeIndex, t_start: float) -> None:
    log.info(
        "features: %d rows x %d columns, %d origins, groups %s, weather %s, %.2fs",
        len(ft.frame),
        len(ft.feature_names),
        len(np.unique(origins.asi8)),
        ft.available_groups,
        ft.weather_source,
        time.perf_counter() - t_start,
    )


def _horizons(
    origins: pd.DatetimeIndex, targets: pd.DatetimeIndex, params: FeatureParams
) -> np.ndarray:
    """Hours from origin to target per row; refuses targets before their origin or too far."""
    if not len(origins):
        return np.array([], dtype=float)
    horizon = np.asarray((targets - origins) / pd.Timedelta(hours=1), dtype=float)
    if np.any(horizon < 0):
        raise ValueError("a target starts before its origin")
    if np.any(horizon > params.horizon_h):
        raise ValueError(
            f"horizon up to {horizon.max():g} h exceeds params.horizon_h={params.horizon_h}"
        )
    return horizon


def _calendar_parts(
    uniq_targets: pd.DatetimeIndex, inv_t: np.ndarray, rows: int
) -> dict[str, np.ndarray]:
    """Calendar and holiday columns (known in advance) per row."""
    cal = calendar_features(uniq_targets).to_numpy()[inv_t]
    hol = holiday_features(uniq_targets).to_numpy()[inv_t]
    parts: dict[str, np.ndarray] = {}
    for j, c in enumerate(CALENDAR_FEATURES[1:]):
        parts[c] = cal[:, j] if rows else np.array([], dtype=float)
    for j, c in enumerate(HOLIDAY_FEATURES):
        parts[c] = hol[:, j] if rows else np.array([], dtype=float)
    return parts


def _load_parts(
    store: Store,
    origins: pd.DatetimeIndex,
    targets: pd.DatetimeIndex,
    params: FeatureParams,
    step: pd.Timedelta,
    columns: list[str],
) -> dict[str, np.ndarray]:
    """Load columns: one read ending at the last origin, per-row cut-offs enforced by lookups."""
    if len(origins):
        history = read_load_history(
            store, origins.min() - lookback(params, step), origins.max(), step
        )
        load = load_features(history, origins, targets, params)
    else:
        load = pd.DataFrame({c: np.array([], dtype=float) for c in columns})
    return {c: load[c].to_numpy(dtype=float) for c in columns}


def _choose_weather(
    store: Store,
    origins: pd.DatetimeIndex,
    uniq_targets: pd.DatetimeIndex,
    inv_t: np.ndarray,
    params: FeatureParams,
    weather: WeatherMode,
) -> WeatherChoice:
    """The weather source at the distinct targets, each with its earliest origin.

    The earliest origin of a target decides which forecast vintage was known for it.
    """
    first_origin = np.full(len(uniq_targets), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_origin, inv_t, origins.as_unit("ns").asi8)
    return choose_weather(
        store,
        uniq_targets,
        params,
        weather,
        origins=pd.DatetimeIndex(first_origin.view("M8[ns]")).tz_localize("UTC"),
    )


def build_features(
    store: Store,
    origin: pd.Timestamp,
    targets: pd.DatetimeIndex,
    params: FeatureParams | None = None,
    *,
    weather: WeatherMode = "auto",
) -> FeatureFrame:
    """Features of one forecast issued at ``origin`` for ``targets`` (serving and backtests).

    Exactly :func:`build_feature_table` with a single origin: nothing after ``origin`` is read
    from the load history.
    """
    o = as_utc_index([pd.Timestamp(origin)])[0]
    idx = as_utc_index(targets)
    pairs = pd.DataFrame({"origin": pd.DatetimeIndex([o] * len(idx)), "target_time": idx})
    ft = build_feature_table(store, pairs, params, weather=weather)
    ft.origin = o
    return ft


def _paths(store: Store, name: str) -> tuple[Path, Path]:
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"invalid feature table name {name!r}")
    return store.processed_dir / f"{name}.parquet", store.processed_dir / f"{name}.json"


def write_feature_table(store: Store, ft: FeatureFrame, name: str) -> Path:
    """Write ``data/processed/<name>.parquet`` (atomic) and its ``<name>.json`` sidecar.

    The sidecar records groups, availability, weather source, params and the store's data version,
    so a model trained on the table can say exactly which data it saw. The parquet holds
    ``origin``/``target_time`` as columns followed by the features.
    """
    parquet, sidecar = _paths(store, name)
    table = ft.frame if ft.row_weather is None else ft.frame.assign(**{WEATHER_ROW: ft.row_weather})
    atomic_write_parquet(table.reset_index(), parquet)
    meta = ft.metadata()
    meta["written_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    atomic_write_text(sidecar, json.dumps(meta, indent=2, sort_keys=True, default=str))
    log.info("feature table %s: %d rows -> %s", name, len(ft.frame), parquet)
    return parquet


def read_feature_table(store: Store, name: str) -> FeatureFrame:
    """Read back a table written by :func:`write_feature_table`."""
    parquet, sidecar = _paths(store, name)
    meta: dict[str, Any] = json.loads(sidecar.read_text()) if sidecar.is_file() else {}
    table = pd.read_parquet(parquet)
    for c in INDEX:
        table[c] = as_utc_index(table[c])
    frame = table.set_index(INDEX)
    row_weather = frame[WEATHER_ROW].astype(object) if WEATHER_ROW in frame else None
    names: list[str] = meta.get("feature_names") or [c for c in frame.columns if c != WEATHER_ROW]
    frame = frame[names].astype(float)
    origin = meta.get("origin")
    return FeatureFrame(
        frame=frame,
        groups=meta.get("groups", {}),
        available_groups=meta.get("available_groups", []),
        weather_source=meta.get("weather_source", "none"),
        feature_names=names,
        origin=pd.Timestamp(origin) if origin else None,
        step=meta.get("step", "1h"),
        params=meta.get("params", {}),
        data_version=meta.get("data_version"),
        weather_mode=meta.get("weather_mode", "auto"),
        row_weather=row_weather,
    )
