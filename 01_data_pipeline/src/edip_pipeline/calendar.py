"""Paris wall-clock time: the one ``PARIS`` zone and the helpers every layer shares.

French consumption follows the Paris clock (offices open at 08:00 local, not UTC), so calendar
days, schedules and the day-ahead protocol are Paris days; timestamps themselves stay UTC
everywhere (``datetime64[ns, UTC]``), as in the store. This module is the bottom layer (pandas
and numpy only): the store, the sources, the features, the trainers and the API all import from
here, so a Paris day is computed one way.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

#: the zone of every calendar day, schedule and publication time in EDIP
PARIS = "Europe/Paris"
DAY = pd.Timedelta(days=1)


def to_utc(value: pd.Timestamp | str, *, naive_tz: str = PARIS) -> pd.Timestamp:
    """A UTC timestamp; naive values are read in ``naive_tz`` (a user's "2020-01-01" is Paris)."""
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(naive_tz)
    return ts.tz_convert("UTC")


def as_utc_index(values: pd.DatetimeIndex | pd.Series | list[pd.Timestamp]) -> pd.DatetimeIndex:
    """Time-zone aware stamps as a ``datetime64[ns, UTC]`` index; naive ones are refused."""
    idx = pd.DatetimeIndex(values)
    if len(idx) and idx.tz is None:
        raise ValueError("timestamps must be time-zone aware (UTC); refusing to guess a zone")
    if idx.tz is None:
        idx = idx.tz_localize("UTC")
    return pd.DatetimeIndex(idx.tz_convert("UTC").astype("datetime64[ns, UTC]"))


def step_timedelta(step: str | pd.Timedelta) -> pd.Timedelta:
    """The target-grid step; it must divide a day and be a whole number of minutes."""
    td = pd.Timedelta(step)
    if td <= pd.Timedelta(0) or DAY.value % td.value or td.value % pd.Timedelta("1min").value:
        raise ValueError(f"step {step!r} must be a positive divisor of one day, in whole minutes")
    return td


def paris_day(value: pd.Timestamp | date | str) -> pd.Timestamp:
    """The Paris calendar day of ``value`` as a naive midnight.

    ``"2020-01-01"`` is read as that Paris date; an aware instant is converted to Paris first
    (``2020-01-01T23:30Z`` is the 2nd). Unparseable values raise ``ValueError``.
    """
    ts = pd.Timestamp(value)
    if pd.isna(ts):
        raise ValueError(f"not a date: {value!r}")
    if ts.tzinfo is not None:
        ts = ts.tz_convert(PARIS).tz_localize(None)
    return ts.normalize()


def local_day_bounds(day: pd.Timestamp | date | str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """UTC ``[start, end)`` of Paris calendar day ``day`` (23 h, 24 h or 25 h long)."""
    date = paris_day(day)
    start = date.tz_localize(PARIS).tz_convert("UTC")
    return start, (date + DAY).tz_localize(PARIS).tz_convert("UTC")


def local_day_length_h(dates: pd.DatetimeIndex) -> np.ndarray:
    """Length in hours of each naive local calendar date (23 / 24 / 25 on clock changes)."""
    start = dates.tz_localize(PARIS)
    end = (dates + DAY).tz_localize(PARIS)
    return np.asarray((end - start) / pd.Timedelta(hours=1), dtype=float)


def utc_from_ns(values: np.ndarray) -> pd.DatetimeIndex:
    """UTC index from int64 nanoseconds since the epoch."""
    return pd.DatetimeIndex(np.asarray(values, dtype=np.int64).view("M8[ns]")).tz_localize("UTC")


def paris_wallclock_to_utc(local: pd.Series | pd.DatetimeIndex) -> pd.DatetimeIndex:
    """Convert naive Europe/Paris wall-clock stamps to UTC.

    * The autumn repeated hour (02:00–02:59 twice) is resolved by order of appearance: the first
      occurrence is CEST, the second CET, which is how every French publisher writes it.
    * Spring's missing hour (02:00–02:59 does not exist) yields ``NaT``: such rows are phantoms
      that the caller drops.
    """
    idx = pd.DatetimeIndex(pd.to_datetime(local))
    if idx.tz is not None:
        return idx.tz_convert("UTC")
    values = idx.to_numpy()
    # A stamp is the "second occurrence" if it appeared earlier in the sequence: count per value.
    seen = pd.Series(values).groupby(values).cumcount().to_numpy()
    ambiguous = seen == 0  # first occurrence -> DST (summer) time
    localized = idx.tz_localize(PARIS, ambiguous=ambiguous, nonexistent="NaT")
    return localized.tz_convert("UTC")
