"""Prefect 3 flows: ``ingest``, ``backfill`` and ``build_features``.

Each flow is a thin shell over the plain functions of :mod:`edip_pipeline.ingest` and
:mod:`edip_pipeline.features`; it runs locally without a Prefect server (Prefect starts a temporary
one) and is deployed with schedules by :mod:`edip_pipeline.flows.deploy`. Called through
``flow.fn(...)`` (``--no-prefect``) the flows run their tasks as plain functions, so no Prefect
server is started at all.
"""

from __future__ import annotations

from typing import Any, TypeVar

from prefect import Task
from prefect.context import FlowRunContext

R = TypeVar("R")


def run_task(task: Task[Any, R], *args: Any) -> R:
    """``task(*args)`` inside a flow run; the task's plain function outside one (``flow.fn``)."""
    if FlowRunContext.get() is None:
        return task.fn(*args)
    return task(*args)
