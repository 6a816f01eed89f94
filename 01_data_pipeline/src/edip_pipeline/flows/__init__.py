"""Prefect 3 flows: ``ingest``, ``backfill`` and ``build_features``.

Each flow is a thin shell over the plain functions of :mod:`edip_pipeline.ingest` and
:mod:`edip_pipeline.features`; it runs locally without a Prefect server (Prefect starts a temporary
one) and is deployed with schedules by :mod:`edip_pipeline.flows.deploy`. Called through
``flow.fn(...)`` (``--no-prefect``) the flows run their tasks as plain functions, so no Prefect
server is started at all.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from edip_pipeline.extras import missing_extra

try:
    from prefect import Flow, Task
    from prefect.context import FlowRunContext
    from prefect.settings import (
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        get_current_settings,
        temporary_settings,
    )
except ImportError as exc:  # the flows' modules all import this package first
    raise missing_extra("flows", exc, feature="edip_pipeline.flows") from exc

R = TypeVar("R")
P = ParamSpec("P")
log = logging.getLogger(__name__)


def run_task(task: Task[Any, R], *args: Any) -> R:
    """``task(*args)`` inside a flow run; the task's plain function outside one (``flow.fn``)."""
    if FlowRunContext.get() is None:
        return task.fn(*args)
    return task(*args)


#: seconds the temporary Prefect server may take to start (Prefect's default, 20 s, is too short
#: on a loaded machine); an explicit PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS wins
EPHEMERAL_STARTUP_S = 120
_EPHEMERAL_FAILURE = "ephemeral Prefect API server"


def flow_runner(flow: Flow[P, R], prefect: bool) -> Callable[P, R]:
    """How the CLI calls a flow: through Prefect, or its plain function (``--no-prefect``).

    With no Prefect server configured (``PREFECT_API_URL`` unset) Prefect starts a temporary
    one; it gets a longer start-up budget, and if it still does not come up the flow runs
    without Prefect after one warning line (the work is the same; only the UI record is lost).
    """
    if not prefect:
        return flow.fn

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        from edip_pipeline.cli_errors import quiet_prefect_tracebacks

        quiet_prefect_tracebacks()  # a failed run: one line on the console, the trace in Prefect
        settings = get_current_settings()
        if settings.api.url:
            return flow(*args, **kwargs)
        updates: dict[Any, Any] = {}
        if "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS" not in os.environ:
            updates[PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS] = max(
                EPHEMERAL_STARTUP_S, settings.server.ephemeral.startup_timeout_seconds
            )
        try:
            with temporary_settings(updates=updates):
                return flow(*args, **kwargs)
        except RuntimeError as exc:
            if _EPHEMERAL_FAILURE not in str(exc):
                raise
        log.warning(
            "the temporary Prefect server did not start: running %s without Prefect", flow.name
        )
        return flow.fn(*args, **kwargs)

    return run
