"""Plain records crossing the log store boundary, validated at construction.

Validation happens here, on the request path, so that a bad value (naive time, NaN) fails the one
request that produced it instead of poisoning a whole batch in the background writer.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

ENDPOINTS = ("forecast", "predict")
#: which combination a point is (``edip_pipeline.contract``); None in rows logged before 0004
VARIANTS = ("with_rte", "without_rte")


def _aware_utc(name: str, value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be tz-aware (UTC), got naive {value.isoformat()}")
    value = value.astimezone(UTC)
    # a subclass (pandas.Timestamp) becomes a plain datetime every driver adapts
    return datetime.combine(value.date(), value.timetz())


def _finite(name: str, value: Any, *, optional: bool) -> float | None:
    if value is None:
        if optional:
            return None
        raise ValueError(f"{name} is required")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {number}")
    return number


def _text(name: str, value: Any, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not allow_empty and not value:
        raise ValueError(f"{name} must not be empty")
    return value


@dataclass(frozen=True, slots=True)
class PredictionRecord:
    """One served point; the idempotent key is (request_id, target_time)."""

    request_id: str
    model_name: str
    model_version: str  # "" for the fallback / unversioned
    origin: datetime
    target_time: datetime
    horizon_h: float
    p10: float | None
    p50: float
    p90: float | None
    latency_ms: float
    created_at: datetime
    endpoint: str = "forecast"
    #: ``with_rte`` / ``without_rte``: with or without RTE's D-1 forecast as an expert
    variant: str | None = "without_rte"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "request_id", _text("request_id", self.request_id, allow_empty=False))
        set_(self, "model_name", _text("model_name", self.model_name, allow_empty=False))
        set_(self, "model_version", _text("model_version", self.model_version, allow_empty=True))
        for name in ("origin", "target_time", "created_at"):
            set_(self, name, _aware_utc(name, getattr(self, name)))
        for name, optional in (
            ("horizon_h", False),
            ("p10", True),
            ("p50", False),
            ("p90", True),
            ("latency_ms", False),
        ):
            set_(self, name, _finite(name, getattr(self, name), optional=optional))
        if self.endpoint not in ENDPOINTS:
            raise ValueError(f"endpoint must be one of {ENDPOINTS}, got {self.endpoint!r}")
        if self.variant is not None and self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")

    @classmethod
    def copies(
        cls,
        templates: Sequence[PredictionRecord],
        request_id: str,
        latency_ms: float,
        created_at: datetime,
    ) -> list[PredictionRecord]:
        """The (validated) template points as one request's records: only the request's own
        values are checked, once. Why: a cached forecast is answered again and again, and
        validating its 24 unchanged points per request cost more than the answer's JSON."""
        own = (
            _text("request_id", request_id, allow_empty=False),
            _finite("latency_ms", latency_ms, optional=False),
            _aware_utc("created_at", created_at),
        )
        new = object.__new__
        out = []
        for template in templates:
            if not isinstance(template, PredictionRecord):
                raise TypeError(f"expected PredictionRecord, got {type(template).__name__}")
            record = new(cls)
            # the slots' own setters over the template's values (one C call each: a copy of
            # 24 points is half the cost of setattr by name)
            for setter, value in zip(_SLOT_SETTERS, (*_SHARED(template), *own), strict=True):
                setter(record, value)
            out.append(record)
        return out

    def to_row(self) -> dict[str, Any]:
        """Column values of the ``predictions`` table."""
        return {name: getattr(self, name) for name in self.__slots__}

    def to_json(self) -> dict[str, Any]:
        """JSON-safe dict (ISO 8601 times), the spill file's line format."""
        row = self.to_row()
        for name in ("origin", "target_time", "created_at"):
            row[name] = row[name].isoformat()
        return row

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PredictionRecord:
        """Inverse of :meth:`to_json`; raises ValueError/TypeError/KeyError on a malformed line."""
        values = dict(data)
        for name in ("origin", "target_time", "created_at"):
            values[name] = datetime.fromisoformat(values[name])
        return cls(**values)


#: the fields a request's copy of a cached point shares with its template, then its own ones
_OWN_FIELDS = ("request_id", "latency_ms", "created_at")
_SHARED_FIELDS = tuple(n for n in PredictionRecord.__slots__ if n not in _OWN_FIELDS)
_SHARED = attrgetter(*_SHARED_FIELDS)
_SLOT_SETTERS = tuple(
    getattr(PredictionRecord, name).__set__ for name in (*_SHARED_FIELDS, *_OWN_FIELDS)
)


@dataclass(frozen=True, slots=True)
class ActualRecord:
    """Observed load at one timestamp; None means unknown and never overwrites a stored value."""

    timestamp: datetime
    consumption_mw: float | None
    rte_forecast_d1_mw: float | None = None
    source: str = "api"

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "timestamp", _aware_utc("timestamp", self.timestamp))
        set_(self, "consumption_mw", _finite("consumption_mw", self.consumption_mw, optional=True))
        set_(
            self,
            "rte_forecast_d1_mw",
            _finite("rte_forecast_d1_mw", self.rte_forecast_d1_mw, optional=True),
        )
        set_(self, "source", _text("source", self.source, allow_empty=False))
