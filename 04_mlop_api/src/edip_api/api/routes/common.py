"""Helpers shared by the routes: request ids, time ranges and paging."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pandas as pd
from fastapi import Request

from edip_api.middleware import new_request_id
from edip_api.services.errors import InvalidRequestError
from edip_api.services.forecast import utc

MAX_RANGE = pd.Timedelta(days=92)
DEFAULT_RANGE = pd.Timedelta(days=7)
MAX_LIMIT = 5000
_WINDOW = re.compile(r"^([0-9]{1,4})([hd])$")  # ASCII digits: \d also matches "２４"

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "X-Request-ID already names a different logged forecast"}
}


def request_id(request: Request) -> str:
    """The id the middleware gave this request (also the X-Request-ID header)."""
    rid: str | None = getattr(request.state, "request_id", None)
    return rid or new_request_id()


def holds_key(request: Request) -> bool:
    """Whether the request carries the API key (the middleware checked it once)."""
    return bool(getattr(request.state, "keyed", False))


def client_request_id(request: Request) -> bool:
    """Whether the client chose the request id (it must then name one forecast only)."""
    return bool(getattr(request.state, "request_id_from_client", False))


def time_range(
    start: datetime | None, end: datetime | None, now: pd.Timestamp
) -> tuple[datetime, datetime]:
    """``[start, end)`` in UTC; default the last 7 days before now; capped at 92 days."""
    t1 = utc(end) if end is not None else now
    t0 = utc(start) if start is not None else t1 - DEFAULT_RANGE
    if t1 <= t0:
        raise InvalidRequestError(f"end {t1.isoformat()} must be after start {t0.isoformat()}")
    start_dt, end_dt = t0.to_pydatetime(), t1.to_pydatetime()
    span = end_dt - start_dt  # datetime arithmetic: 1900..2199 overflows a pandas Timedelta
    if span > MAX_RANGE.to_pytimedelta():
        raise InvalidRequestError(f"range of {span.days} days exceeds {MAX_RANGE.days} days")
    return start_dt, end_dt


def parse_window(window: str) -> pd.Timedelta:
    """``24h``, ``7d``, ``28d`` … (at most 92 days)."""
    m = _WINDOW.match(window.strip())
    if not m:
        raise InvalidRequestError(f"window {window!r} must look like 24h or 7d")
    n, unit = int(m.group(1)), m.group(2)
    span = pd.Timedelta(hours=n) if unit == "h" else pd.Timedelta(days=n)
    if span <= pd.Timedelta(0) or span > MAX_RANGE:
        raise InvalidRequestError(f"window {window!r} must be within 1h..{MAX_RANGE.days}d")
    return span


def next_offset(offset: int, returned: int, total: int) -> int | None:
    return offset + returned if offset + returned < total else None
