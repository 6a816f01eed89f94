"""Weather sources read onto an hourly UTC grid (national values).

National means are made here from the per-point rows with the weights of the feature parameters'
weather points (:func:`national_wide`), so a table, the model trained on it and the API serving
that model all weigh the same points; datasets without per-point rows (SYNOP's national series,
ODRÉ's daily mean) and hours where none of the points has a value are read from their stored
``FR`` rows.

Each function turns one kind of stored weather into hourly series, NaN where it has nothing:
forecast vintages known at an origin (:func:`previous_runs_hourly`), stitched short-lead forecasts
and observations (:func:`read_hourly`), daily temperatures spread over the hours
(:func:`daily_to_hourly`). Which one a feature table uses is decided by
:func:`edip_pipeline.features.weather.choose_weather`.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.config import FeatureParams
from edip_pipeline.store import Store
from edip_pipeline.weather_points import PointSet, load_points, weighted_mean

log = logging.getLogger(__name__)

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
#: hour of the (assumed cosine) daily temperature maximum, Paris time, for daily data
DIURNAL_PEAK_HOUR = 15.0


def hourly_grid(start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
    """Hourly UTC grid ``floor(start)``..``ceil(end)`` inclusive."""
    return pd.date_range(start.floor(HOUR), end.ceil(HOUR), freq=HOUR).as_unit("ns")


def points_of(params: FeatureParams) -> PointSet:
    """The weather points the feature parameters name (hash checked)."""
    return load_points(params.weather_points)


def national_wide(
    store: Store,
    dataset: str,
    grid: pd.DatetimeIndex,
    variables: list[str],
    points: PointSet,
) -> pd.DataFrame:
    """``variables`` as columns over ``[grid[0], grid[-1]]``: the points' weighted mean, and the
    stored ``FR`` rows where no point has a value (see the module doc)."""
    rows = store.read(dataset, grid[0], grid[-1] + HOUR, variables=variables)
    if rows.empty:
        return pd.DataFrame()
    fr = rows[rows["area"] == AREA].pivot(index="timestamp", columns="variable", values="value")
    means = weighted_mean(rows[rows["area"] != AREA], points)
    if means.empty:
        others = sorted(set(rows["area"]) - {AREA})
        if others:
            log.warning(
                "%s holds other weather points (%s…), none of %s: its stored FR rows are used",
                dataset,
                ", ".join(others[:3]),
                points.ident,
            )
        return fr
    wide = means.pivot(index="timestamp", columns="variable", values="value")
    wide.index = pd.DatetimeIndex(wide.index)
    return wide.combine_first(fr) if len(fr) else wide


def read_hourly(
    store: Store, datasets: tuple[str, ...], grid: pd.DatetimeIndex, points: PointSet
) -> pd.DataFrame:
    """National hourly weather on ``grid``; earlier datasets win, later ones fill their holes."""
    variables = [TEMPERATURE, *WEATHER_VARIABLES]
    out = pd.DataFrame(np.nan, index=grid, columns=variables)
    for name in reversed(datasets):
        wide = national_wide(store, name, grid, variables, points)
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


def read_daily_hourly(store: Store, grid: pd.DatetimeIndex) -> pd.DataFrame:
    """Hourly temperature on ``grid`` from ``temperature_daily`` (other variables NaN)."""
    daily = store.wide(
        DAILY_DATASET, AREA, grid[0] - pd.Timedelta(days=2), grid[-1] + pd.Timedelta(days=2)
    )
    hourly = pd.DataFrame(np.nan, index=grid, columns=[TEMPERATURE, *WEATHER_VARIABLES])
    hourly[TEMPERATURE] = daily_to_hourly(daily, grid)
    return hourly


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


def previous_runs_hourly(
    store: Store, grid: pd.DatetimeIndex, bounds: np.ndarray, points: PointSet
) -> pd.DataFrame:
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
        part = national_wide(store, name, grid, names, points)
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
