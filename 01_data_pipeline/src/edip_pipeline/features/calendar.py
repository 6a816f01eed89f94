"""Calendar features and the (origin, target) grids of the two evaluation protocols.

Everything calendar-related is computed in **Europe/Paris** wall-clock time with the helpers of
:mod:`edip_pipeline.calendar` (the one Paris-day definition).

Target convention (shared with :mod:`edip_pipeline.features.load`): a target stamped ``t`` on a grid
of step ``s`` is the interval ``[t, t + s)``, so the first interval that is still unknown at an
origin ``o`` starts at ``o``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_pipeline.calendar import (
    DAY,
    PARIS,
    as_utc_index,
    local_day_length_h,
    paris_day,
    step_timedelta,
    utc_from_ns,
)

#: calendar columns, in frame order (``horizon_h`` is computed by the builder from the pair)
CALENDAR_FEATURES: list[str] = [
    "horizon_h",
    "hour",
    "hour_sin",
    "hour_cos",
    "dow",
    "month",
    "doy_sin",
    "doy_cos",
    "is_weekend",
    "is_clock_change_day",
]


def _pairs_frame(origins_ns: np.ndarray, targets_ns: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"origin": utc_from_ns(origins_ns), "target_time": utc_from_ns(targets_ns)})


def day_ahead_pairs(
    start_day: pd.Timestamp | str,
    end_day: pd.Timestamp | str,
    step: str = "1h",
    origin_hour_local: int = 12,
) -> pd.DataFrame:
    """Pairs of the day-ahead protocol for target days ``start_day``..``end_day`` (inclusive).

    For each Paris day D the origin is D-1 at ``origin_hour_local``:00 Paris time (the EPEX spot
    gate closes at noon) and the targets are every ``step`` of local day D: 23, 24 or 25 hourly
    targets on clock-change days. Returns columns ``origin`` and ``target_time`` (UTC).
    """
    td = step_timedelta(step)
    first = paris_day(start_day)
    last = paris_day(end_day)
    if last < first:
        raise ValueError(f"end_day {end_day} is before start_day {start_day}")
    days = pd.date_range(first, last, freq="D")  # naive local dates
    starts = days.tz_localize(PARIS).tz_convert("UTC").as_unit("ns")
    ends = (days + DAY).tz_localize(PARIS).tz_convert("UTC").as_unit("ns")
    origins_local = (days - DAY + pd.Timedelta(hours=origin_hour_local)).tz_localize(
        PARIS, nonexistent="shift_forward", ambiguous=True
    )
    origins = origins_local.tz_convert("UTC").as_unit("ns")
    counts = ((ends - starts) // td).to_numpy().astype(np.int64)
    rep_start = np.repeat(starts.asi8, counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    targets = rep_start + offsets * td.value
    return _pairs_frame(np.repeat(origins.asi8, counts), targets)


def rolling_pairs(
    origins: pd.DatetimeIndex | pd.Series | list[pd.Timestamp],
    horizon_h: int = 24,
    step: str = "1h",
) -> pd.DataFrame:
    """Pairs of the rolling protocol: from each origin, the next ``horizon_h`` hours.

    Targets are the ``step`` intervals starting at ``ceil(origin, step)``, up to (excluded)
    that plus ``horizon_h`` hours, i.e. everything not yet known at the origin over the horizon.
    """
    td = step_timedelta(step)
    idx = as_utc_index(origins)
    n = int(pd.Timedelta(hours=horizon_h) / td)
    if n <= 0:
        raise ValueError("horizon_h must cover at least one step")
    first = idx.ceil(td).as_unit("ns").asi8
    targets = (first[:, None] + np.arange(n)[None, :] * td.value).ravel()
    return _pairs_frame(np.repeat(idx.asi8, n), targets)


def intraday_pairs(
    start_day: str | pd.Timestamp,
    end_day: str | pd.Timestamp,
    step: str = "1h",
    every_h: int = 3,
    next_day_from_h: int = 18,
) -> pd.DataFrame:
    """Pairs of the intraday re-issue protocol for origins on Paris days ``start_day..end_day``.

    An origin every ``every_h`` hours (Paris, from 00:00); each forecasts day D up to its end, D
    being the origin's day, or the next one from ``next_day_from_h`` on (the D-1 18:00 re-issue):
    the loop's re-issues (``issue-intraday``) with leads from 0 to 30 h.
    """
    td = step_timedelta(step)
    first, last = pd.Timestamp(start_day).normalize(), pd.Timestamp(end_day).normalize()
    origins: list[int] = []
    targets: list[np.ndarray] = []
    for day in pd.date_range(first, last, freq="D"):
        for hour in range(0, 24, every_h):
            origin = (day + pd.Timedelta(hours=hour)).tz_localize(
                PARIS, nonexistent="shift_forward", ambiguous=True
            )
            target_day = day + DAY if hour >= next_day_from_h else day
            end = (target_day + DAY).tz_localize(PARIS).tz_convert("UTC")
            o = origin.tz_convert("UTC").as_unit("ns")
            grid = pd.date_range(o.ceil(td), end, freq=td, inclusive="left").as_unit("ns").asi8
            targets.append(grid)
            origins.extend([o.value] * len(grid))
    flat = np.concatenate(targets) if targets else np.array([], dtype=np.int64)
    return _pairs_frame(np.asarray(origins, dtype=np.int64), flat)


def calendar_features(targets: pd.DatetimeIndex) -> pd.DataFrame:
    """Calendar columns (except ``horizon_h``) for UTC ``targets``, positionally aligned.

    * ``hour``: Paris wall-clock hour with minutes as a fraction (13.5 = 13:30 local);
      ``hour_sin``/``hour_cos`` its 24 h cycle (continuous across midnight).
    * ``dow``: Paris day of week, 0 = Monday; ``is_weekend``: Saturday or Sunday.
    * ``month``: Paris month 1..12.
    * ``doy_sin``/``doy_cos``: day of year on a 365.25-day circle (seasonality without a jump
      on 1 January).
    * ``is_clock_change_day``: the local day has 23 or 25 hours (the load profile shifts an hour).
    """
    idx = as_utc_index(targets)
    local = idx.tz_convert(PARIS)
    hour = np.asarray(local.hour + local.minute / 60.0, dtype=float)
    doy = np.asarray(local.day_of_year, dtype=float) - 1.0 + hour / 24.0
    dates = pd.DatetimeIndex(local.tz_localize(None).normalize())
    uniq, inv = np.unique(dates.as_unit("ns").asi8, return_inverse=True)
    lengths = local_day_length_h(pd.DatetimeIndex(uniq.view("M8[ns]")))[inv]
    dow = np.asarray(local.day_of_week, dtype=float)
    return pd.DataFrame(
        {
            "hour": hour,
            "hour_sin": np.sin(2 * np.pi * hour / 24.0),
            "hour_cos": np.cos(2 * np.pi * hour / 24.0),
            "dow": dow,
            "month": np.asarray(local.month, dtype=float),
            "doy_sin": np.sin(2 * np.pi * doy / 365.25),
            "doy_cos": np.cos(2 * np.pi * doy / 365.25),
            "is_weekend": (dow >= 5).astype(float),
            "is_clock_change_day": (lengths != 24.0).astype(float),
        }
    )
