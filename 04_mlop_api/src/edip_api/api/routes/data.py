"""``GET /v1/data/status`` (datasets, Prefect flow runs) and ``GET /v1/features`` (drift page)."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Query

from edip_api.api.deps import ForecastsDep
from edip_api.schemas_data import DataStatus, FeatureRows
from edip_api.services.data_status import dataset_rows
from edip_api.services.errors import InvalidRequestError
from edip_api.services.prefect_runs import recent_runs

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["data"])


@router.get("/data/status", response_model=DataStatus, summary="Datasets and recent flow runs")
def data_status(forecasts: ForecastsDep) -> DataStatus:
    datasets = dataset_rows(forecasts.view, forecasts.now())
    runs, reachable = recent_runs()
    return DataStatus(datasets=datasets, flow_runs=runs, prefect_reachable=reachable)


@router.get(
    "/features",
    response_model=FeatureRows,
    summary="Day-ahead feature rows (origin D-1 12:00 Paris) of target days start..end",
)
def features(
    forecasts: ForecastsDep,
    start: Annotated[str, Query(max_length=40, examples=["2020-12-01"])],
    end: Annotated[str, Query(max_length=40, examples=["2020-12-31"])],
    columns: Annotated[
        str,
        Query(
            max_length=4000,
            description="Comma-separated feature names; load_mw = the actual target.",
            examples=["load_lag_1d,load_mw"],
        ),
    ] = "load_mw",
) -> FeatureRows:
    cols = [c.strip() for c in columns.split(",") if c.strip()]
    if not cols:
        raise InvalidRequestError("columns must name at least one feature")
    frame = forecasts.feature_rows(start, end, list(dict.fromkeys(cols)))
    values = frame.to_numpy(dtype=float)
    items: list[dict[str, Any]] = []
    for t, row in zip(frame.index, values, strict=True):
        item: dict[str, Any] = {"target_time": pd.Timestamp(t).isoformat()}
        item.update(
            {
                c: (float(v) if np.isfinite(v) else None)
                for c, v in zip(frame.columns, row, strict=True)
            }
        )
        items.append(item)
    return FeatureRows(columns=list(frame.columns), items=items)
