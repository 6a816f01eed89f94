"""The versioned parquet store: ``data/raw`` (immutable) → ``data/interim`` (canonical) + manifest.

Layout (``EDIP_DATA_DIR``, default ``./data``)::

    raw/<source>/<dataset>/<UTC stamp>-<sha8>.<ext>     responses exactly as received, never rewritten
    interim/<dataset>/year=<YYYY>/part.parquet          canonical rows (see edip_pipeline.schema)
    processed/                                          feature tables (edip_pipeline.features)
    manifest.json                                       per dataset: version, rows, range, hash

Guarantees
----------
* **Validated**: every partition is checked against the pandera schema before it is written.
* **Atomic versions**: a write builds a complete new version and publishes it with one link
  switch (:mod:`edip_pipeline.versions`): a kill -9 leaves the previous version visible.
* **Lock-free reads**: readers resolve the link once per read and never take the writer's lock;
  the previous version is kept until the next write, so a read in progress finishes on it.
* **Idempotent**: duplicates are resolved by (measured > interpolated, vintage, newest), and cleaning
  is deterministic, so writing the same rows twice leaves the content hash unchanged.
* **Serialised**: one writer at a time (a file lock), so a scheduled flow and a manual run can't
  interleave.
* **Checked**: each version records every partition file's checksum; reads and writes check it, and
  a damaged version is quarantined and recovered from older ones (:mod:`edip_pipeline.integrity`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from filelock import FileLock

from edip_pipeline.atomic import atomic_write_bytes, atomic_write_parquet, atomic_write_text
from edip_pipeline.cleaning import flag_implausible, regularise, resolve_duplicates
from edip_pipeline.config import Params, Settings, get_settings, load_params
from edip_pipeline.datasets import DATASETS, DatasetSpec
from edip_pipeline.integrity import (
    DamagedPartitionError,
    check,
    load_checked,
    recover,
    version_years,
)
from edip_pipeline.manifest import current_manifest, data_version_of, frame_hash, version_entry
from edip_pipeline.read_cache import PartitionCache
from edip_pipeline.schema import KEY, Flag, coerce_canonical, empty_frame, validate
from edip_pipeline.versions import Versions, share_partition

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass
class WriteResult:
    """What a write changed."""

    dataset: str
    rows_in: int
    rows_total: int
    version: int
    content_hash: str
    changed: bool
    partitions: list[int] = field(default_factory=list)
    implausible: int = 0  # incoming values outside their PLAUSIBLE range (stored as NaN, flagged)


class StoreError(RuntimeError):
    """The store refused an operation (unknown dataset, invalid rows, …)."""


class Store:
    """Read and write canonical datasets under a data directory.

    ``cache_reads``: keep parsed partitions in memory until their file changes
    (:class:`~edip_pipeline.read_cache.PartitionCache`), for long-lived readers such as the API.
    """

    def __init__(
        self,
        root: Path | None = None,
        params: Params | None = None,
        settings: Settings | None = None,
        *,
        cache_reads: bool = False,
    ) -> None:
        settings = settings or get_settings()
        self.root = Path(root) if root else settings.data_dir
        self.params = params or load_params(settings.params_file)
        self.raw_dir = self.root / "raw"
        self.interim_dir = self.root / "interim"
        self.processed_dir = self.root / "processed"
        self.manifest_path = self.root / "manifest.json"
        self.versions = Versions(self.interim_dir)
        self._cache = PartitionCache() if cache_reads else None
        self._verified: dict[Path, tuple[int, int, int]] = {}  # files checked, by stamp
        self._lock = FileLock(str(self.root / ".store.lock"), timeout=600)

    # ------------------------------------------------------------------ raw layer
    def save_raw(self, source: str, dataset: str, content: bytes, ext: str = "json") -> Path:
        """Keep a response exactly as received; identical content is stored once."""
        digest = hashlib.sha256(content).hexdigest()[:12]
        folder = self.raw_dir / source / dataset
        existing = list(folder.glob(f"*-{digest}.{ext}")) if folder.is_dir() else []
        if existing:
            return existing[0]
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"{stamp}-{digest}.{ext}"
        atomic_write_bytes(path, content)
        return path

    # ------------------------------------------------------------------ canonical layer
    @staticmethod
    def spec(dataset: str) -> DatasetSpec:
        try:
            return DATASETS[dataset]
        except KeyError:
            raise StoreError(f"unknown dataset {dataset!r}; known: {sorted(DATASETS)}") from None

    def _partition_path(self, dataset: str, year: int, base: Path | None = None) -> Path:
        return (base or self.versions.current(dataset)) / f"year={year}" / "part.parquet"

    def partitions(self, dataset: str, base: Path | None = None) -> list[int]:
        """The years a version holds (listed by its entry or on disk; default: the current)."""
        folder = base or self.versions.current(dataset)
        if not folder.is_dir():
            return []
        return version_years(folder, self.versions.entry_of(folder))

    def _files(self, base: Path) -> dict[str, Any]:
        """The partition checksums a version recorded (none for versions from before them)."""
        files: dict[str, Any] = (self.versions.entry_of(base) or {}).get("files") or {}
        return files

    def _read_partition(
        self,
        dataset: str,
        year: int,
        base: Path | None = None,
        files: dict[str, Any] | None = None,
    ) -> pd.DataFrame:
        """One partition, its bytes checked against the version's checksum before parsing."""
        base = base or self.versions.current(dataset)
        path = self._partition_path(dataset, year, base)
        expected = (files if files is not None else self._files(base)).get(str(year))
        if expected is None and not path.is_file():
            return empty_frame()

        def load(p: Path) -> pd.DataFrame:
            return load_checked(p, expected)

        if self._cache is not None:
            return self._cache.read(dataset, year, path, load)
        return load(path)

    def _recovering(self, dataset: str, read: Callable[[Path, dict[str, Any]], T]) -> T:
        """``read(version, checksums)`` on the current version, recovered first when damaged
        (whichever reader meets the damage first quarantines it; the others read the recovery)."""
        for _ in range(3):
            base = self.versions.current(dataset)
            try:
                return read(base, self._files(base))
            except DamagedPartitionError as exc:
                log.error("%s: damaged partition %s", dataset, exc)
                try:
                    recover(self, dataset, base)
                except OSError as err:
                    raise StoreError(f"{dataset}: {exc}; not recovered ({err})") from err
        raise StoreError(f"{dataset}: still damaged after recovery: run `edip data repair`")

    def write(self, dataset: str, frame: pd.DataFrame) -> WriteResult:
        """Merge canonical rows into a dataset (validate → dedupe → regularise → new version)."""
        spec = self.spec(dataset)
        incoming = coerce_canonical(frame)
        incoming = incoming.dropna(subset=["timestamp"])
        if incoming.empty:
            log.info("%s: nothing to write", dataset)
            return self._nothing_written(dataset)
        incoming, implausible = self._checked(dataset, incoming)
        years = sorted(incoming["timestamp"].dt.year.unique().tolist())
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            self.versions.clean_leftovers(DATASETS)
            check(self, dataset)  # never build on (or share) a damaged partition
            old_dir = self.versions.current(dataset)
            old_entry = self.manifest().get("datasets", {}).get(dataset, {})
            new_dir = self.versions.new(dataset)
            changed = self._build_version(spec, incoming, years, old_dir, new_dir)
            if changed:
                entry = self._publish(dataset, new_dir, old_entry)
            else:
                shutil.rmtree(new_dir, ignore_errors=True)
                entry = old_entry or self._entry(dataset, old_dir, {}, touched=True)
        return WriteResult(
            dataset,
            len(incoming),
            entry["rows"],
            entry["version"],
            entry["content_hash"],
            changed,
            years,
            implausible,
        )

    def _nothing_written(self, dataset: str) -> WriteResult:
        entry = self.manifest().get("datasets", {}).get(dataset, {})
        return WriteResult(
            dataset,
            0,
            entry.get("rows", 0),
            entry.get("version", 0),
            entry.get("content_hash", frame_hash(empty_frame())),
            False,
        )

    @staticmethod
    def _checked(dataset: str, incoming: pd.DataFrame) -> tuple[pd.DataFrame, int]:
        """Refuse a malformed batch before touching anything stored; impossible values flagged."""
        incoming, implausible = flag_implausible(incoming)
        if implausible:
            log.warning("%s: %d physically implausible values flagged", dataset, implausible)
        validate(resolve_duplicates(incoming))
        return incoming, implausible

    def _build_version(
        self,
        spec: DatasetSpec,
        incoming: pd.DataFrame,
        years: list[int],
        old_dir: Path,
        new_dir: Path,
    ) -> bool:
        """Fill ``new_dir`` from ``old_dir`` plus ``incoming``; whether any partition changed."""
        dataset = spec.name
        changed = False
        for year in self.partitions(dataset, old_dir):  # unchanged years: shared, not copied
            if year not in years:
                share_partition(self._partition_path(dataset, year, old_dir), new_dir, year)
        for year in years:
            old = self._read_partition(dataset, year, old_dir)
            new = incoming[incoming["timestamp"].dt.year == year]
            merged = self._merge_year(spec, year, old, new)
            target = self._partition_path(dataset, year, new_dir)
            if not old.empty and frame_hash(old) == frame_hash(merged):
                share_partition(self._partition_path(dataset, year, old_dir), new_dir, year)
            else:
                atomic_write_parquet(merged, target)
                changed = True
        return changed

    def _merge_year(
        self, spec: DatasetSpec, year: int, old: pd.DataFrame, new: pd.DataFrame
    ) -> pd.DataFrame:
        """One year's stored rows merged with the incoming ones, cleaned and validated."""
        merged = resolve_duplicates(pd.concat([old, new], ignore_index=True))
        merged = regularise(merged, spec.step, self.params.store.gaps, interpolate=spec.interpolate)
        # the grid may spill over a year edge (calendar steps); keep each row in its year
        merged = merged[merged["timestamp"].dt.year == year].reset_index(drop=True)
        validate(merged)
        return merged

    def _publish(self, dataset: str, new_dir: Path, old_entry: dict[str, Any]) -> dict[str, Any]:
        """Make ``new_dir`` the current version, refresh the summary; its manifest entry."""
        entry = self._entry(dataset, new_dir, old_entry, touched=True)
        self.versions.publish(dataset, new_dir, entry)
        self._write_manifest()
        self.versions.drop_old(dataset)
        return entry

    def read(
        self,
        dataset: str,
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
        *,
        variables: Iterable[str] | None = None,
        areas: Iterable[str] | None = None,
        inclusive_end: bool = False,
    ) -> pd.DataFrame:
        """Canonical rows of ``dataset`` with ``start <= timestamp < end`` (``<=`` if inclusive)."""
        self.spec(dataset)
        t0 = _utc(start) if start is not None else None
        t1 = _utc(end) if end is not None else None

        def load(base: Path, files: dict[str, Any]) -> pd.DataFrame:
            years = [
                y
                for y in self.partitions(dataset, base)
                if (t0 is None or y >= t0.year) and (t1 is None or y <= t1.year)
            ]
            parts = [self._read_partition(dataset, y, base, files) for y in years]
            return pd.concat(parts, ignore_index=True) if parts else empty_frame()

        frame = self._recovering(dataset, load)
        if frame.empty:
            return empty_frame()
        mask = pd.Series(True, index=frame.index)
        if t0 is not None:
            mask &= frame["timestamp"] >= t0
        if t1 is not None:
            mask &= frame["timestamp"] <= t1 if inclusive_end else frame["timestamp"] < t1
        if variables is not None:
            mask &= frame["variable"].isin(list(variables))
        if areas is not None:
            mask &= frame["area"].isin(list(areas))
        return frame[mask].sort_values(KEY, kind="mergesort").reset_index(drop=True)

    def series(
        self,
        dataset: str,
        variable: str,
        area: str = "FR",
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
    ) -> pd.Series:
        """One series indexed by UTC timestamp (NaN where missing)."""
        rows = self.read(dataset, start, end, variables=[variable], areas=[area])
        return pd.Series(
            rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["timestamp"]), name=variable
        )

    def wide(
        self,
        dataset: str,
        area: str = "FR",
        start: pd.Timestamp | str | None = None,
        end: pd.Timestamp | str | None = None,
        variables: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """Variables of one area as columns, indexed by UTC timestamp."""
        rows = self.read(dataset, start, end, variables=variables, areas=[area])
        if rows.empty:
            return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
        return rows.pivot(index="timestamp", columns="variable", values="value").sort_index()

    def last_timestamp(self, dataset: str, variable: str | None = None) -> pd.Timestamp | None:
        """Last timestamp holding a measured (non-missing) value."""

        def last(base: Path, files: dict[str, Any]) -> pd.Timestamp | None:
            for year in reversed(self.partitions(dataset, base)):
                part = self._read_partition(dataset, year, base, files)
                if variable is not None:
                    part = part[part["variable"] == variable]
                part = part[(part["flags"] & int(Flag.MISSING)) == 0]
                if not part.empty:
                    return pd.Timestamp(part["timestamp"].max())
            return None

        return self._recovering(dataset, last)

    # ------------------------------------------------------------------ manifest
    def manifest(self) -> dict[str, Any]:
        """Per dataset, the entry of its current version; no lock, never a half-written state.

        Each version directory carries its own entry, published with it by the link switch, so
        a reader always gets the entry of the data it reads. ``manifest.json`` is a derived
        summary (humans, DVC) rewritten after each switch.
        """
        return current_manifest(self)

    def rebuild_manifest(self) -> dict[str, Any]:
        """Rewrite ``manifest.json`` from the current versions."""
        return self._write_manifest()

    def _write_manifest(self) -> dict[str, Any]:
        manifest = self.manifest()
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True))
        return manifest

    def _entry(
        self, dataset: str, base: Path, old: dict[str, Any], *, touched: bool
    ) -> dict[str, Any]:
        """The manifest entry of the version in ``base`` (``old``: the previous version's)."""
        years = self.partitions(dataset, base)
        parts = {y: self._read_partition(dataset, y, base) for y in years}
        paths = {y: self._partition_path(dataset, y, base) for y in years}
        return version_entry(parts, paths, self.spec(dataset).step, old, touched=touched)

    def data_version(self) -> str:
        """Short hash of every dataset's content: what models record as their data version."""
        return data_version_of(self.manifest())


def _utc(value: pd.Timestamp | str | datetime) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
