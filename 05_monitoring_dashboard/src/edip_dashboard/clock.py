"""The dashboard's time: its "now" (the wall clock, or the API's latest data time during a
replay) and the one Paris zone every page, metric and alert reads local time in.

Why: the bundled sample ends 2020-12-31; a demo replaying December 2020 must show that December,
not an empty "last 7 days" of today. The rule is explicit and shared by the pages and the alerts.
The dashboard imports no other EDIP package, so it keeps its own Paris helpers here.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from edip_dashboard.client import MAX_LIST_RANGE, ApiClient

log = logging.getLogger(__name__)

PARIS = "Europe/Paris"


def parse_time(value: str | datetime | None) -> datetime | None:
    """An ISO string or datetime → aware UTC datetime (naive is read as UTC); ``None`` stays."""
    if value is None or value == "":
        return None
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert("UTC").to_pydatetime()


def to_paris(times: Any) -> pd.Series:
    """UTC instants (ISO strings or timestamps, a Series) as Paris-local timestamps."""
    return pd.to_datetime(times, utc=True).dt.tz_convert(PARIS)


def paris_day(times: pd.Series) -> pd.Series:
    """The Paris calendar day (``datetime.date``) of each UTC instant."""
    return to_paris(times).dt.date


def paris_text(value: datetime | pd.Timestamp | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time as Paris wall-clock text ('—' when missing; naive is read as UTC)."""
    if value is None or value == "":
        return "—"
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return stamp.tz_convert(PARIS).strftime(fmt)


def floor_hour(value: datetime) -> datetime:
    """``value`` floored to the hour (UTC)."""
    return value.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def resolve_now(
    wall: datetime,
    latest_data: datetime | None,
    replay_gap_h: float,
    pinned: datetime | None = None,
) -> datetime:
    """The effective now, floored to the hour.

    ``pinned`` (``EDIP_REPLAY_NOW``) wins; otherwise, when the latest data time is more than
    ``replay_gap_h`` before the wall clock, the period is a replay and now = that data time
    (plus one hour, so the last data hour is inside ``[now − 7 d, now)``).
    """
    if pinned is not None:
        return floor_hour(pinned)
    if latest_data is not None and wall - latest_data > timedelta(hours=replay_gap_h):
        return floor_hour(latest_data) + timedelta(hours=1)
    return floor_hour(wall)


def last_actual_time(client: ApiClient, before: datetime) -> datetime | None:
    """Timestamp of the last actual stored by the API in the 92 days before ``before``."""
    start = before - MAX_LIST_RANGE + timedelta(hours=1)
    first = client.actuals_page(start, before, limit=1)
    total = int(first.get("total") or 0)
    if total == 0:
        return None
    last = client.actuals_page(start, before, limit=1, offset=total - 1)
    items: list[dict[str, Any]] = list(last.get("items") or [])
    return parse_time(items[-1]["timestamp"]) if items else None


def latest_data_time(client: ApiClient, ready: dict[str, Any], wall: datetime) -> datetime | None:
    """The API's latest data time: its last stored actual, else the store's last timestamp."""
    store_last = parse_time((ready.get("store") or {}).get("last_timestamp"))
    anchor = min(wall, store_last + timedelta(hours=1)) if store_last else wall
    found = last_actual_time(client, anchor)
    return found or store_last


def effective_now(
    client: ApiClient,
    replay_gap_h: float,
    pinned: datetime | None = None,
    wall: datetime | None = None,
    ready: dict[str, Any] | None = None,
) -> datetime:
    """:func:`resolve_now` fed from the API (``/ready`` and ``/v1/actuals``)."""
    wall = wall or datetime.now(UTC)
    if pinned is not None:
        return floor_hour(pinned)
    ready = ready if ready is not None else client.ready()
    return resolve_now(wall, latest_data_time(client, ready, wall), replay_gap_h)
