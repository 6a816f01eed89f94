"""The loop's deployments: one table of jobs, served by ``edip flows serve`` / ``edip live up``,
mirrored in ``prefect.yaml``, and replayed in fast-forward by :mod:`edip_ml.live.simulate`.

Schedules are Europe/Paris cron strings from :class:`~edip_ml.live.config.LiveSettings`. The
``alerts`` flow belongs to the dashboard package: it is loaded by reference and left out (with a
warning) where that package is not installed.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

from edip_ml.live.config import LiveSettings, live_settings

log = logging.getLogger(__name__)

TAGS = ["edip", "loop"]


@dataclass(frozen=True)
class LoopJob:
    """One deployment of the loop."""

    name: str  # deployment name (and the flow's name)
    flow: str  # "module:attribute" of the Prefect flow
    cron: str  # Europe/Paris
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


def loop_jobs(settings: LiveSettings | None = None) -> list[LoopJob]:
    """The loop's deployments with their schedules (the ingest ones live in edip_pipeline)."""
    s = settings or live_settings()
    return [
        LoopJob("issue-forecast", "edip_ml.live.issue:issue_forecast_flow", s.issue_schedule,
                "Data-quality gate, then tomorrow's forecast via the API, recorded (catch-up).",),
        LoopJob("sync-actuals", "edip_ml.live.sync:sync_actuals_flow", s.sync_cron,
                "Measured load and RTE's D-1 forecast from the store into the log store."),
        LoopJob("update", "edip_ml.live.update:update_flow", s.update_cron,
                "Scores of yesterday; the champion's online update when its family has one."),
        LoopJob("retrain", "edip_ml.live.retrain:retrain_flow", s.retrain_cron,
                "Challengers on fresh data, promotion gate weighing the champion's live error."),
        LoopJob("alerts", "edip_dashboard.flows:alerts_flow", s.alerts_cron,
                "Alert rules (incl. no forecast for tomorrow by 13:00, actuals stale) → webhook."),
    ]  # fmt: skip


def load_flow(ref: str) -> Any | None:
    """The flow object behind ``module:attribute`` (``None`` if its package is not installed)."""
    module, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except ImportError as exc:
        log.warning("flow %s not available (%s): its deployment is left out", ref, exc)
        return None


def runner_deployments(settings: LiveSettings | None = None) -> list[Any]:
    """The loop's deployments for ``prefect.serve`` (entry point ``edip.deployments``)."""
    from prefect.schedules import Cron

    s = settings or live_settings()
    out = []
    for job in loop_jobs(s):
        flow = load_flow(job.flow)
        if flow is None:
            continue
        out.append(
            flow.to_deployment(
                name=job.name,
                schedules=[Cron(job.cron, timezone=s.timezone)],
                parameters=job.parameters,
                tags=[*TAGS, job.name],
                description=job.description,
            )
        )
    return out
