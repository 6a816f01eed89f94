"""ENTSO-E answers and exports → hourly canonical rows of ``load_entsoe``.

* API: a ``GL_MarketDocument`` (A65) parsed by entsoe-py (``parse_loads``: periods in UTC,
  ``PT15M``/``PT30M``/``PT60M``, curve type A03's omitted positions repeated), or an
  ``Acknowledgement_MarketDocument`` whose reason says why there is nothing ("No matching data
  found" is an empty answer, anything else an error).
* File: the platform's CSV export "Total Load - Day Ahead / Actual": ``Time (UTC)`` periods
  written ``dd.mm.yyyy HH:MM - dd.mm.yyyy HH:MM``, then the day-ahead forecast and the actual
  (``… [MW] - BZN|FR``), ``N/A``/``-`` when missing, hourly or quarter-hourly.

Both become hourly means (:func:`hourly_means`): an hour is kept only when its points tile it
(one hourly value, two half-hours or four quarters), so a mean never stands on part of an hour.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
from bs4 import XMLParsedAsHTMLWarning
from entsoe.parsers import parse_loads

from edip_pipeline.http import SourceError
from edip_pipeline.schema import COLUMNS, Vintage, empty_frame
from edip_pipeline.sources.base import Batch, canonical, lenient_numbers

DATASET = "total-load"
STORE_DATASET = "load_entsoe"
AREA = "FR"
FORECAST = "entsoe_forecast_d1_mw"
ACTUAL = "entsoe_actual_mw"
#: processType → (canonical variable, vintage)
PROCESS: dict[str, tuple[str, Vintage]] = {
    "A01": (FORECAST, Vintage.FORECAST),
    "A16": (ACTUAL, Vintage.REALTIME),
}
ATTRIBUTION = "ENTSO-E Transparency Platform (RTE data), total load [6.1.A/6.1.B]"
NO_DATA = "No matching data found"
#: minutes of the points that tile one hour, per resolution
TILINGS = ({0}, {0, 30}, {0, 15, 30, 45})
HOUR = pd.Timedelta(hours=1)


@contextmanager
def quiet_soup() -> Iterator[None]:
    """entsoe-py reads XML with BeautifulSoup's HTML parser on purpose: silence its warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        yield


def hourly_means(values: pd.Series) -> tuple[pd.Series, int]:
    """Hourly means of a UTC series of 60/30/15-min values; hours not tiled are dropped.

    Returns the means and the number of hours dropped as incomplete.
    """
    values = values.dropna()
    if values.empty:
        return values.astype(float), 0
    index = pd.DatetimeIndex(values.index)
    frame = pd.DataFrame({"v": values.to_numpy(dtype=float), "m": index.minute}, index=index)
    groups = frame.groupby(index.floor("h"))
    minutes = groups["m"].agg(frozenset)
    complete = minutes.map(lambda m: set(m) in TILINGS)
    means = groups["v"].mean()[complete]
    return means, int((~complete).sum())


def _rows(hourly: pd.Series, process: str, source: str) -> pd.DataFrame:
    variable, vintage = PROCESS[process]
    if hourly.empty:
        return empty_frame()
    ts = pd.DatetimeIndex(hourly.index).tz_convert("UTC").as_unit("ns")
    return canonical(
        ts, hourly.to_numpy(), variable=variable, area=AREA, vintage=int(vintage), source=source
    )


def acknowledgement_reason(text: str) -> str | None:
    """The ``<text>`` reason of an acknowledgement document, None for any other document."""
    if "Acknowledgement_MarketDocument" not in text[:500]:
        return None
    found = re.search(r"<text>(.*?)</text>", text, re.S)
    return found.group(1).strip() if found else "acknowledgement without a reason"


def parse_document(
    text: str, process: str, *, url: str, source: str
) -> tuple[pd.DataFrame, list[str]]:
    """Canonical hourly rows of one A65 answer for ``process`` (A01 or A16), and notes."""
    reason = acknowledgement_reason(text)
    if reason is not None:
        if NO_DATA in reason:
            return empty_frame(), [f"{process}: {reason}"]
        raise SourceError(DATASET, url, f"ENTSO-E refused the query: {reason}")
    if "GL_MarketDocument" not in text[:500]:
        raise SourceError(DATASET, url, f"not a GL_MarketDocument: {text[:120]!r}")
    try:
        with quiet_soup():
            frame = parse_loads(text, process_type=process)
    except (ValueError, AttributeError, TypeError) as exc:
        raise SourceError(DATASET, url, f"unreadable GL_MarketDocument: {exc!r}") from exc
    series = frame.iloc[:, 0] if len(frame.columns) else pd.Series(dtype=float)
    hourly, incomplete = hourly_means(pd.to_numeric(series, errors="coerce"))
    notes = [f"{process}: {incomplete} incomplete hour(s) left out"] if incomplete else []
    return _rows(hourly, process, source), notes


# --------------------------------------------------------------------------- CSV export
TIME_UTC = "Time (UTC)"
PERIOD_FORMAT = "%d.%m.%Y %H:%M"
COLUMN_PATTERNS: dict[str, re.Pattern[str]] = {
    "A01": re.compile(r"^Day-ahead Total Load Forecast \[MW\] - \w+\|FR$"),
    "A16": re.compile(r"^Actual Total Load \[MW\] - \w+\|FR$"),
}


def _export_columns(columns: list[str], where: str) -> dict[str, str]:
    if TIME_UTC not in columns:
        local = [c for c in columns if c.startswith("Time (")]
        hint = f" (found {local[0]!r}: export it in UTC)" if local else ""
        raise ValueError(f"{where}: no {TIME_UTC!r} column{hint}")
    found = {
        process: next((c for c in columns if pattern.match(c)), None)
        for process, pattern in COLUMN_PATTERNS.items()
    }
    if not any(found.values()):
        raise ValueError(
            f"{where}: neither 'Day-ahead Total Load Forecast [MW] - BZN|FR' nor "
            f"'Actual Total Load [MW] - BZN|FR' among {columns}"
        )
    return {p: c for p, c in found.items() if c}


def parse_export(content: bytes, *, where: str) -> tuple[pd.DataFrame, list[str]]:
    """Canonical hourly rows and notes from a "Total Load - Day Ahead / Actual" CSV export."""
    text = content.decode("utf-8-sig")
    sep = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    raw = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False)
    columns = _export_columns([str(c).strip() for c in raw.columns], where)
    raw.columns = [str(c).strip() for c in raw.columns]
    bounds = raw[TIME_UTC].str.split(" - ", n=1, expand=True)
    if bounds.shape[1] != 2:
        raise ValueError(f"{where}: periods must read 'dd.mm.yyyy HH:MM - dd.mm.yyyy HH:MM'")
    try:
        start = pd.to_datetime(bounds[0].str.strip(), format=PERIOD_FORMAT, utc=True)
        end = pd.to_datetime(bounds[1].str.strip(), format=PERIOD_FORMAT, utc=True)
    except ValueError as exc:
        raise ValueError(f"{where}: unreadable period: {exc}") from exc
    length = end - start
    if not length.isin([pd.Timedelta(minutes=m) for m in (15, 30, 60)]).all():
        raise ValueError(f"{where}: periods must last 15, 30 or 60 minutes")
    frames, notes = [], []
    for process, column in columns.items():
        values = pd.Series(lenient_numbers(raw[column]), index=pd.DatetimeIndex(start))
        hourly, incomplete = hourly_means(values)
        frames.append(_rows(hourly, process, f"entsoe:{DATASET}:file"))
        missing = int(np.isnan(values.to_numpy()).sum())
        notes.append(f"{column}: {len(hourly)} hours, {missing} missing value(s)")
        if incomplete:
            notes.append(f"{column}: {incomplete} incomplete hour(s) left out")
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    return frame.sort_values(["timestamp", "variable"]).reset_index(drop=True)[COLUMNS], notes


def parse_file(dataset: str, path: Path) -> list[Batch]:
    """``edip ingest --source entsoe --from-file``: one CSV export of the platform."""
    if dataset != DATASET:
        raise ValueError(f"entsoe has one dataset, {DATASET!r}, not {dataset!r}")
    frame, notes = parse_export(path.read_bytes(), where=str(path))
    return [Batch(STORE_DATASET, frame, [ATTRIBUTION, *notes])]
