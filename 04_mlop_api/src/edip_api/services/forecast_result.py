"""What a forecast request answers: the served result as arrays and plain values, cheap to cache.

Why its own module: the cached path renders and logs these per request, so they keep their
expensive conversions (pandas → datetime, schema rendering) memoised per result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from pydantic import TypeAdapter

from edip_api.db.records import PredictionRecord
from edip_api.schemas import ForecastPoint
from edip_api.services.model_manager import ServedModel
from edip_api.services.store_view import DataSnapshot
from edip_api.services.variant import variant_note
from edip_pipeline.calendar import PARIS
from edip_pipeline.contract import WITHOUT_RTE


def weather_note(trained: str | None, served: str) -> str | None:
    """What a response says when the weather served is not the weather the model learnt from.

    Why: a model trained with temperatures and served without them (a weather feed down), or
    trained on observed weather and served with forecasts, still answers; the user must know that
    its backtest error does not describe this forecast.
    """
    if not trained or trained == served:
        return None
    return f"model trained with weather '{trained}', served with '{served}'"


@dataclass(frozen=True)
class ForecastResult:
    """A forecast as the route serialises it (arrays, not objects: cheap to cache)."""

    model: ServedModel
    origin: pd.Timestamp
    targets: pd.DatetimeIndex
    quantiles: np.ndarray  # [N, 3]
    weather_source: str
    data: DataSnapshot
    #: ``with_rte`` / ``without_rte`` (:meth:`ServedModel.variant`): the whole forecast is one
    variant: str = WITHOUT_RTE

    @property
    def weather_note(self) -> str | None:
        return weather_note(self.model.trained_weather_source, self.weather_source)

    @property
    def variant_note(self) -> str | None:
        return variant_note(self.model.takes_rte, self.variant)

    @cached_property
    def origin_datetime(self) -> datetime:
        """The (UTC) origin as the response and the log write it: converted once per result."""
        return self.origin.to_pydatetime()

    @property
    def horizons_h(self) -> np.ndarray:
        return np.asarray((self.targets - self.origin) / pd.Timedelta(hours=1), dtype=float)

    @cached_property
    def points(self) -> tuple[PointValues, ...]:
        """Plain Python values per target, computed once per cached result (the hot path of a
        repeated forecast: pandas → datetime conversions cost more than the model)."""
        paris = self.targets.tz_convert(PARIS)
        q = self.quantiles
        return tuple(
            PointValues(
                t.to_pydatetime(),
                tp.to_pydatetime(),
                float(h),
                _finite_or_none(q[i, 0]),
                float(q[i, 1]),
                _finite_or_none(q[i, 2]),
            )
            for i, (t, tp, h) in enumerate(zip(self.targets, paris, self.horizons_h, strict=True))
        )

    @cached_property
    def point_records(self) -> tuple[PredictionRecord, ...]:
        """The points as validated log records, built once per cached result; each request logs
        copies under its own id, latency and time (``PredictionRecord.copies``)."""
        info = self.model.info
        return tuple(
            PredictionRecord(
                request_id="-",  # replaced per request
                model_name=info.name,
                model_version=info.version or "",
                origin=self.origin_datetime,
                target_time=p.target_time,
                horizon_h=p.horizon_h,
                p10=p.p10,
                p50=p.p50,
                p90=p.p90,
                latency_ms=0.0,
                created_at=self.origin_datetime,
                endpoint="forecast",
                variant=self.variant,
            )
            for p in self.points
        )

    @cached_property
    def rendered(self) -> dict[Any, bytes]:  # the routes' memo of rendered response parts
        return {}

    @cached_property
    def points_json(self) -> bytes:
        """The response's ``points`` array, rendered once by its schema (the bulk of a body)."""
        points = [ForecastPoint.model_construct(**p._asdict()) for p in self.points]
        return _POINTS.dump_json(points)


_POINTS: TypeAdapter[list[ForecastPoint]] = TypeAdapter(list[ForecastPoint])


class PointValues(NamedTuple):
    """One forecast point as plain values (UTC and Paris target time, horizon, quantiles)."""

    target_time: datetime
    target_time_paris: datetime
    horizon_h: float
    p10: float | None
    p50: float
    p90: float | None


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None  # NaN / inf → null
