"""``ingest`` flow: chosen sources and datasets, incremental by default."""

from __future__ import annotations

import logging

from prefect import flow, task
from prefect.cache_policies import NONE

from edip_pipeline.config import get_settings
from edip_pipeline.flows import run_task
from edip_pipeline.ingest import IngestReport, datasets_for, ingest_dataset

log = logging.getLogger(__name__)

ALL_SOURCES = ("odre", "openmeteo", "enedis", "rte", "entsoe")


def resolve_sources(source: str, dataset: str | None = None) -> list[tuple[str, str]]:
    """``--source``/``--dataset`` → the (source, dataset) pairs to ingest.

    ``all`` means every network source (RTE and ENTSO-E only when their credentials are set);
    the bundled sample is never part of ``all``.
    """
    settings = get_settings()
    if source == "all":
        if dataset is not None:
            raise ValueError("--dataset cannot be combined with --source all")
        enabled = {"rte": settings.rte_enabled, "entsoe": settings.entsoe_enabled}
        names = [s for s in ALL_SOURCES if enabled.get(s, True)]
        return [(s, d) for s in names for d in datasets_for(s, None, settings)]
    return [(source, d) for d in datasets_for(source, dataset, settings)]


@task(
    retries=1, retry_delay_seconds=10, cache_policy=NONE, task_run_name="ingest-{source}-{dataset}"
)
def ingest_task(source: str, dataset: str, start: str | None, end: str | None) -> IngestReport:
    """One (source, dataset): fetch, keep raw, clean, write. Errors come back in the report."""
    return ingest_dataset(source, dataset, start=start, end=end)


@flow(name="ingest", log_prints=False)
def ingest_flow(
    plan: list[tuple[str, str]] | None = None,
    start: str | None = None,
    end: str | None = None,
    fail_on_error: bool = False,
) -> list[IngestReport]:
    """Ingest each (source, dataset) of ``plan`` (default: the bundled sample).

    A failing dataset never stops the others; with ``fail_on_error`` (scheduled deployments) the
    run then ends Failed so that Prefect shows and can alert on it.
    """
    plan = plan or resolve_sources("sample")
    reports = [run_task(ingest_task, src, ds, start, end) for src, ds in plan]
    failed = [r for r in reports if not r.ok]
    if failed:
        log.error("%d of %d datasets failed", len(failed), len(reports))
        if fail_on_error:
            raise RuntimeError("; ".join(r.summary() for r in failed))
    return reports


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    for r in ingest_flow():
        log.info("%s", r.summary())
