"""Ingestion service: (source, dataset, period) → raw layer + canonical store.

The Prefect flows and the CLI are thin shells around these functions, so the logic is tested
without an orchestrator and runs the same under one. Failures are isolated per dataset: a
malformed payload fails that dataset with a clear message and leaves everything stored intact.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path

import pandas as pd
from pandera.errors import SchemaError

from edip_pipeline.calendar import PARIS
from edip_pipeline.config import Params, Settings, get_settings
from edip_pipeline.http import SourceError
from edip_pipeline.sources import Batch, Period, Source, get_source
from edip_pipeline.store import Store, WriteResult

log = logging.getLogger(__name__)

#: sources whose downloaded files ``--from-file`` imports: module with ``parse_file(dataset, path)``
#: (meteofrance also takes a directory of monthly files)
FILE_PARSERS = {
    "odre": "edip_pipeline.sources.odre",
    "meteofrance": "edip_pipeline.sources.meteofrance",
    "entsoe": "edip_pipeline.sources.entsoe",
}

#: (source, dataset) pairs that publish ahead of time: their default end is the day after tomorrow
FORWARD_LOOKING = {
    ("odre", "eco2mix-national-tr"),
    ("openmeteo", "forecast"),
    ("rte", "short_term"),
    ("entsoe", "total-load"),
}


@dataclass
class IngestReport:
    """Outcome of ingesting one (source, dataset) over one period."""

    source: str
    dataset: str
    start: str
    end: str
    writes: list[WriteResult] = field(default_factory=list)
    error: str | None = None
    unreadable: int = 0  # values that were text but no number (skipped, see the parser's notes)
    #: what the connector said about the data (coverage per location and variable, dropped rows)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rows(self) -> int:
        return sum(w.rows_in for w in self.writes)

    @property
    def implausible(self) -> int:
        """Values outside their physical range (stored as NaN with the IMPLAUSIBLE flag)."""
        return sum(w.implausible for w in self.writes)

    def note(self, batches: list[Batch]) -> None:
        """Keep the connector's notes and take the parser's counts from them."""
        self.notes = [n for b in batches for n in b.notes]
        for b in batches:
            for n in b.notes:
                if n.endswith("unreadable values skipped"):
                    self.unreadable += int(n.split()[0])

    def summary(self) -> str:
        if self.error:
            return f"{self.source}/{self.dataset} FAILED: {self.error}"
        changed = ", ".join(f"{w.dataset} v{w.version}" for w in self.writes) or "no rows"
        quality = "".join(
            f"; {n} {what}"
            for n, what in (
                (self.implausible, "implausible values flagged"),
                (self.unreadable, "unreadable values skipped"),
            )
            if n
        )
        return (
            f"{self.source}/{self.dataset} {self.start}→{self.end}: {self.rows} rows "
            f"({changed}){quality}"
        )


def _now() -> pd.Timestamp:
    from edip_pipeline import clock

    return clock.now()


def default_end(source: str, dataset: str) -> pd.Timestamp:
    """End of an open-ended pull: tomorrow 00:00 Paris, or two days later for forecasts."""
    today = _now().tz_convert(PARIS).normalize()
    days = 3 if (source, dataset) in FORWARD_LOOKING else 1
    return (today + pd.Timedelta(days=days)).tz_convert("UTC")


def incremental_period(
    store: Store, source: Source, dataset: str, params: Params, end: pd.Timestamp | None = None
) -> Period:
    """From the stored end minus the revision window (ODRE republishes) to ``end``.

    An empty store starts at ``ingest.default_start``.
    """
    end = end if end is not None else default_end(source.name, dataset)
    lasts = [store.last_timestamp(t) for t in source.target_datasets(dataset)]
    known = [t for t in lasts if t is not None]
    if not known:
        start = Period.parse(params.ingest.default_start, "2100-01-01").start
    else:
        family = source.revision_family.get(dataset, "tr")
        window = params.ingest.revision_window_days.get(family, 3)
        start = min(known) - pd.Timedelta(days=window)
        start = start.tz_convert(PARIS).normalize().tz_convert("UTC")
    if start >= end:
        start = end - pd.Timedelta(days=1)
    return Period(start, end)


def write_batches(store: Store, batches: list[Batch]) -> list[WriteResult]:
    """Write parsed batches, merging those aimed at the same dataset into one write."""
    by_dataset: dict[str, list[pd.DataFrame]] = {}
    for b in batches:
        by_dataset.setdefault(b.dataset, []).append(b.frame)
    results = []
    for dataset, frames in by_dataset.items():
        results.append(store.write(dataset, pd.concat(frames, ignore_index=True)))
    return results


def ingest_dataset(
    source_name: str,
    dataset: str,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    store: Store | None = None,
    settings: Settings | None = None,
) -> IngestReport:
    """Fetch and store one dataset; never raises for a source-side failure (see ``error``)."""
    settings = settings or get_settings()
    store = store or Store(settings=settings)
    source = get_source(source_name, settings)
    if start is not None:
        stop = end if end is not None else default_end(source_name, dataset)
        period = Period.parse(start, stop)
    else:
        period = incremental_period(
            store,
            source,
            dataset,
            store.params,
            Period.parse("1970-01-01", end).end if end is not None else None,
        )
    report = IngestReport(source_name, dataset, period.start.isoformat(), period.end.isoformat())
    # the raw layer exists after every ingest, even one that keeps no response (the bundled
    # sample): the DVC ingest stage declares data/raw as an output
    store.raw_dir.mkdir(parents=True, exist_ok=True)
    try:
        batches = source.fetch(dataset, period, store)
        report.note(batches)
        report.writes = write_batches(store, batches)
    except (SourceError, SchemaError, ValueError) as exc:
        report.error = str(exc)
        log.error("%s", report.summary())
        return report
    log.info("%s", report.summary())
    return report


def ingest_file(
    source_name: str, dataset: str, path: Path, *, store: Store | None = None
) -> IngestReport:
    """Import a file downloaded from a portal through the connector's own parser and cleaning."""
    store = store or Store()
    if source_name not in FILE_PARSERS:
        raise ValueError(f"--from-file is supported for --source {' or '.join(FILE_PARSERS)}")
    parse_file = import_module(FILE_PARSERS[source_name]).parse_file

    report = IngestReport(source_name, dataset, "file", str(path))
    if not (path.is_file() or (source_name == "meteofrance" and path.is_dir())):
        report.error = f"no such file: {path}"
        return report
    try:
        batches = parse_file(dataset, path)
        report.note(batches)
        for one in sorted(path.iterdir()) if path.is_dir() else [path]:
            if one.is_file():
                ext = "".join(one.suffixes)[1:] or "bin"
                store.save_raw(source_name, dataset, one.read_bytes(), ext=ext)
        report.writes = write_batches(store, batches)
    except (SourceError, SchemaError, ValueError) as exc:
        report.error = f"{path}: {exc}"
    if report.writes:
        ts = [w.dataset for w in report.writes]
        log.info("%s → %s", path, ts)
    return report


def datasets_for(
    source_name: str, dataset: str | None, settings: Settings | None = None
) -> list[str]:
    """The source's default datasets, or the one asked for (checked)."""
    source = get_source(source_name, settings)
    if dataset is None:
        return list(source.datasets)
    if dataset not in source.datasets:
        raise ValueError(
            f"source {source_name!r} has no dataset {dataset!r}; choose from {list(source.datasets)}"
        )
    return [dataset]
