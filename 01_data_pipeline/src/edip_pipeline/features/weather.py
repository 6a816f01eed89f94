"""Temperature and weather features at the target times.

French load is strongly thermosensitive in winter (electric heating: roughly 2 GW per °C below
~15 °C), so the temperature *forecast* for the target hour is the single most useful exogenous
input; buildings respond with inertia, hence exponentially smoothed temperatures.

Sources and modes (one choice per feature table, recorded in ``FeatureFrame.weather_source``)
-------------------------------------------------------------------------------------------
* ``forecast``: only forecast datasets, in this order per hour:

  1. ``weather_previous_runs`` — the forecast *vintage known at the origin* (Open-Meteo
     previous-runs, row label ``"forecast-vintage"``, the honest one). ``<var>_previous_dayN`` at
     hour ``h`` was issued at about ``h − N × 24 h`` and is taken only if that issue time plus
     :data:`~.weather_sources.PREVIOUS_RUNS_LAG` (publication delay, an assumption) is at or
     before the earliest origin of every target that reads hour ``h``; the shortest such lead
     wins (:func:`~.weather_sources.previous_runs_hourly`). For the day-ahead origin D-1 12:00
     Paris this means ``_previous_day1`` for D 00:00–06:00 Paris (winter; 00:00–07:00 in
     summer: issued by D-1 ~11:00 local at the latest) and ``_previous_day2`` (issued during
     D-2) for the rest of D: a ``_previous_day1`` value for D 23:00 was issued ~D-1 23:00,
     after the origin.
  2. ``weather_historical_forecast`` then ``weather_forecast`` filling its holes — label
     ``"forecast"``: issued before the target but stitched from the freshest short-lead runs
     (lead ≈ 0–24 h), so kinder than what was known at the origin for D's evening.

* ``observed``: ``weather_observed`` hourly, else ``temperature_daily`` (daily tmean spread over the
  hours) — label ``"observed-as-forecast"``: observations stand in for a forecast, an optimistic
  assumption that the label makes explicit.
* ``auto``: forecast if it covers every target, else observed hourly, else daily; when none
  covers every target, the sources are stitched hour by hour in that order (forecast vintage >
  historical forecast > observed hourly > daily), labelled ``"observed-as-forecast"`` as soon
  as one observed hour is used.
  ``none`` or nothing usable — label ``"none"``, columns NaN.

Whatever the mode, each feature row records which source its target's weather came from
(:func:`row_sources`: ``forecast-vintage``, ``forecast``, ``observed``, ``observed-daily`` or
``none``), so reports can say which share of rows used an oracle.

All series are national: the weighted mean of the feature parameters' weather points
(``FeatureParams.weather_points``, :func:`~.weather_sources.national_wide`), or the stored ``FR``
rows where the dataset has no per-point value. Values at a target are linearly
interpolated between the surrounding hours (exact on the hourly grid); smoothed temperatures use
the last hour at or before the target only (causal).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from edip_pipeline.config import FeatureParams
from edip_pipeline.features.weather_sources import (
    DAILY_DATASET,
    FORECAST_DATASETS,
    HOUR,
    OBSERVED_DATASETS,
    PREVIOUS_RUNS_DATASET,
    TEMPERATURE,
    WEATHER_VARIABLES,
    day_ahead_origins,
    hourly_grid,
    origin_bounds,
    points_of,
    previous_runs_hourly,
    read_daily_hourly,
    read_hourly,
)
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

WeatherMode = Literal["auto", "forecast", "observed", "none"]
WeatherSource = Literal["forecast", "observed-as-forecast", "none"]

#: weights below this fraction of the first one are dropped from the smoothing kernel
EWM_TOLERANCE = 1e-3
#: a smoothed value needs at least this share of its kernel's weight to be non-NaN
EWM_MIN_WEIGHT = 0.5


def ewm_name(alpha: float) -> str:
    """Column of the smoothed temperature for ``alpha`` (0.05 → ``temperature_ewm_0p05``)."""
    return "temperature_ewm_" + f"{alpha:g}".replace(".", "p").replace("-", "m")


def temperature_feature_names(params: FeatureParams) -> list[str]:
    return [
        "temperature_c",
        *[ewm_name(a) for a in params.temperature_smoothing_alphas],
        "heating_degrees",
        "cooling_degrees",
    ]


def weather_feature_names() -> list[str]:
    return list(WEATHER_VARIABLES)


def ewm_kernel_length(alpha: float, tol: float = EWM_TOLERANCE) -> int:
    """Number of hourly weights kept: ``(1 − α)^L >= tol``."""
    if not 0.0 < alpha <= 1.0:
        raise ValueError(f"smoothing alpha must be in (0, 1], got {alpha}")
    if alpha == 1.0:
        return 1
    return math.floor(math.log(tol) / math.log(1.0 - alpha)) + 1


def causal_exp_smooth(
    values: np.ndarray, alpha: float, min_weight: float = EWM_MIN_WEIGHT
) -> np.ndarray:
    """Exponentially weighted mean of an hourly series up to and including each hour.

    ``s_t = Σ_j α(1−α)^j x_{t−j} / Σ_j α(1−α)^j`` over the available (non-NaN) ``x`` in a window
    truncated at :func:`ewm_kernel_length`. Unlike a recursive EWM, the value depends only on the
    window, not on where the series happens to start, so a batch build and a single-origin build
    agree; NaN holes are skipped (renormalised) and the value is NaN if less than ``min_weight``
    of the kernel's weight is available (e.g. no history before a short forecast).
    """
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n == 0:
        return x.copy()
    length = ewm_kernel_length(alpha)
    w = alpha * (1.0 - alpha) ** np.arange(length)
    valid = ~np.isnan(x)
    num = np.convolve(np.where(valid, x, 0.0), w)[:n]
    den = np.convolve(valid.astype(float), w)[:n]
    out = np.full(n, np.nan)
    ok = den >= min_weight * w.sum()
    out[ok] = num[ok] / den[ok]
    return out


def heating_degrees(temperature: np.ndarray, base_c: float) -> np.ndarray:
    """``max(0, base − T)``: heating demand grows linearly below the base (NaN stays NaN)."""
    t = np.asarray(temperature, dtype=float)
    return np.where(np.isnan(t), np.nan, np.maximum(0.0, base_c - t))


def cooling_degrees(temperature: np.ndarray, base_c: float) -> np.ndarray:
    """``max(0, T − base)``: air-conditioning demand above the base (NaN stays NaN)."""
    t = np.asarray(temperature, dtype=float)
    return np.where(np.isnan(t), np.nan, np.maximum(0.0, t - base_c))


#: per-row weather labels: what stood for the weather at a row's target time
ROW_FORECAST, ROW_OBSERVED, ROW_DAILY, ROW_NONE = "forecast", "observed", "observed-daily", "none"
#: the forecast vintage known at the origin (previous-runs)
ROW_VINTAGE = "forecast-vintage"


@dataclass
class WeatherChoice:
    """The hourly weather series chosen for a feature table.

    ``labels``: per hour of ``hourly``, which source gave it (``ROW_*``; empty for ``none``).
    """

    source: WeatherSource
    description: str
    hourly: pd.DataFrame  # hourly UTC grid x [TEMPERATURE, *WEATHER_VARIABLES]
    coverage: float
    labels: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))


def row_sources(choice: WeatherChoice, targets: pd.DatetimeIndex) -> np.ndarray:
    """Per target: the label of the source its temperature came from, ``none`` without one."""
    out = np.full(len(targets), ROW_NONE, dtype=object)
    if choice.source == "none" or choice.hourly.empty or not len(choice.labels):
        return out
    grid = pd.DatetimeIndex(choice.hourly.index)
    t = _at_targets(
        choice.hourly[TEMPERATURE].to_numpy(dtype=float), grid, targets, interpolate=True
    )
    pos = (targets.as_unit("ns").asi8 - grid[0].value) // HOUR.value
    inside = (pos >= 0) & (pos < len(grid)) & ~np.isnan(t)
    out[inside] = choice.labels[pos[inside]]
    return out


def _stitch(choices: list[tuple[WeatherChoice, str]], grid: pd.DatetimeIndex) -> WeatherChoice:
    """Per hour, the first choice with a temperature (forecast > observed hourly > daily)."""
    hourly = pd.DataFrame(np.nan, index=grid, columns=[TEMPERATURE, *WEATHER_VARIABLES])
    labels = np.full(len(grid), ROW_NONE, dtype=object)
    used: list[str] = []
    for choice, label in choices:
        take = hourly[TEMPERATURE].isna().to_numpy() & choice.hourly[TEMPERATURE].notna().to_numpy()
        if take.any():
            hourly.loc[take] = choice.hourly.loc[take, hourly.columns].to_numpy()
            labels[take] = label
            used.append(f"{label} {take.mean():.0%}")
    source: WeatherSource = (
        "forecast"
        if set(labels) <= {ROW_VINTAGE, ROW_FORECAST, ROW_NONE}
        else "observed-as-forecast"
    )
    return WeatherChoice(source, "stitched: " + ", ".join(used), hourly, 0.0, labels)


def _at_targets(
    hourly: pd.Series | np.ndarray,
    grid: pd.DatetimeIndex,
    targets: pd.DatetimeIndex,
    *,
    interpolate: bool,
) -> np.ndarray:
    """Values at targets: linear between surrounding hours, or the last hour at/before (causal)."""
    v = np.asarray(hourly, dtype=float)
    t = targets.as_unit("ns").asi8
    rel = t - grid[0].value
    p = rel // HOUR.value
    frac = (rel % HOUR.value) / HOUR.value
    out = np.full(len(t), np.nan)
    inside = (p >= 0) & (p < len(v))
    pi = p[inside]
    base = v[pi]
    if interpolate:
        nxt = v[np.minimum(pi + 1, len(v) - 1)]
        f = frac[inside]
        base = np.where(f == 0, base, (1 - f) * base + f * nxt)
    out[inside] = base
    return out


def spinup(params: FeatureParams) -> pd.Timedelta:
    """History needed before the first target for the smoothed temperatures."""
    lengths = [ewm_kernel_length(a) for a in params.temperature_smoothing_alphas] or [1]
    return HOUR * max(lengths)


def choose_weather(
    store: Store,
    targets: pd.DatetimeIndex,
    params: FeatureParams,
    mode: WeatherMode = "auto",
    *,
    origins: pd.DatetimeIndex | None = None,
) -> WeatherChoice:
    """Pick the weather source for ``targets`` following ``mode`` (see module doc).

    ``origins``: per target, the earliest origin that forecasts it (decides which forecast
    vintage was known); default: the day-ahead origin (:func:`~.weather_sources.day_ahead_origins`).
    """
    if mode not in ("auto", "forecast", "observed", "none"):
        raise ValueError(f"weather mode must be auto, forecast, observed or none, got {mode!r}")
    empty_grid = pd.DatetimeIndex([], tz="UTC").as_unit("ns")
    none = WeatherChoice("none", "no weather", pd.DataFrame(index=empty_grid), 0.0)
    if mode == "none" or not len(targets):
        return none
    grid = hourly_grid(targets.min() - spinup(params), targets.max() + HOUR)
    best = none
    partial: list[tuple[WeatherChoice, str]] = []
    for source, description in _candidates(mode):
        choice = _read_candidate(store, source, description, grid, targets, params, origins)
        if choice.coverage >= 1.0 and not partial:
            log.info("weather: %s (%s), full coverage", source, description)
            return choice
        if choice.coverage > 0:
            partial.append((choice, _row_label(source, description)))
        if choice.coverage > best.coverage:
            best = choice
        if choice.coverage >= 1.0:
            break  # a better-ranked source covers part: stitch it over this one
    if mode in ("auto", "forecast") and len(partial) > 1:
        stitched = _stitch(partial, grid)
        stitched.coverage = _coverage(stitched.hourly, grid, targets)
        if stitched.coverage >= best.coverage:
            log.info(
                "weather: %s (%s), %.1f%% covered",
                stitched.source,
                stitched.description,
                100 * stitched.coverage,
            )
            return stitched
    if best.source != "none":
        log.warning(
            "weather: no source covers every target; using %s (%s), %.1f%% covered",
            best.source,
            best.description,
            100 * best.coverage,
        )
    else:
        log.info("weather: none available (mode %s)", mode)
    return best


def _candidates(mode: WeatherMode) -> list[tuple[WeatherSource, str]]:
    """The sources ``mode`` allows, best first: vintage > forecast > observed hourly > daily."""
    candidates: list[tuple[WeatherSource, str]] = []
    if mode in ("auto", "forecast"):
        candidates.append(("forecast", "vintage:" + PREVIOUS_RUNS_DATASET))
        candidates.append(("forecast", "hourly:" + "+".join(FORECAST_DATASETS)))
    if mode in ("auto", "observed"):
        candidates.append(("observed-as-forecast", "hourly:" + "+".join(OBSERVED_DATASETS)))
        candidates.append(("observed-as-forecast", "daily:" + DAILY_DATASET))
    return candidates


def _row_label(source: WeatherSource, description: str) -> str:
    """The per-row label (``ROW_*``) of a candidate of :func:`_candidates`."""
    if description.startswith("vintage:"):
        return ROW_VINTAGE
    if source == "forecast":
        return ROW_FORECAST
    return ROW_OBSERVED if description.startswith("hourly") else ROW_DAILY


def _read_candidate(
    store: Store,
    source: WeatherSource,
    description: str,
    grid: pd.DatetimeIndex,
    targets: pd.DatetimeIndex,
    params: FeatureParams,
    origins: pd.DatetimeIndex | None,
) -> WeatherChoice:
    """One candidate on ``grid``, with its coverage of ``targets`` and its per-hour labels."""
    if description.startswith("vintage:"):
        if origins is None:
            origins = day_ahead_origins(targets, params)
        elif len(origins) != len(targets):
            raise ValueError("origins must have one entry per target")
        bounds = origin_bounds(grid, targets, origins)
        hourly = previous_runs_hourly(store, grid, bounds, points_of(params))
    elif description.startswith("hourly:"):
        datasets = FORECAST_DATASETS if source == "forecast" else OBSERVED_DATASETS
        hourly = read_hourly(store, datasets, grid, points_of(params))
    else:
        hourly = read_daily_hourly(store, grid)
    label = _row_label(source, description)
    labels = np.where(hourly[TEMPERATURE].notna().to_numpy(), label, ROW_NONE).astype(object)
    return WeatherChoice(source, description, hourly, _coverage(hourly, grid, targets), labels)


def _coverage(hourly: pd.DataFrame, grid: pd.DatetimeIndex, targets: pd.DatetimeIndex) -> float:
    """Share of ``targets`` with a temperature."""
    at = _at_targets(hourly[TEMPERATURE].to_numpy(), grid, targets, interpolate=True)
    return float(np.mean(~np.isnan(at)))


def weather_features(
    choice: WeatherChoice, targets: pd.DatetimeIndex, params: FeatureParams
) -> pd.DataFrame:
    """Temperature and weather columns at ``targets`` (NaN when the source has no value).

    * ``temperature_c``: temperature at the target; ``temperature_ewm_*``: causal smoothed
      temperature (:func:`causal_exp_smooth`) at the last hour at or before the target.
    * ``heating_degrees``/``cooling_degrees``: ``max(0, heating_base_c − T)`` and
      ``max(0, T − cooling_base_c)`` on ``temperature_c``.
    * :data:`WEATHER_VARIABLES` at the target, under their store names.
    """
    names = temperature_feature_names(params) + weather_feature_names()
    out = pd.DataFrame(np.nan, index=pd.RangeIndex(len(targets)), columns=names)
    if choice.source == "none" or choice.hourly.empty:
        return out
    grid = pd.DatetimeIndex(choice.hourly.index)
    temp = choice.hourly[TEMPERATURE].to_numpy(dtype=float)
    t_at = _at_targets(temp, grid, targets, interpolate=True)
    out["temperature_c"] = t_at
    for alpha in params.temperature_smoothing_alphas:
        smooth = causal_exp_smooth(temp, alpha)
        out[ewm_name(alpha)] = _at_targets(smooth, grid, targets, interpolate=False)
    out["heating_degrees"] = heating_degrees(t_at, params.heating_base_c)
    out["cooling_degrees"] = cooling_degrees(t_at, params.cooling_base_c)
    for var in WEATHER_VARIABLES:
        if var in choice.hourly:
            out[var] = _at_targets(
                choice.hourly[var].to_numpy(dtype=float), grid, targets, interpolate=True
            )
    return out
