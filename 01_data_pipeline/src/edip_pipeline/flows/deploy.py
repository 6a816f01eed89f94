"""Serve the flows with their schedules: real-time data hourly, consolidated data daily.

``edip flows serve`` (or ``python -m edip_pipeline.flows.deploy``) registers the deployments with
the Prefect server at ``PREFECT_API_URL`` and runs them in this process. ``prefect.yaml`` at the
repository root describes the same deployments for a work pool.
"""

from __future__ import annotations

from prefect import serve

from edip_pipeline.flows.build_features import build_features_flow
from edip_pipeline.flows.ingest import ingest_flow

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
    ("enedis", "conso-inf36-region"),
    ("enedis", "conso-sup36-region"),
]


def serve_all() -> None:
    """Register and run the scheduled deployments (blocks)."""
    realtime = ingest_flow.to_deployment(
        name="ingest-realtime-hourly",
        cron="5 * * * *",
        parameters={"plan": REALTIME_PLAN, "fail_on_error": True},
        tags=["edip", "ingest", "realtime"],
        description="éCO2mix real time (with RTE D-1 / D forecasts) and the weather forecast.",
    )
    consolidated = ingest_flow.to_deployment(
        name="ingest-consolidated-daily",
        cron="30 6 * * *",
        parameters={"plan": CONSOLIDATED_PLAN, "fail_on_error": True},
        tags=["edip", "ingest", "consolidated"],
        description="Consolidated/definitive éCO2mix, temperatures, weather archive, Enedis.",
    )
    features = build_features_flow.to_deployment(
        name="features-daily",
        cron="0 7 * * *",
        tags=["edip", "features"],
        description="Rebuild the day-ahead feature table after the daily ingest.",
    )
    serve(realtime, consolidated, features)  # type: ignore[arg-type]


if __name__ == "__main__":
    serve_all()
