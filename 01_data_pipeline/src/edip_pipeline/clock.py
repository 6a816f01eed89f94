"""The one clock of EDIP: every "now" of the daily loop, the API and the ingest reads it here.

Why one place: the same deployments run live (wall clock) and in fast-forward over history
(``edip live simulate``). The simulator moves a *clock file*; every process that has
``EDIP_CLOCK_FILE`` in its environment (the API, the flows, the dashboard's API calls) then reads
the same simulated instant, so no step can see data "from the future" by asking the wrong clock.

Order of precedence, read at each call (a moved clock file is seen at once, across processes):

1. ``EDIP_CLOCK_FILE``: a file holding one ISO-8601 instant with offset (when the file exists);
2. ``EDIP_NOW``: a fixed ISO-8601 instant with offset;
3. the wall clock (UTC).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from edip_pipeline.calendar import PARIS

CLOCK_FILE_ENV = "EDIP_CLOCK_FILE"
NOW_ENV = "EDIP_NOW"


class ClockError(ValueError):
    """The configured clock holds something that is not an aware ISO instant."""


def _parse(value: str, where: str) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value.strip())
    except ValueError as exc:
        raise ClockError(f"{where} holds {value!r}, not an ISO instant: {exc}") from exc
    if pd.isna(ts) or ts.tzinfo is None:
        raise ClockError(f"{where} holds {value!r}: an instant with a UTC offset is required")
    return ts.tz_convert("UTC")


def clock_file() -> Path | None:
    """The clock file named by ``EDIP_CLOCK_FILE`` (``None`` when unset)."""
    value = os.environ.get(CLOCK_FILE_ENV)
    return Path(value) if value else None


def now() -> pd.Timestamp:
    """The current instant, aware UTC (see the module doc for where it comes from)."""
    path = clock_file()
    if path is not None and path.is_file():
        return _parse(path.read_text(), f"{CLOCK_FILE_ENV} {path}")
    fixed = os.environ.get(NOW_ENV)
    if fixed:
        return _parse(fixed, NOW_ENV)
    return pd.Timestamp(datetime.now(UTC))


def now_paris() -> pd.Timestamp:
    """:func:`now` in Europe/Paris (the loop's schedules are Paris wall-clock times)."""
    return now().tz_convert(PARIS)


def is_simulated() -> bool:
    """Whether "now" is not the wall clock (a clock file or a fixed ``EDIP_NOW``)."""
    path = clock_file()
    return bool((path is not None and path.is_file()) or os.environ.get(NOW_ENV))


def set_clock(path: Path, instant: pd.Timestamp | datetime | str) -> pd.Timestamp:
    """Move the clock file at ``path`` to ``instant`` (atomic replace); returns it in UTC."""
    ts = _parse(str(pd.Timestamp(instant).isoformat()), "the new clock value")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(ts.isoformat())
    os.replace(tmp, path)
    return ts
