"""Serve the flows with their schedules: real-time data hourly, consolidated data daily, and the
daily operating loop contributed by the other packages.

``edip flows serve`` (or ``python -m edip_pipeline.flows.deploy``) registers the deployments with
the Prefect server at ``PREFECT_API_URL`` and runs them in this process. ``prefect.yaml`` at the
repository root describes the same deployments for a work pool. Every schedule is a cron string
in Europe/Paris.

Other packages add deployments through the entry-point group ``edip.deployments``: each entry is
a callable returning ``RunnerDeployment`` objects (``edip_ml`` adds the loop: issue-forecast,
sync-actuals, update, retrain, alerts). The pipeline never imports them by name, so dependencies
still point one way.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points
from typing import Any

from prefect import serve
from prefect.schedules import Cron

from edip_pipeline.calendar import PARIS
from edip_pipeline.flows.build_features import build_features_flow
from edip_pipeline.flows.ingest import ingest_flow

log = logging.getLogger(__name__)

DEPLOYMENTS_GROUP = "edip.deployments"
REALTIME_PLAN = [
    ("odre", "eco2mix-national-tr"),
    ("odre", "eco2mix-regional-tr"),
    ("openmeteo", "forecast"),
]
CONSOLIDATED_PLAN = [
    ("odre", "eco2mix-national-cons-def"),
    ("odre", "eco2mix-regional-cons-def"),
    ("odre", "temperature-quotidienne-regionale"),
    ("openmeteo", "archive"),
    ("openmeteo", "historical-forecast"),
    ("openmeteo", "previous-runs"),
    ("enedis", "conso-inf36-region"),
    ("enedis", "conso-sup36-region"),
]


#: RTE's D-1 forecast and the actual from ENTSO-E, hourly, when EDIP_ENTSOE_TOKEN is set
ENTSOE_PLAN = [("entsoe", "total-load")]


def realtime_plan() -> list[tuple[str, str]]:
    """The hourly plan: ENTSO-E joins it only with a token (else it would fail every hour)."""
    from edip_pipeline.config import get_settings

    return REALTIME_PLAN + (ENTSOE_PLAN if get_settings().entsoe_enabled else [])


def pipeline_deployments() -> list[Any]:
    """The ingest and feature deployments of this package."""
    realtime = ingest_flow.to_deployment(
        name="ingest-realtime-hourly",
        schedules=[Cron("5 * * * *", timezone=PARIS)],
        parameters={"plan": realtime_plan(), "fail_on_error": True},
        tags=["edip", "ingest", "realtime"],
        description="éCO2mix real time (with RTE D-1 / D forecasts) and the weather forecast.",
    )
    consolidated = ingest_flow.to_deployment(
        name="ingest-consolidated-daily",
        schedules=[Cron("30 6 * * *", timezone=PARIS)],
        parameters={"plan": CONSOLIDATED_PLAN, "fail_on_error": True},
        tags=["edip", "ingest", "consolidated"],
        description="Consolidated/definitive éCO2mix, temperatures, weather archive, Enedis.",
    )
    features = build_features_flow.to_deployment(
        name="features-daily",
        schedules=[Cron("0 7 * * *", timezone=PARIS)],
        tags=["edip", "features"],
        description="Rebuild the day-ahead feature table after the daily ingest.",
    )
    return [realtime, consolidated, features]


def contributed_deployments() -> list[Any]:
    """Deployments of the installed packages (entry points ``edip.deployments``)."""
    out: list[Any] = []
    for ep in entry_points(group=DEPLOYMENTS_GROUP):
        try:
            out += list(ep.load()())
        except Exception:  # one broken package must not stop the ingest schedules
            log.exception("deployments of %s could not be built: left out", ep.value)
    return out


def all_deployments() -> list[Any]:
    return pipeline_deployments() + contributed_deployments()


def serve_all() -> None:
    """Register and run the scheduled deployments (blocks)."""
    serve(*all_deployments())


if __name__ == "__main__":
    serve_all()
