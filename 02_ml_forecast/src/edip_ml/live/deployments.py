"""The loop's deployments: one table of jobs, served by ``edip flows serve`` / ``edip live up``,
mirrored in ``prefect.yaml``, and replayed in fast-forward by :mod:`edip_ml.live.simulate`.

Schedules are Europe/Paris cron strings from :class:`~edip_ml.live.config.LiveSettings`. Each
job's flow is reached by a declared import — the loop's own flows — or, for the ``alerts`` flow of
the dashboard package (which ``edip_ml`` may not import), through the entry-point group
``edip.loop_flows`` that the dashboard's ``pyproject.toml`` declares. An entry is loaded once and
checked to be the Prefect flow of that name; a missing package or a wrong entry leaves the job
out with a warning. ``issue-forecast`` retries a failed run itself (Prefect flow retries, which a
served deployment takes from the flow's decorator); the hourly jobs' next run is their retry, a
failed ``retrain`` waits for next week's. A simulation, which thins the hourly schedules, retries
every job but ``retrain`` in simulated time (:mod:`edip_ml.live.simulate`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import entry_points
from typing import Any

from prefect import Flow

from edip_ml.live.config import LiveSettings, live_settings
from edip_ml.live.intraday import issue_intraday_flow
from edip_ml.live.issue import issue_forecast_flow
from edip_ml.live.retrain import retrain_flow
from edip_ml.live.sync import sync_actuals_flow
from edip_ml.live.update import update_flow

log = logging.getLogger(__name__)

TAGS = ["edip", "loop"]
#: entry points other packages use to contribute a flow to the loop (name = the flow's name)
LOOP_FLOWS_GROUP = "edip.loop_flows"


@dataclass(frozen=True)
class LoopJob:
    """One deployment of the loop."""

    name: str  # deployment name (and the flow's name)
    flow: Flow[..., Any]
    cron: str  # Europe/Paris
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)
    retry: bool = True  # a failed run is retried (retrain: next week; a retry would retrain)

    @property
    def entrypoint(self) -> str:
        """``module:function`` of the flow (what ``prefect.yaml`` names)."""
        return f"{self.flow.fn.__module__}:{self.flow.fn.__name__}"


@cache
def contributed_flow(name: str) -> Flow[..., Any] | None:
    """The flow another package declares for the loop under ``name`` (``None``: left out)."""
    found = [ep for ep in entry_points(group=LOOP_FLOWS_GROUP) if ep.name == name]
    if not found:
        log.warning(
            "no %s entry point %r (package not installed): left out", LOOP_FLOWS_GROUP, name
        )
        return None
    try:
        obj = found[0].load()
    except Exception as exc:  # a broken package must not stop the loop's own jobs
        log.warning("entry point %s could not be loaded (%s): left out", found[0].value, exc)
        return None
    if not isinstance(obj, Flow) or obj.name != name:
        log.warning("entry point %s is not the Prefect flow %r: left out", found[0].value, name)
        return None
    return obj


def loop_jobs(settings: LiveSettings | None = None) -> list[LoopJob]:
    """The loop's deployments with their schedules (the ingest ones live in edip_pipeline)."""
    s = settings or live_settings()
    jobs = [
        LoopJob("issue-forecast", issue_forecast_flow, s.issue_schedule,
                "Data-quality gate, then tomorrow's forecast via the API, recorded (catch-up)."),
        LoopJob("issue-intraday", issue_intraday_flow, s.intraday_cron,
                "Intraday re-issues of today and tomorrow from the latest data, recorded."),
        LoopJob("sync-actuals", sync_actuals_flow, s.sync_cron,
                "Measured load and RTE's D-1 forecast from the store into the log store."),
        LoopJob("update", update_flow, s.update_cron,
                "Scores of yesterday; the champion's online update when its family has one."),
        LoopJob("retrain", retrain_flow, s.retrain_cron,
                "Challengers on fresh data, promotion gate weighing the champion's live error.",
                retry=False),
    ]  # fmt: skip
    alerts = contributed_flow("alerts")
    if alerts is not None:
        jobs.append(LoopJob("alerts", alerts, s.alerts_cron,
                            "Alert rules (incl. no forecast for tomorrow by 13:00, actuals stale, "
                            "store damaged) → webhook."))  # fmt: skip
    return jobs


def runner_deployments(settings: LiveSettings | None = None) -> list[Any]:
    """The loop's deployments for ``prefect.serve`` (entry point ``edip.deployments``)."""
    from prefect.schedules import Cron

    s = settings or live_settings()
    out = []
    for job in loop_jobs(s):
        out.append(
            job.flow.to_deployment(
                name=job.name,
                schedules=[Cron(job.cron, timezone=s.timezone)],
                parameters=job.parameters,
                tags=[*TAGS, job.name],
                description=job.description,
            )
        )
    return out
