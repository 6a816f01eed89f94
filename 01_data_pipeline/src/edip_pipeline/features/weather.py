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
     :data:`PREVIOUS_RUNS_LAG` (publication delay, an assumption) is at or before the earliest
     origin of every target that reads hour ``h``; the shortest such lead wins
     (:func:`previous_runs_hourly`). For the day-ahead origin D-1 12:00 Paris this means
     ``_previous_day1`` for D 00:00–06:00 Paris (winter; 00:00–07:00 in summer: issued by
     D-1 ~11:00 local at the latest) and ``_previous_day2`` (issued during D-2) for the rest of
     D: a ``_previous_day1`` value for D 23:00 was issued ~D-1 23:00, after the origin.
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

All series are national (area ``"FR"``, population-weighted). Values at a target are linearly
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

from edip_pipeline.calendar import PARIS
from edip_pipeline.config import FeatureParams
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

WeatherMode = Literal["auto", "forecast", "observed", "none"]
WeatherSource = Literal["forecast", "observed-as-forecast", "none"]

AREA = "FR"
TEMPERATURE = "temperature_2m_c"
#: non-temperature weather variables used as features, when the chosen source has them
WEATHER_VARIABLES: tuple[str, ...] = (
    "apparent_temperature_c",
    "relative_humidity_2m_pct",
    "cloud_cover_pct",
    "wind_speed_10m_kmh",
    "shortwave_radiation_wm2",
)
FORECAST_DATASETS = ("weather_historical_forecast", "weather_forecast")
#: Open-Meteo previous-runs: variables suffixed ``_previous_dayN`` (the forecast vintages)
PREVIOUS_RUNS_DATASET = "weather_previous_runs"
#: the live forecast runs stored in the same format (filling the archive's holes)
FORECAST_RUNS_DATASET = "weather_forecast_runs"
PREVIOUS_RUNS_LEADS: tuple[int, ...] = (1, 2)
#: assumed delay between a ``_previous_dayN`` value's nominal issue time (valid time − N x 24 h)
#: and its availability (a model run is published a few hours after its nominal time)
PREVIOUS_RUNS_LAG = pd.Timedelta(hours=6)
OBSERVED_DATASETS = ("weather_observed",)
DAILY_DATASET = "temperature_daily"
HOUR = pd.Timedelta(hours=1)
#: weights below this fraction of the first one are dropped from the smoothing kernel
EWM_TOLERANCE = 1e-3
#: a smoothed value needs at least this share of its kernel's weight to be non-NaN
EWM_MIN_WEIGHT = 0.5
#: hour of the (assumed cosine) daily temperature maximum, Paris time, for daily data
DIURNAL_PEAK_HOUR = 15.0


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


def hourly_grid(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Hourly UTC grid ``floor(start)``..``ceil(end)`` inclusive."""
    return pd.date_range(start.floor(HOUR), end.ceil(HOUR), freq=HOUR).as_unit("ns")


def read_hourly(store: Store, datasets: tuple[str, ...], grid: pd.DatetimeIndex) -> pd.DataFrame:
    """National hourly weather on ``grid``; earlier datasets win, later ones fill their holes."""
    variables = [TEMPERATURE, *WEATHER_VARIABLES]
    out = pd.DataFrame(np.nan, index=grid, columns=variables)
    for name in reversed(datasets):
        wide = store.wide(name, AREA, grid[0], grid[-1] + HOUR, variables=variables)
        if wide.empty:
            continue
        wide.index = pd.DatetimeIndex(wide.index).as_unit("ns")
        wide = wide.reindex(index=grid, columns=variables)
        out = wide.combine_first(out)
    return out[variables].astype(float)


def daily_to_hourly(daily: pd.DataFrame, grid: pd.DatetimeIndex) -> np.ndarray:
    """Hourly temperature from daily ``tmean_c`` (and ``tmin_c``/``tmax_c`` when present).

    ``tmean`` is placed at about local noon of its day and interpolated linearly between days; when
    tmin and tmax exist a cosine diurnal cycle of half-amplitude ``(tmax − tmin)/2`` peaking at
    15:00 Paris time is added. Hours more than 12 h outside the data, or inside a gap of more than
    two days, are NaN.
    """
    grid = pd.DatetimeIndex(grid).as_unit("ns")
    out = np.full(len(grid), np.nan)
    if daily.empty:
        return out
    tmean = daily["tmean_c"] if "tmean_c" in daily else pd.Series(np.nan, index=daily.index)
    if {"tmin_c", "tmax_c"} <= set(daily.columns):
        tmean = tmean.fillna((daily["tmin_c"] + daily["tmax_c"]) / 2.0)
        amp = ((daily["tmax_c"] - daily["tmin_c"]) / 2.0).reindex(tmean.index)
    else:
        amp = pd.Series(0.0, index=tmean.index)
    ok = tmean.notna().to_numpy()
    if not ok.any():
        return out
    centre = (pd.DatetimeIndex(daily.index).as_unit("ns") + pd.Timedelta(hours=12)).asi8[ok]
    g = grid.asi8
    mean = np.interp(g, centre, tmean.to_numpy()[ok])
    a = amp.to_numpy()[ok]
    a = np.interp(g, centre, np.where(np.isnan(a), 0.0, a))
    local = grid.tz_convert(PARIS)
    hour = np.asarray(local.hour + local.minute / 60.0, dtype=float)
    values = mean + a * np.cos(2 * np.pi * (hour - DIURNAL_PEAK_HOUR) / 24.0)
    right = np.searchsorted(centre, g, side="left").clip(0, len(centre) - 1)
    left = (np.searchsorted(centre, g, side="right") - 1).clip(0, len(centre) - 1)
    half_day = pd.Timedelta(hours=12).value
    near = np.minimum(np.abs(g - centre[left]), np.abs(centre[right] - g)) <= half_day
    bridged = (
        (centre[left] <= g)
        & (g <= centre[right])
        & (centre[right] - centre[left] <= 2 * pd.Timedelta(days=1).value)
    )
    keep = near | bridged
    out[keep] = values[keep]
    return out


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


def day_ahead_origins(targets: pd.DatetimeIndex, params: FeatureParams) -> pd.DatetimeIndex:
    """The day-ahead origin of each target: D-1 at ``origin_hour_local`` Paris for a target on D."""
    local = pd.DatetimeIndex(targets).tz_convert(PARIS).tz_localize(None).normalize()
    naive = local - pd.Timedelta(days=1) + pd.Timedelta(hours=params.origin_hour_local)
    aware = naive.tz_localize(
        PARIS, ambiguous=np.ones(len(naive), dtype=bool), nonexistent="shift_forward"
    )
    return pd.DatetimeIndex(aware.tz_convert("UTC")).as_unit("ns")


def origin_bounds(
    grid: pd.DatetimeIndex, targets: pd.DatetimeIndex, origins: pd.DatetimeIndex
) -> np.ndarray:
    """Per grid hour ``h``: the earliest origin of the targets that read it (int64 ns).

    A target ``t`` reads the hours up to ``ceil(t)`` (interpolation, causal smoothing), i.e. every
    ``h < t + 1 h``; the bound of ``h`` is the minimum origin over targets ``t > h − 1 h``. Hours no
    target reads get the smallest int64 (nothing is known for them).
    """
    t = pd.DatetimeIndex(targets).as_unit("ns").asi8
    o = pd.DatetimeIndex(origins).as_unit("ns").asi8
    order = np.argsort(t, kind="mergesort")
    t, o = t[order], o[order]
    out = np.full(len(grid), np.iinfo(np.int64).min, dtype=np.int64)
    if not len(t):
        return out
    suffix = np.minimum.accumulate(o[::-1])[::-1]
    pos = np.searchsorted(t, grid.as_unit("ns").asi8 - HOUR.value, side="right")
    ok = pos < len(t)
    out[ok] = suffix[pos[ok]]
    return out


def previous_runs_hourly(store: Store, grid: pd.DatetimeIndex, bounds: np.ndarray) -> pd.DataFrame:
    """National hourly weather on ``grid`` from the forecast vintages known at ``bounds``.

    Vintages come from ``weather_previous_runs`` (the previous-runs archive), holes filled from
    ``weather_forecast_runs`` (the live runs stored by each ``forecast`` ingest).

    Per hour ``h``, the shortest lead ``N`` of :data:`PREVIOUS_RUNS_LEADS` whose issue time
    ``h − N x 24 h + PREVIOUS_RUNS_LAG`` is at or before ``bounds[h]`` (the earliest origin that
    reads ``h``, :func:`origin_bounds`) and that has a temperature; the whole row comes from that
    lead. NaN where no vintage known at the origin exists.
    """
    variables = [TEMPERATURE, *WEATHER_VARIABLES]
    out = pd.DataFrame(np.nan, index=grid, columns=variables)
    names = [f"{v}_previous_day{n}" for n in PREVIOUS_RUNS_LEADS for v in variables]
    wide = pd.DataFrame(np.nan, index=grid, columns=names)
    found = False
    for name in (FORECAST_RUNS_DATASET, PREVIOUS_RUNS_DATASET):  # the archive wins
        part = store.wide(name, AREA, grid[0], grid[-1] + HOUR, variables=names)
        if part.empty:
            continue
        found = True
        part.index = pd.DatetimeIndex(part.index).as_unit("ns")
        wide = part.reindex(index=grid, columns=names).astype(float).combine_first(wide)
    if not found:
        return out
    g = grid.as_unit("ns").asi8
    values = out.to_numpy(copy=True)
    for n in PREVIOUS_RUNS_LEADS:
        issued = g - n * pd.Timedelta(days=1).value + PREVIOUS_RUNS_LAG.value
        block = wide[[f"{v}_previous_day{n}" for v in variables]].to_numpy()
        take = (issued <= bounds) & np.isnan(values[:, 0]) & ~np.isnan(block[:, 0])
        values[take] = block[take]
    return pd.DataFrame(values, index=grid, columns=variables)


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
    vintage was known); default: the day-ahead origin (:func:`day_ahead_origins`).
    """
    if mode not in ("auto", "forecast", "observed", "none"):
        raise ValueError(f"weather mode must be auto, forecast, observed or none, got {mode!r}")
    empty_grid = pd.DatetimeIndex([], tz="UTC").as_unit("ns")
    none = WeatherChoice("none", "no weather", pd.DataFrame(index=empty_grid), 0.0)
    if mode == "none" or not len(targets):
        return none
    grid = hourly_grid(targets.min() - spinup(params), targets.max() + HOUR)
    candidates: list[tuple[WeatherSource, str]] = []
    if mode in ("auto", "forecast"):
        candidates.append(("forecast", "vintage:" + PREVIOUS_RUNS_DATASET))
        candidates.append(("forecast", "hourly:" + "+".join(FORECAST_DATASETS)))
    if mode in ("auto", "observed"):
        candidates.append(("observed-as-forecast", "hourly:" + "+".join(OBSERVED_DATASETS)))
        candidates.append(("observed-as-forecast", "daily:" + DAILY_DATASET))
    best = none
    partial: list[tuple[WeatherChoice, str]] = []
    for source, description in candidates:
        if description.startswith("vintage:"):
            if origins is None:
                origins = day_ahead_origins(targets, params)
            elif len(origins) != len(targets):
                raise ValueError("origins must have one entry per target")
            hourly = previous_runs_hourly(store, grid, origin_bounds(grid, targets, origins))
        elif description.startswith("hourly:"):
            datasets = FORECAST_DATASETS if source == "forecast" else OBSERVED_DATASETS
            hourly = read_hourly(store, datasets, grid)
        else:
            daily = store.wide(
                DAILY_DATASET, AREA, grid[0] - pd.Timedelta(days=2), grid[-1] + pd.Timedelta(days=2)
            )
            hourly = pd.DataFrame(np.nan, index=grid, columns=[TEMPERATURE, *WEATHER_VARIABLES])
            hourly[TEMPERATURE] = daily_to_hourly(daily, grid)
        at = _at_targets(hourly[TEMPERATURE].to_numpy(), grid, targets, interpolate=True)
        coverage = float(np.mean(~np.isnan(at)))
        label = (
            ROW_VINTAGE
            if description.startswith("vintage:")
            else ROW_FORECAST
            if source == "forecast"
            else ROW_OBSERVED
            if description.startswith("hourly")
            else ROW_DAILY
        )
        labels = np.where(hourly[TEMPERATURE].notna().to_numpy(), label, ROW_NONE).astype(object)
        choice = WeatherChoice(source, description, hourly, coverage, labels)
        if coverage >= 1.0 and not partial:
            log.info("weather: %s (%s), full coverage", source, description)
            return choice
        if coverage > 0:
            partial.append((choice, label))
        if coverage > best.coverage:
            best = choice
        if coverage >= 1.0:
            break  # a better-ranked source covers part: stitch it over this one
    if mode in ("auto", "forecast") and len(partial) > 1:
        stitched = _stitch(partial, grid)
        at = _at_targets(stitched.hourly[TEMPERATURE].to_numpy(), grid, targets, interpolate=True)
        stitched.coverage = float(np.mean(~np.isnan(at)))
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
