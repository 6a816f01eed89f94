"""``edip data repair``: re-fetch what a damaged version took with it, then close its report.

Why: recovery (:mod:`edip_pipeline.integrity`) keeps the store readable, but a damaged year is
served from an older copy, or not at all; the report lists the time ranges lost. Repair fetches
exactly those ranges again from the sources the damaged version held (its ``source`` values:
``odre:<dataset id>``, ``openmeteo:<dataset>``, ``sample`` …), or re-imports a portal export given
with ``--from-file``, through the normal ingest — the rows go through the same parsing, cleaning
and validation as ever. A report is resolved only when every fetch succeeded and the current
version verifies; the quarantined files stay on disk as evidence. Nothing after the EDIP clock's
now is fetched (a simulation stays leak-free).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from edip_pipeline import clock
from edip_pipeline.datasets import DATASETS
from edip_pipeline.ingest import IngestReport, ingest_dataset, ingest_file
from edip_pipeline.integrity import check, damage_reports, resolve, verify
from edip_pipeline.sources import SOURCES, get_source
from edip_pipeline.store import Store

log = logging.getLogger(__name__)


@dataclass
class RepairResult:
    """What the repair of one damage report did."""

    dataset: str
    report: str
    resolved: bool
    message: str
    ingests: list[IngestReport] = field(default_factory=list)


def fetch_plan(dataset: str, sources: list[str]) -> list[tuple[str, str]]:
    """The (source, source dataset) pairs among a version's ``source`` values that write ``dataset``."""
    pairs: set[tuple[str, str]] = set()
    for value in sources:
        name, _, source_dataset = value.partition(":")
        if name not in SOURCES:  # "cleaning" (interpolated rows), test sources …
            continue
        if source_dataset:
            pairs.add((name, source_dataset))
            continue
        connector = get_source(name)
        pairs.update(
            (name, d) for d in connector.datasets if dataset in connector.target_datasets(d)
        )
    return sorted(pairs)


def lost_periods(
    report: dict[str, Any], now: pd.Timestamp
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """The report's lost ranges as half-open UTC periods, cut at ``now``."""
    step = pd.Timedelta(DATASETS[report["dataset"]].step)
    out = []
    for lost in report.get("lost") or []:
        if not lost.get("start") or not lost.get("end"):
            continue
        start = pd.Timestamp(lost["start"]).tz_convert("UTC")
        end = min(pd.Timestamp(lost["end"]).tz_convert("UTC") + step, now)
        if end > start:
            out.append((start, end))
    return out


def repair(
    store: Store,
    dataset: str | None = None,
    *,
    source: str | None = None,
    source_dataset: str | None = None,
    from_file: Path | None = None,
) -> list[RepairResult]:
    """Recover any damaged current version, then repair every open report (of ``dataset``)."""
    for name in [dataset] if dataset else list(DATASETS):
        check(store, name)
    return [
        _repair_one(store, report, source, source_dataset, from_file)
        for report in damage_reports(store.root, dataset)
    ]


def _repair_one(
    store: Store,
    report: dict[str, Any],
    source: str | None,
    source_dataset: str | None,
    from_file: Path | None,
) -> RepairResult:
    dataset = report["dataset"]
    ingests: list[IngestReport] = []
    if from_file is not None:
        if not (source and source_dataset):
            raise ValueError("--from-file needs --source and --source-dataset")
        ingests.append(ingest_file(source, source_dataset, from_file, store=store))
        done = f"re-imported {from_file}"
    else:
        periods = lost_periods(report, clock.now())
        plan = (
            [(source, source_dataset)]
            if source and source_dataset
            else fetch_plan(dataset, list(report.get("sources") or []))
        )
        if periods and not plan:
            return RepairResult(
                dataset, report["report"], False,
                f"no source to re-fetch {dataset} from (it held {report.get('sources')}): name one "
                "with --source/--source-dataset, or re-import an export with --from-file",
            )  # fmt: skip
        for start, end in periods:
            for name, sds in plan:
                ingests.append(ingest_dataset(name, sds, start=start, end=end, store=store))
        ranges = ", ".join(f"{a.isoformat()}..{b.isoformat()}" for a, b in periods) or "nothing"
        done = f"re-fetched {ranges} from {', '.join(f'{a}/{b}' for a, b in plan) or '-'}"
    failed = [r.summary() for r in ingests if not r.ok]
    still = [d.line() for d in verify(store, dataset)]
    if failed or still:
        return RepairResult(dataset, report["report"], False, "; ".join(failed + still), ingests)
    resolve(report, done)
    log.info("%s: damage of v%s repaired: %s", dataset, report.get("damaged_version"), done)
    return RepairResult(dataset, report["report"], True, done, ingests)
