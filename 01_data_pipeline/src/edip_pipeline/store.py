"""The versioned parquet store: ``data/raw`` (immutable) → ``data/interim`` (canonical) + manifest.

Layout (``EDIP_DATA_DIR``, default ``./data``)::

    raw/<source>/<dataset>/<UTC stamp>-<sha8>.<ext>     responses exactly as received, never rewritten
    interim/<dataset>/year=<YYYY>/part.parquet          canonical rows (see edip_pipeline.schema)
    processed/                                          feature tables (edip_pipeline.features)
    manifest.json                                       per dataset: version, rows, range, hash

Guarantees
----------
* **Validated**: every partition is checked against the pandera schema before it is written.
* **Atomic**: each file is written to a temporary name then ``os.replace``-d, and the manifest is
  rewritten last, so a kill -9 at any point leaves either the old or the new partition, never a
  torn one. Partitions are the truth; the manifest is derived and rebuilt if stale.
* **Idempotent**: duplicates are resolved by (measured > interpolated, vintage, newest), and cleaning
  is deterministic, so writing the same rows twice leaves the content hash unchanged.
* **Serialised**: one writer at a time (a file lock), so a scheduled flow and a manual run can't
  interleave.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from filelock import FileLock

from edip_pipeline.cleaning import regularise, resolve_duplicates
from edip_pipeline.config import Params, Settings, get_settings, load_params
from edip_pipeline.schema import COLUMNS, KEY, Flag, coerce_canonical, empty_frame, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DatasetSpec:
    """A canonical dataset: its regular step and what it holds."""

    name: str
    step: str
    description: str
    interpolate: bool = True


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in [
        DatasetSpec(
            "load_national",
            "30min",
            "National consumption (MW) and RTE's D-1 / D forecasts; éCO2mix TR, cons-def, "
            "consommation-quotidienne-brute, RTE API and the bundled sample.",
        ),
        DatasetSpec(
            "load_regional", "30min", "Regional consumption (MW), area = INSEE region code."
        ),
        DatasetSpec(
            "load_enedis",
            "30min",
            "Enedis aggregated consumption (MW) by region, variable = segment:profile:power range.",
            interpolate=False,
        ),
        DatasetSpec(
            "weather_observed",
            "1h",
            "Open-Meteo archive weather per city and population-weighted FR.",
        ),
        DatasetSpec("weather_forecast", "1h", "Open-Meteo forecast (next 48 h), latest run wins."),
        DatasetSpec(
            "weather_historical_forecast",
            "1h",
            "Open-Meteo historical-forecast: weather as it was forecast (leak-free backtests).",
        ),
        DatasetSpec(
            "temperature_daily",
            "1D",
            "ODRE daily regional temperatures (°C) and the population-weighted FR mean.",
        ),
    ]
}


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


def frame_hash(frame: pd.DataFrame) -> str:
    """Content hash independent of the parquet writer's version."""
    if frame.empty:
        return hashlib.sha256(b"").hexdigest()
    h = pd.util.hash_pandas_object(frame[COLUMNS], index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Write a parquet file so that readers only ever see the old or the new file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=path.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False, compression="zstd")
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    _atomic_write_bytes(path, text.encode())


class StoreError(RuntimeError):
    """The store refused an operation (unknown dataset, invalid rows, …)."""


class Store:
    """Read and write canonical datasets under a data directory."""

    def __init__(
        self,
        root: Path | None = None,
        params: Params | None = None,
        settings: Settings | None = None,
    ) -> None:
        settings = settings or get_settings()
        self.root = Path(root) if root else settings.data_dir
        self.params = params or load_params(settings.params_file)
        self.raw_dir = self.root / "raw"
        self.interim_dir = self.root / "interim"
        self.processed_dir = self.root / "processed"
        self.manifest_path = self.root / "manifest.json"
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
        _atomic_write_bytes(path, content)
        return path

    # ------------------------------------------------------------------ canonical layer
    @staticmethod
    def spec(dataset: str) -> DatasetSpec:
        try:
            return DATASETS[dataset]
        except KeyError:
            raise StoreError(f"unknown dataset {dataset!r}; known: {sorted(DATASETS)}") from None

    def _partition_path(self, dataset: str, year: int) -> Path:
        return self.interim_dir / dataset / f"year={year}" / "part.parquet"

    def partitions(self, dataset: str) -> list[int]:
        folder = self.interim_dir / dataset
        if not folder.is_dir():
            return []
        years = [
            int(p.name.split("=", 1)[1])
            for p in folder.glob("year=*")
            if (p / "part.parquet").is_file()
        ]
        return sorted(years)

    def _read_partition(self, dataset: str, year: int) -> pd.DataFrame:
        path = self._partition_path(dataset, year)
        if not path.is_file():
            return empty_frame()
        return pd.read_parquet(path)

    def write(self, dataset: str, frame: pd.DataFrame) -> WriteResult:
        """Merge canonical rows into a dataset (validate → dedupe → regularise → atomic write)."""
        spec = self.spec(dataset)
        incoming = coerce_canonical(frame)
        incoming = incoming.dropna(subset=["timestamp"])
        if incoming.empty:
            log.info("%s: nothing to write", dataset)
            entry = self.manifest().get("datasets", {}).get(dataset, {})
            return WriteResult(
                dataset,
                0,
                entry.get("rows", 0),
                entry.get("version", 0),
                entry.get("content_hash", frame_hash(empty_frame())),
                False,
            )
        # refuse a malformed batch before touching anything stored
        validate(resolve_duplicates(incoming))
        years = sorted(incoming["timestamp"].dt.year.unique().tolist())
        self.root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            # marks the manifest stale until it is rewritten: a kill in between is seen next time
            self._dirty_path.touch()
            changed = False
            for year in years:
                old = self._read_partition(dataset, year)
                new = incoming[incoming["timestamp"].dt.year == year]
                merged = resolve_duplicates(pd.concat([old, new], ignore_index=True))
                merged = regularise(
                    merged, spec.step, self.params.store.gaps, interpolate=spec.interpolate
                )
                # the grid may spill over a year edge (calendar steps); keep each row in its year
                merged = merged[merged["timestamp"].dt.year == year].reset_index(drop=True)
                validate(merged)
                if old.empty or frame_hash(old) != frame_hash(merged):
                    atomic_write_parquet(merged, self._partition_path(dataset, year))
                    changed = True
            entry = self._refresh_manifest(dataset, touched=changed)
            self._dirty_path.unlink(missing_ok=True)
        return WriteResult(
            dataset,
            len(incoming),
            entry["rows"],
            entry["version"],
            entry["content_hash"],
            changed,
            years,
        )

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
        years = [
            y
            for y in self.partitions(dataset)
            if (t0 is None or y >= t0.year) and (t1 is None or y <= t1.year)
        ]
        if not years:
            return empty_frame()
        frame = pd.concat([self._read_partition(dataset, y) for y in years], ignore_index=True)
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
        for year in reversed(self.partitions(dataset)):
            part = self._read_partition(dataset, year)
            if variable is not None:
                part = part[part["variable"] == variable]
            part = part[(part["flags"] & int(Flag.MISSING)) == 0]
            if not part.empty:
                return pd.Timestamp(part["timestamp"].max())
        return None

    # ------------------------------------------------------------------ manifest
    @property
    def _dirty_path(self) -> Path:
        return self.root / ".manifest-stale"

    def manifest(self) -> dict[str, Any]:
        """The manifest; rebuilt from the partitions if a write was interrupted before it."""
        if self._dirty_path.exists():
            with self._lock:
                if self._dirty_path.exists():
                    log.warning("last write was interrupted: rebuilding the manifest")
                    manifest = self.rebuild_manifest()
                    self._dirty_path.unlink(missing_ok=True)
                    return manifest
        if not self.manifest_path.is_file():
            return {"datasets": {}}
        try:
            data: dict[str, Any] = json.loads(self.manifest_path.read_text())
            return data
        except json.JSONDecodeError:
            log.warning("manifest unreadable, rebuilding from partitions")
            return self.rebuild_manifest()

    def rebuild_manifest(self) -> dict[str, Any]:
        """Recompute every entry from the partitions (they are the truth)."""
        for dataset in DATASETS:
            if self.partitions(dataset):
                self._refresh_manifest(dataset, touched=False)
        if not self.manifest_path.is_file():
            return {"datasets": {}}
        data: dict[str, Any] = json.loads(self.manifest_path.read_text())
        return data

    def _refresh_manifest(self, dataset: str, *, touched: bool) -> dict[str, Any]:
        manifest: dict[str, Any] = {"datasets": {}}
        if self.manifest_path.is_file():
            try:
                manifest = json.loads(self.manifest_path.read_text())
            except json.JSONDecodeError:
                manifest = {"datasets": {}}
        parts = {y: self._read_partition(dataset, y) for y in self.partitions(dataset)}
        frame = pd.concat(parts.values(), ignore_index=True) if parts else empty_frame()
        digest = hashlib.sha256(
            "".join(f"{y}:{frame_hash(p)}" for y, p in sorted(parts.items())).encode()
        ).hexdigest()
        old = manifest["datasets"].get(dataset, {})
        version = int(old.get("version", 0)) + (1 if old.get("content_hash") != digest else 0)
        measured = frame[(frame["flags"] & int(Flag.MISSING)) == 0]
        now = datetime.now(UTC).isoformat(timespec="seconds")
        entry = {
            "version": version,
            "rows": len(frame),
            "start": measured["timestamp"].min().isoformat() if len(measured) else None,
            "end": measured["timestamp"].max().isoformat() if len(measured) else None,
            "step": self.spec(dataset).step,
            "variables": sorted(frame["variable"].unique().tolist()),
            "areas": len(frame["area"].unique()),
            "missing": int(((frame["flags"] & int(Flag.MISSING)) != 0).sum()),
            "interpolated": int(((frame["flags"] & int(Flag.INTERPOLATED)) != 0).sum()),
            "sources": sorted(frame["source"].unique().tolist()),
            "content_hash": digest,
            "partitions": {str(y): frame_hash(p) for y, p in sorted(parts.items())},
            "updated_at": now if version != old.get("version") else old.get("updated_at", now),
            "last_ingest": now if touched or not old else old.get("last_ingest", now),
        }
        manifest["datasets"][dataset] = entry
        manifest["data_version"] = self._data_version(manifest)
        atomic_write_text(self.manifest_path, json.dumps(manifest, indent=2, sort_keys=True))
        return entry

    @staticmethod
    def _data_version(manifest: dict[str, Any]) -> str:
        items = sorted((k, v["content_hash"]) for k, v in manifest.get("datasets", {}).items())
        return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]

    def data_version(self) -> str:
        """Short hash of every dataset's content: what models record as their data version."""
        return self._data_version(self.manifest())


def _utc(value: pd.Timestamp | str | datetime) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
