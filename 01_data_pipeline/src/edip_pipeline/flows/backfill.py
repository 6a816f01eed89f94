"""``backfill`` flow: a long history in resumable chunks.

Each finished chunk is recorded in ``data/interim/_backfill/<source>__<dataset>.json`` right after
its rows are stored, so an interrupted backfill (Ctrl-C, kill -9) resumes at the first chunk not
recorded; a chunk that was half-written is simply fetched again (writes are idempotent).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NONE
from tqdm import tqdm

from edip_pipeline.atomic import atomic_write_text
from edip_pipeline.flows import run_task
from edip_pipeline.ingest import IngestReport, default_end, ingest_dataset
from edip_pipeline.sources import Period
from edip_pipeline.store import Store

log = logging.getLogger(__name__)


def checkpoint_path(store: Store, source: str, dataset: str) -> Path:
    return store.interim_dir / "_backfill" / f"{source}__{dataset}.json"


def _load_done(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    try:
        return set(json.loads(path.read_text()).get("done", []))
    except json.JSONDecodeError:
        log.warning("unreadable backfill checkpoint %s: starting over", path)
        return set()


@task(retries=2, retry_delay_seconds=30, cache_policy=NONE, task_run_name="chunk-{start}")
def backfill_chunk(source: str, dataset: str, start: str, end: str) -> IngestReport:
    return ingest_dataset(source, dataset, start=start, end=end)


@flow(name="backfill")
def backfill_flow(
    source: str = "odre",
    dataset: str = "eco2mix-national-cons-def",
    start: str = "2012-01-01",
    end: str | None = None,
    chunk_days: int | None = None,
) -> list[IngestReport]:
    """Fetch ``[start, end)`` chunk by chunk, skipping chunks already done."""
    store = Store()
    days = chunk_days or store.params.ingest.backfill_chunk_days
    stop = end if end is not None else default_end(source, dataset)
    period = Period.parse(start, stop)
    ckpt = checkpoint_path(store, source, dataset)
    done = _load_done(ckpt)
    reports: list[IngestReport] = []
    chunks = period.chunks(days)
    for chunk in tqdm(chunks, desc=f"backfill {source}/{dataset}", unit="chunk"):
        key = f"{chunk.start.isoformat()}/{chunk.end.isoformat()}"
        if key in done:
            continue
        report = run_task(
            backfill_chunk, source, dataset, chunk.start.isoformat(), chunk.end.isoformat()
        )
        reports.append(report)
        if not report.ok:
            log.error("backfill stopped at %s: %s (re-run to resume)", key, report.error)
            break
        done.add(key)
        atomic_write_text(ckpt, json.dumps({"done": sorted(done)}, indent=1))
    log.info("backfill %s/%s: %d/%d chunks done", source, dataset, len(done), len(chunks))
    return reports


if __name__ == "__main__":
    backfill_flow()
