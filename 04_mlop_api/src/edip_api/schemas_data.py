"""Bodies of the data routes (``/v1/data/*``): the store's datasets, the flows' runs, feature rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class DatasetStatus(BaseModel):
    dataset: str
    variable: str
    rows: int
    first: datetime | None
    last: datetime | None
    age_hours: float | None
    missing_steps: int
    data_version: str | None


class FlowRun(BaseModel):
    name: str
    state: str | None
    start_time: datetime | None
    end_time: datetime | None


class LoopRun(BaseModel):
    flow: str
    name: str
    state: str | None
    start_time: datetime | None
    expected_start_time: datetime | None


class DataStatus(BaseModel):
    datasets: list[DatasetStatus]
    flow_runs: list[FlowRun]
    prefect_reachable: bool


class FeatureRows(BaseModel):
    columns: list[str]
    items: list[dict[str, Any]] = Field(
        description="{'target_time': ISO UTC, '<column>': float | null, …} per row."
    )
