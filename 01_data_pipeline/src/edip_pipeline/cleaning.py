"""Cleaning canonical rows: clock changes, duplicates by vintage, gaps, flat lines and outliers.

Every function here is deterministic and idempotent, so cleaning a store twice changes nothing:
that is what makes re-ingesting the same period give the same rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.config import GapPolicy
from edip_pipeline.schema import COLUMNS, KEY, PLAUSIBLE, Flag

#: variables whose long runs of exact zeros are physical (night), not a stuck sensor
ZERO_AT_NIGHT = ("shortwave_radiation", "direct_radiation", "solar")


def flag_implausible(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Set :attr:`Flag.IMPLAUSIBLE` and NaN where a value leaves its range in
    :data:`~edip_pipeline.schema.PLAUSIBLE` (area-specific rules first); returns the count.

    Why NaN rather than the value: a -5 MW or 1e12 MW "measurement" must not reach a feature nor
    be interpolated into its neighbours; the gap logic then treats it like any hole, and the
    raw layer still holds what the publisher sent.
    """
    if frame.empty:
        return frame, 0
    values = frame["value"].to_numpy(dtype=float)
    # a forecast vintage (``temperature_2m_c_previous_day2``) has the range of its variable
    variables = frame["variable"].str.replace(r"_previous_day\d+$", "", regex=True).to_numpy()
    areas = frame["area"].to_numpy()
    ruled = np.zeros(len(frame), dtype=bool)
    bad = np.zeros(len(frame), dtype=bool)
    for rule in sorted(PLAUSIBLE, key=lambda r: r.area is None):
        scope = (variables == rule.variable) & ~ruled
        if rule.area is not None:
            scope &= areas == rule.area
        ruled |= scope
        with np.errstate(invalid="ignore"):
            bad |= scope & ~np.isnan(values) & ((values < rule.low) | (values > rule.high))
    if not bad.any():
        return frame, 0
    out = frame.copy()
    out.loc[bad, "value"] = np.nan
    out.loc[bad, "flags"] = (out.loc[bad, "flags"].astype(int) | int(Flag.IMPLAUSIBLE)).astype(
        "int8"
    )
    return out, int(bad.sum())


def resolve_duplicates(frame: pd.DataFrame) -> pd.DataFrame:
    """Keep one row per key: a measured value beats an interpolated one, then the highest vintage,
    then the latest row (later rows in ``frame`` are newer)."""
    if frame.empty:
        return frame
    order = np.arange(len(frame))
    measured = (frame["flags"].to_numpy() & int(Flag.INTERPOLATED | Flag.MISSING)) == 0
    has_value = frame["value"].notna().to_numpy()
    tmp = frame.assign(_m=measured & has_value, _o=order)
    tmp = tmp.sort_values([*KEY, "_m", "vintage", "_o"], kind="mergesort")
    tmp = tmp.drop_duplicates(KEY, keep="last")
    return tmp.drop(columns=["_m", "_o"]).reset_index(drop=True)


def _grid(start: pd.Timestamp, end: pd.Timestamp, step: str) -> pd.DatetimeIndex:
    offset = pd.tseries.frequencies.to_offset(step)
    if offset.nanos >= pd.Timedelta("1D").value:
        # calendar steps follow Paris days: a "day" starts at local midnight (22:00/23:00 UTC)
        local = pd.date_range(start.tz_convert(PARIS).normalize(), end.tz_convert(PARIS), freq=step)
        return local.tz_convert("UTC")
    return pd.date_range(start.floor(step), end, freq=step, tz="UTC")


def _flag_runs(mask: np.ndarray, min_len: int) -> np.ndarray:
    """True where ``mask`` is part of a run of at least ``min_len`` consecutive Trues."""
    out = np.zeros_like(mask, dtype=bool)
    if min_len <= 0 or not mask.any():
        return out
    padded = np.concatenate([[False], mask, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    for s, e in zip(edges[::2], edges[1::2], strict=True):
        if e - s >= min_len:
            out[s:e] = True
    return out


def regularise_series(
    series: pd.DataFrame, step: str, policy: GapPolicy, *, interpolate: bool = True
) -> pd.DataFrame:
    """Put one (area, variable) series on its regular grid and set its flags.

    Rows off the grid are dropped (e.g. interpolated :15 points of a 30-min series); holes become
    rows with NaN and :attr:`Flag.MISSING`, unless short enough to interpolate
    (:attr:`Flag.INTERPOLATED`).
    """
    s = _on_grid(series, step)
    # derived flags are recomputed from scratch: keep only INTERPOLATED provenance to re-evaluate,
    # and IMPLAUSIBLE (its value is already NaN: it can only be filled, never fill a neighbour)
    old_flags = s["flags"].fillna(0).astype(int).to_numpy()
    was_interp = (old_flags & int(Flag.INTERPOLATED)) != 0
    values = s["value"].where(~was_interp)
    flags = (old_flags & int(Flag.IMPLAUSIBLE)).astype(np.int8)
    step_td = pd.Timedelta(pd.tseries.frequencies.to_offset(step).nanos)
    max_fill = int(pd.Timedelta(policy.max_interpolate) / step_td) if interpolate else 0
    values = _fill_short_gaps(values, flags, max_fill)
    arr = values.to_numpy(dtype=float)
    flat_len = int(pd.Timedelta(policy.flat_line_min) / step_td)
    _flag_flat_lines(
        arr, flags, flat_len, zero_at_night=str(s["variable"].iloc[0]).startswith(ZERO_AT_NIGHT)
    )
    window = max(3, int(pd.Timedelta("1D") / step_td) | 1)
    _flag_outliers(arr, flags, window, policy.outlier_z)
    s["value"] = values
    s["flags"] = flags
    return s.reset_index()[COLUMNS]


def _on_grid(series: pd.DataFrame, step: str) -> pd.DataFrame:
    """The series reindexed on its regular grid; new rows take its area, variable and vintage."""
    series = series.sort_values("timestamp")
    grid = _grid(series["timestamp"].iloc[0], series["timestamp"].iloc[-1], step)
    s = series.set_index("timestamp").reindex(grid)
    s.index.name = "timestamp"
    first = series.iloc[0]
    new_rows = s["area"].isna()
    for col in ("area", "variable"):
        s[col] = first[col]
    s["source"] = s["source"].where(~new_rows, "cleaning")
    s["vintage"] = s["vintage"].fillna(int(first["vintage"])).astype("int8")
    return s


def _fill_short_gaps(values: pd.Series, flags: np.ndarray, max_fill: int) -> pd.Series:
    """Interpolate holes of at most ``max_fill`` steps; flag filled and still missing rows."""
    missing = values.isna().to_numpy()
    long_gap = _flag_runs(missing, max_fill + 1)
    short_gap = missing & ~long_gap
    if short_gap.any():
        filled = values.interpolate(method="linear", limit_area="inside")
        fill_mask = short_gap & filled.notna().to_numpy()
        values = values.where(~fill_mask, filled)
        flags[fill_mask] |= int(Flag.INTERPOLATED)
    still_missing = values.isna().to_numpy()
    flags[still_missing] |= int(Flag.MISSING)
    return values


def _flag_flat_lines(
    arr: np.ndarray, flags: np.ndarray, flat_len: int, *, zero_at_night: bool
) -> None:
    """Flag runs of at least ``flat_len`` equal points (a stuck sensor), in place."""
    if flat_len >= 2 and len(arr) > 1:
        same = np.concatenate([[False], np.isclose(arr[1:], arr[:-1]) & ~np.isnan(arr[1:])])
        if zero_at_night:
            same[1:] &= arr[1:] != 0  # radiation is legitimately 0 every night
        # a run of k equal steps covers k+1 points: mark the point before each run too
        run = _flag_runs(same, flat_len - 1)
        run |= np.concatenate([run[1:], [False]])
        flags[run] |= int(Flag.FLAT_LINE)


def _flag_outliers(arr: np.ndarray, flags: np.ndarray, window: int, outlier_z: float) -> None:
    """Flag points far from a rolling median (robust z-score above ``outlier_z``), in place."""
    if len(arr) >= window and outlier_z > 0:
        med = pd.Series(arr).rolling(window, center=True, min_periods=window // 2).median()
        resid = pd.Series(arr) - med
        mad = float(np.nanmedian(np.abs(resid.to_numpy())))
        if mad > 0:
            z = np.abs(resid.to_numpy()) / (1.4826 * mad)
            flags[np.nan_to_num(z) > outlier_z] |= int(Flag.OUTLIER)


def regularise(
    frame: pd.DataFrame, step: str, policy: GapPolicy, *, interpolate: bool = True
) -> pd.DataFrame:
    """Apply :func:`regularise_series` to every (area, variable) series of a canonical frame."""
    if frame.empty:
        return frame
    parts = [
        regularise_series(g, step, policy, interpolate=interpolate)
        for _, g in frame.groupby(["area", "variable"], sort=True)
    ]
    out = pd.concat(parts, ignore_index=True)
    out["vintage"] = out["vintage"].astype("int8")
    out["flags"] = out["flags"].astype("int8")
    return out.sort_values(KEY, kind="mergesort").reset_index(drop=True)
