"""What every connector provides, and small parsing helpers they share.

A connector turns (dataset, period) into canonical rows in two separate steps, so that a file
downloaded by hand goes through exactly the same parser as an API response:

1. ``fetch``: talk HTTP (through :class:`~edip_pipeline.http.HttpClient`), keep every response
   body in the raw layer via ``store.save_raw``, and hand the bodies to ``parse``;
2. ``parse``: pure function from a body to a list of :class:`Batch` (canonical rows per dataset).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.schema import COLUMNS

if TYPE_CHECKING:
    from edip_pipeline.store import Store


@dataclass
class Batch:
    """Canonical rows destined to one store dataset."""

    dataset: str
    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Period:
    """A half-open UTC interval ``[start, end)``."""

    start: pd.Timestamp
    end: pd.Timestamp

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            ts = getattr(self, name)
            if ts.tzinfo is None:
                raise ValueError(f"Period.{name} must be time-zone aware, got {ts}")
        if self.end <= self.start:
            raise ValueError(f"empty period: {self.start} >= {self.end}")

    @classmethod
    def parse(cls, start: str | pd.Timestamp, end: str | pd.Timestamp) -> Period:
        """Dates without a zone are Paris calendar days (what a user means by "2020-01-01")."""
        return cls(_as_utc(start), _as_utc(end))

    def chunks(self, days: int) -> list[Period]:
        out: list[Period] = []
        cur = self.start
        while cur < self.end:
            nxt = min(cur + pd.Timedelta(days=days), self.end)
            out.append(Period(cur, nxt))
            cur = nxt
        return out


def _as_utc(value: str | pd.Timestamp) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        ts = ts.tz_localize(PARIS)
    return ts.tz_convert("UTC")


class Source(Protocol):
    """A connector. ``name`` is what ``edip ingest --source`` takes."""

    name: ClassVar[str]
    #: source dataset ids this connector knows (e.g. ODRE ids), the default set first
    datasets: ClassVar[tuple[str, ...]]
    #: revision-window family per source dataset (keys of ``ingest.revision_window_days``)
    revision_family: ClassVar[dict[str, str]]

    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        """Download ``dataset`` over ``period``, keep raw bodies, return canonical batches."""
        ...

    def target_datasets(self, dataset: str) -> list[str]:
        """Canonical store datasets that ``dataset`` writes (to compute incremental starts)."""
        ...


def lenient_float(value: Any) -> float:
    """A number, a numeric string, ``None``, ``""``, ``"ND"``, ``"S"`` (secret) → float or NaN."""
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("\u202f", "").replace(" ", "")
    if not text or text.upper() in {"ND", "NA", "N/A", "S", "NAN", "-", "NULL"}:
        return math.nan
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return math.nan


def lenient_numbers(values: Iterable[Any]) -> np.ndarray:
    """Vectorised :func:`lenient_float`."""
    return np.fromiter((lenient_float(v) for v in values), dtype=float)


def canonical(
    timestamps: pd.DatetimeIndex | pd.Series,
    values: Iterable[Any],
    *,
    variable: str,
    area: str,
    vintage: int | Iterable[int],
    source: str,
) -> pd.DataFrame:
    """Build canonical rows for one series (flags are set by the cleaner)."""
    ts = pd.DatetimeIndex(timestamps)
    vals = np.asarray(list(values) if not isinstance(values, np.ndarray) else values, dtype=float)
    frame = pd.DataFrame(
        {
            "timestamp": ts,
            "area": area,
            "variable": variable,
            "value": vals,
            "vintage": np.broadcast_to(np.asarray(vintage, dtype="int8"), len(ts)),
            "source": source,
            "flags": np.zeros(len(ts), dtype="int8"),
        }
    )
    return frame[COLUMNS]
