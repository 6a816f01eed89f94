"""Holiday features: public holidays, bridge days, school holidays per zone, Christmas and August.

Why each matters for French load: on a public holiday industry and offices close (−10 to −20 % of
the load of a comparable day); on a *pont* (bridge day) many take the day off, so the load sits
between a working day and a Sunday; school holidays shift household and tertiary demand, and
because they are staggered over zones A/B/C the national effect scales with the number of zones on
holiday; the Christmas–New Year week and August are the two long low-activity periods.

Sources
-------
* Public holidays: the ``holidays`` package, metropolitan France (Alsace-Moselle's Good Friday and
  26 December are ignored: ~4 % of the population).
* School holidays: the ``vacances-scolaires-france`` package (data.education.gouv.fr calendar;
  version 0.12 covers 1990 up to the summer holidays of 2028). Where the installed version does
  not cover a year in 2012–2017, :data:`OFFICIAL_SCHOOL_HOLIDAYS_2012_2017` (the official calendar
  of the Ministère de l'Éducation nationale, same day convention) is used instead. Dates after the
  last published holiday are unknown: their school-holiday columns are NaN, not 0.

The zones were redrawn in 2015 (school year 2015-16); before that, A/B/C are the zones of the time.
A school holiday day runs from the Saturday after the last class to the Sunday before classes
resume, as published.
"""

from __future__ import annotations

import datetime as dt
import logging
from functools import lru_cache

import holidays as holidays_lib
import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS, as_utc_index

log = logging.getLogger(__name__)

ZONES = ("A", "B", "C")

HOLIDAY_FEATURES: list[str] = [
    "is_holiday",
    "is_bridge_day",
    "is_day_before_holiday",
    "is_day_after_holiday",
    "school_holiday_a",
    "school_holiday_b",
    "school_holiday_c",
    "school_holiday_zones",
    "is_christmas_break",
    "is_august_break",
]

#: Official school holidays 2012–2017 (first and last day off, inclusive), per zone: the fallback
#: for installs of ``vacances-scolaires-france`` that do not cover these years. Source: Ministère
#: de l'Éducation nationale, "Calendrier scolaire" (data.education.gouv.fr,
#: dataset fr-en-calendrier-scolaire); identical to the package's data for these years.
OFFICIAL_SCHOOL_HOLIDAYS_2012_2017: tuple[tuple[str, str, str, str], ...] = (
    # Noël 2011-12
    ("ABC", "2011-12-17", "2012-01-02", "Noël"),
    # 2012
    ("A", "2012-02-11", "2012-02-26", "Hiver"),
    ("C", "2012-02-18", "2012-03-04", "Hiver"),
    ("B", "2012-02-25", "2012-03-11", "Hiver"),
    ("A", "2012-04-07", "2012-04-22", "Printemps"),
    ("C", "2012-04-14", "2012-04-29", "Printemps"),
    ("B", "2012-04-21", "2012-05-06", "Printemps"),
    ("ABC", "2012-07-06", "2012-09-03", "Été"),
    ("ABC", "2012-10-27", "2012-11-11", "Toussaint"),
    ("ABC", "2012-12-22", "2013-01-06", "Noël"),
    # 2013
    ("B", "2013-02-16", "2013-03-03", "Hiver"),
    ("A", "2013-02-23", "2013-03-10", "Hiver"),
    ("C", "2013-03-02", "2013-03-17", "Hiver"),
    ("B", "2013-04-13", "2013-04-28", "Printemps"),
    ("A", "2013-04-20", "2013-05-05", "Printemps"),
    ("C", "2013-04-27", "2013-05-12", "Printemps"),
    ("ABC", "2013-07-06", "2013-09-02", "Été"),
    ("ABC", "2013-10-19", "2013-11-03", "Toussaint"),
    ("ABC", "2013-12-21", "2014-01-05", "Noël"),
    # 2014
    ("C", "2014-02-15", "2014-03-02", "Hiver"),
    ("B", "2014-02-22", "2014-03-09", "Hiver"),
    ("A", "2014-03-01", "2014-03-16", "Hiver"),
    ("C", "2014-04-12", "2014-04-27", "Printemps"),
    ("B", "2014-04-19", "2014-05-04", "Printemps"),
    ("A", "2014-04-26", "2014-05-11", "Printemps"),
    ("ABC", "2014-07-05", "2014-09-01", "Été"),
    ("ABC", "2014-10-18", "2014-11-02", "Toussaint"),
    ("ABC", "2014-12-20", "2015-01-04", "Noël"),
    # 2015
    ("A", "2015-02-06", "2015-02-22", "Hiver"),
    ("C", "2015-02-13", "2015-03-01", "Hiver"),
    ("B", "2015-02-20", "2015-03-08", "Hiver"),
    ("A", "2015-04-11", "2015-04-26", "Printemps"),
    ("C", "2015-04-18", "2015-05-03", "Printemps"),
    ("B", "2015-04-25", "2015-05-10", "Printemps"),
    ("ABC", "2015-07-04", "2015-08-31", "Été"),
    ("ABC", "2015-10-17", "2015-11-01", "Toussaint"),
    ("ABC", "2015-12-19", "2016-01-03", "Noël"),
    # 2016 (new zones)
    ("B", "2016-02-06", "2016-02-21", "Hiver"),
    ("A", "2016-02-13", "2016-02-28", "Hiver"),
    ("C", "2016-02-20", "2016-03-06", "Hiver"),
    ("B", "2016-04-02", "2016-04-17", "Printemps"),
    ("A", "2016-04-09", "2016-04-24", "Printemps"),
    ("C", "2016-04-16", "2016-05-01", "Printemps"),
    ("ABC", "2016-07-05", "2016-08-31", "Été"),
    ("ABC", "2016-10-19", "2016-11-02", "Toussaint"),
    ("ABC", "2016-12-17", "2017-01-02", "Noël"),
    # 2017
    ("C", "2017-02-04", "2017-02-19", "Hiver"),
    ("B", "2017-02-11", "2017-02-26", "Hiver"),
    ("A", "2017-02-18", "2017-03-05", "Hiver"),
    ("C", "2017-04-01", "2017-04-17", "Printemps"),
    ("B", "2017-04-08", "2017-04-23", "Printemps"),
    ("A", "2017-04-15", "2017-05-01", "Printemps"),
    ("ABC", "2017-07-08", "2017-09-03", "Été"),
    ("ABC", "2017-10-21", "2017-11-05", "Toussaint"),
    ("ABC", "2017-12-23", "2018-01-07", "Noël"),
)
_FALLBACK_YEARS = range(2012, 2018)


@lru_cache(maxsize=64)
def _public_holidays_year(year: int) -> frozenset[dt.date]:
    return frozenset(holidays_lib.country_holidays("FR", years=year).keys())


def public_holidays(dates: pd.DatetimeIndex) -> np.ndarray:
    """True where the naive local date is a French public holiday (jour férié)."""
    years = sorted({int(y) for y in dates.year})
    days: set[dt.date] = set()
    for y in years:
        days |= _public_holidays_year(y)
    stamps = pd.DatetimeIndex(sorted(days)).as_unit("ns") if days else pd.DatetimeIndex([])
    return np.asarray(dates.as_unit("ns").isin(stamps), dtype=bool)


def _intervals_to_frame(
    intervals: tuple[tuple[str, str, str, str], ...], first: str, last: str
) -> pd.DataFrame:
    days = pd.date_range(first, last, freq="D").as_unit("ns")
    out = pd.DataFrame(False, index=days, columns=list(ZONES))
    for zones, start, end, _name in intervals:
        mask = (days >= pd.Timestamp(start)) & (days <= pd.Timestamp(end))
        for zone in zones:
            out.loc[mask, zone] = True
    return out


@lru_cache(maxsize=1)
def school_holiday_calendar() -> pd.DataFrame:
    """Boolean table (naive local date × zone A/B/C) over the dates the calendar is known.

    The package's years come first; fallback years (2012–2017) fill any year it does not cover.
    The table ends at the last published holiday day: later dates are unknown.
    """
    frames: list[pd.DataFrame] = []
    covered: set[int] = set()
    try:
        from vacances_scolaires_france import SchoolHolidayDates

        sh = SchoolHolidayDates()
        last = max(sh.data)
        days = pd.date_range(dt.date(sh.min_year, 1, 1), last, freq="D").as_unit("ns")
        rows = pd.DataFrame(
            {z: [bool(r[sh.zone_key(z)]) for r in sh.data.values()] for z in ZONES},
            index=pd.DatetimeIndex(list(sh.data.keys())).as_unit("ns"),
        )
        table = rows.reindex(days, fill_value=False)
        frames.append(table)
        covered = set(range(sh.min_year, last.year + 1))
    except ImportError:  # pragma: no cover - the package is a dependency
        log.warning("vacances-scolaires-france missing: school holidays from the fallback table")
    missing = [y for y in _FALLBACK_YEARS if y not in covered]
    if missing:
        log.info("school holidays for %s from the official fallback table", missing)
        fb = _intervals_to_frame(OFFICIAL_SCHOOL_HOLIDAYS_2012_2017, "2012-01-01", "2017-12-31")
        frames.append(fb[pd.DatetimeIndex(fb.index).year.isin(missing)])
    table = pd.concat(frames).sort_index() if frames else pd.DataFrame(columns=list(ZONES))
    return table[~table.index.duplicated(keep="first")].astype(bool)


def school_holidays(dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Per naive local date: ``A``/``B``/``C`` as 1.0/0.0, NaN where the calendar is unknown."""
    table = school_holiday_calendar()
    out = table.astype(float).reindex(dates.as_unit("ns"))
    out.index = dates
    unknown = out.isna().any(axis=1)
    if unknown.any():
        log.warning(
            "school holidays unknown for %d day(s) (%s..%s): NaN",
            int(unknown.sum()),
            dates[unknown.to_numpy()].min().date(),
            dates[unknown.to_numpy()].max().date(),
        )
    return out


def is_christmas_break(dates: pd.DatetimeIndex) -> np.ndarray:
    """24 December to 1 January inclusive: the end-of-year industrial and office shutdown."""
    m, d = np.asarray(dates.month), np.asarray(dates.day)
    return ((m == 12) & (d >= 24)) | ((m == 1) & (d == 1))


def is_august_break(dates: pd.DatetimeIndex) -> np.ndarray:
    """The whole of August: when French industry and offices take their summer shutdown."""
    return np.asarray(dates.month == 8)


def holiday_table(first_day: pd.Timestamp | str, last_day: pd.Timestamp | str) -> pd.DataFrame:
    """Holiday columns per naive Paris date ``first_day``..``last_day`` (inclusive), floats.

    A bridge day (*pont*) is a weekday that is not itself a holiday, with a public holiday on
    one side and a non-working day (weekend or holiday) on the other, e.g. the Friday after
    Ascension Thursday. ``is_day_before_holiday``/``is_day_after_holiday`` are computed on
    public holidays only.
    """
    first = pd.Timestamp(first_day).normalize()
    last = pd.Timestamp(last_day).normalize()
    # one day of margin on both sides so bridges at the edges see their neighbours
    days = pd.date_range(first - pd.Timedelta(days=1), last + pd.Timedelta(days=1), freq="D")
    days = days.as_unit("ns")
    hol = public_holidays(days)
    weekend = np.asarray(days.day_of_week >= 5)
    off = hol | weekend
    prev_hol = np.r_[False, hol[:-1]]
    next_hol = np.r_[hol[1:], False]
    prev_off = np.r_[False, off[:-1]]
    next_off = np.r_[off[1:], False]
    bridge = ~off & ((prev_hol & next_off) | (next_hol & prev_off))
    school = school_holidays(days)
    out = pd.DataFrame(
        {
            "is_holiday": hol.astype(float),
            "is_bridge_day": bridge.astype(float),
            "is_day_before_holiday": next_hol.astype(float),
            "is_day_after_holiday": prev_hol.astype(float),
            "school_holiday_a": school["A"].to_numpy(),
            "school_holiday_b": school["B"].to_numpy(),
            "school_holiday_c": school["C"].to_numpy(),
            "school_holiday_zones": school[list(ZONES)].sum(axis=1, skipna=False).to_numpy(),
            "is_christmas_break": is_christmas_break(days).astype(float),
            "is_august_break": is_august_break(days).astype(float),
        },
        index=days,
    )
    return out.iloc[1:-1]


def holiday_features(targets: pd.DatetimeIndex) -> pd.DataFrame:
    """:data:`HOLIDAY_FEATURES` for UTC ``targets`` (by their Paris date), positionally aligned."""
    idx = as_utc_index(targets)
    if not len(idx):
        return pd.DataFrame({c: np.array([], dtype=float) for c in HOLIDAY_FEATURES})
    dates = pd.DatetimeIndex(idx.tz_convert(PARIS).tz_localize(None).normalize()).as_unit("ns")
    table = holiday_table(dates.min(), dates.max())
    pos = table.index.get_indexer(dates)
    return pd.DataFrame(table.to_numpy()[pos], columns=HOLIDAY_FEATURES)
