"""Integrity of the stored partitions: checksums published with each version, checked on read.

Why: a truncated or altered partition (a full disk, a copy or ``dvc pull`` cut short, a bad
sector) used to stop every reader — ingest, the loop, the API — with a parquet error, while
``/ready`` still said true and no alert fired. Now each version's entry records, per partition,
the SHA-256 and size of its file (and the span it holds); every read checks the bytes before
parsing them. A damaged version found by any reader or writer is **recovered** at once, under the
store's write lock:

* its damaged files are moved to ``<data>/quarantine/<dataset>/<version>/`` (kept as evidence);
* a new version is published made of its intact partitions and, for each damaged one, the same
  year from the newest older version whose file still verifies (dropped if none does);
* a report (``report.json`` beside the quarantined files) names each file, why it failed, the
  time ranges the store no longer holds, and how to repair them (``edip data repair``, which
  re-fetches those ranges: :mod:`edip_pipeline.repair`). It stays open until a repair resolves it.

Reports live outside the versions they describe, so whatever reports the damage (``edip data
status``, the API's ``/ready``, the alert rule reading it) never needs the damaged data.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from filelock import Timeout

from edip_pipeline.atomic import atomic_write_text
from edip_pipeline.versions import Versions, share_partition

if TYPE_CHECKING:
    from edip_pipeline.store_view import StoreView

log = logging.getLogger(__name__)

QUARANTINE = "quarantine"
REPORT = "report.json"
#: longest wait for the store's write lock before a reader gives up recovering (a long backfill)
RECOVER_LOCK_S = 120.0


class DamagedPartitionError(RuntimeError):
    """A partition file does not match its recorded checksum or cannot be parsed."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class Damage:
    """One damaged partition of one version."""

    dataset: str
    year: int
    path: Path
    reason: str

    def line(self) -> str:
        return f"{self.dataset} year={self.year}: {self.path} ({self.reason})"


def file_checksum(path: Path) -> dict[str, Any]:
    """What a version records of one partition file: SHA-256 and size."""
    data = path.read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}


def checked_bytes(path: Path, expected: Mapping[str, Any] | None) -> bytes:
    """The file's bytes, refused (:class:`DamagedPartitionError`) unless they match ``expected``."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DamagedPartitionError(path, "file missing") from None
    if expected is not None:
        digest = hashlib.sha256(data).hexdigest()
        if digest != expected.get("sha256"):
            raise DamagedPartitionError(
                path,
                f"checksum mismatch: {len(data)} bytes with sha256 {digest[:12]}…, the version "
                f"recorded {expected.get('bytes')} bytes with sha256 {str(expected.get('sha256'))[:12]}…",
            )
    return data


def load_checked(path: Path, expected: Mapping[str, Any] | None) -> pd.DataFrame:
    """Parse a partition whose bytes were checked first (no checksum recorded: parsed only)."""
    data = checked_bytes(path, expected)
    try:
        return pd.read_parquet(io.BytesIO(data))
    except Exception as exc:  # pyarrow's errors vary with the damage: all of them mean unreadable
        raise DamagedPartitionError(path, f"unreadable parquet ({exc})") from exc


def partition_path(version: Path, year: int) -> Path:
    return version / f"year={year}" / "part.parquet"


def version_years(version: Path, entry: Mapping[str, Any] | None) -> list[int]:
    """The years a version holds: those its entry lists and those on disk."""
    listed = {int(y) for y in ((entry or {}).get("files") or {})}
    present = {
        int(p.name.split("=", 1)[1])
        for p in version.glob("year=*")
        if (p / "part.parquet").is_file()
    }
    return sorted(listed | present)


def verify_version(
    dataset: str,
    version: Path,
    entry: Mapping[str, Any] | None,
    memo: dict[Path, tuple[int, int, int]] | None = None,
) -> list[Damage]:
    """Every damaged partition of one version (files without a recorded checksum are parsed).

    ``memo``: files already verified, by (inode, mtime, size), skipped while unchanged — what
    lets the API check its store on every ``/ready`` (``edip data verify`` reads every byte).
    """
    files = (entry or {}).get("files") or {}
    damages = []
    for year in version_years(version, entry):
        path = partition_path(version, year)
        expected = files.get(str(year))
        try:
            st = path.stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            stamp = None
        if memo is not None and stamp is not None and memo.get(path) == stamp:
            continue
        try:
            if expected is None:
                load_checked(path, expected)
            else:
                checked_bytes(path, expected)
        except DamagedPartitionError as exc:
            damages.append(Damage(dataset, year, path, exc.reason))
        else:
            if memo is not None and stamp is not None:
                memo[path] = stamp
    return damages


def verify(store: StoreView, dataset: str) -> list[Damage]:
    """The damaged partitions of the dataset's current version (nothing is changed)."""
    base = store.versions.current(dataset)
    return verify_version(dataset, base, store.versions.entry_of(base), store._verified)


def check(store: StoreView, dataset: str, lock_timeout_s: float | None = None) -> list[Damage]:
    """Verify the current version, recovering it when damaged; what is still damaged after.

    ``lock_timeout_s``: how long to wait for the write lock to recover (default
    :data:`RECOVER_LOCK_S`; ``/ready`` waits 1 s: the writer holding it recovers first anyway).
    """
    damages = verify(store, dataset)
    if damages:
        recover(store, dataset, store.versions.current(dataset), lock_timeout_s)
        damages = verify(store, dataset)
    return damages


# ---------------------------------------------------------------------------------------------
# recovery
# ---------------------------------------------------------------------------------------------
def recover(
    store: StoreView, dataset: str, damaged: Path, lock_timeout_s: float | None = None
) -> dict[str, Any] | None:
    """Quarantine the damaged files of ``damaged`` and publish what older versions still hold.

    Runs under the store's write lock. Returns the report, or ``None`` when there is nothing to
    do (another process recovered it first, or it verifies after all).
    """
    try:
        store._lock.acquire(timeout=RECOVER_LOCK_S if lock_timeout_s is None else lock_timeout_s)
    except Timeout as exc:
        raise DamagedPartitionError(
            damaged, "damaged, and the store's write lock stayed busy: not recovered yet"
        ) from exc
    try:
        if store.versions.current(dataset).resolve() != damaged.resolve():
            return None  # already replaced (by a write or another reader's recovery)
        entry = store.versions.entry_of(damaged) or {}
        damages = verify_version(dataset, damaged, entry)
        if not damages:
            return None
        report = _salvage(store, dataset, damaged, entry, damages)
        log.error(
            "store damage: %s; quarantined, now serving %s v%s; repair: %s",
            "; ".join(d.line() for d in damages),
            dataset,
            report["recovered_version"],
            report["repair"],
        )
        return report
    finally:
        store._lock.release()


def _salvage(
    store: StoreView,
    dataset: str,
    damaged: Path,
    entry: Mapping[str, Any],
    damages: list[Damage],
) -> dict[str, Any]:
    """Build and publish the recovered version; quarantine the damaged files; the report."""
    bad = {d.year: d for d in damages}
    older = [v for v in store.versions.history(dataset) if v.resolve() != damaged.resolve()]
    new_dir = store.versions.new(dataset)
    new_dir.mkdir(parents=True, exist_ok=True)
    taken: dict[str, str] = {}
    lost = []
    for year in version_years(damaged, entry):
        if year not in bad:
            share_partition(partition_path(damaged, year), new_dir, year)
            continue
        source = _intact_older(dataset, year, older)
        span = _year_span(entry, year)
        if source is None:
            taken[str(year)] = "dropped: no intact copy in any kept version"
            lost.append({"year": year, "start": span.get("start"), "end": span.get("end")})
            continue
        version, older_span = source
        share_partition(partition_path(version, year), new_dir, year)
        taken[str(year)] = f"from version {(Versions.entry_of(version) or {}).get('version')}"
        if older_span.get("end") != span.get("end"):
            start = older_span.get("end") or span.get("start")
            lost.append({"year": year, "start": start, "end": span.get("end")})
    # order: quarantine, report, then publish — a kill at any point leaves the damage reported
    # or the damaged version current (recovered again by the next reader)
    quarantine_dir = store.root / QUARANTINE / dataset / damaged.name
    moved = [_quarantine(d, quarantine_dir, store.root) for d in damages]
    new_entry = store._entry(dataset, new_dir, dict(entry), touched=False)
    new_entry["recovered_from"] = {"version": entry.get("version"), "partitions": taken}
    report = {
        "dataset": dataset,
        "damaged_version": entry.get("version"),
        "version_dir": damaged.name,
        "detected_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "detected_by": f"pid {os.getpid()} {Path(sys.argv[0]).name}",
        "files": moved,
        "recovered_version": new_entry["version"],
        "partitions": taken,
        "lost": lost,
        "sources": list(entry.get("sources") or []),
        "repair": f"edip data repair --dataset {dataset}",
        "resolved_at": None,
    }
    atomic_write_text(quarantine_dir / REPORT, json.dumps(report, indent=2))
    store.versions.publish(dataset, new_dir, new_entry)
    store._write_manifest()
    store.versions.drop_old(dataset)
    return report


def _year_span(entry: Mapping[str, Any], year: int) -> dict[str, Any]:
    """The measured span of one year in a version: recorded, else the year within its range."""
    recorded = (entry.get("files") or {}).get(str(year))
    if recorded and "end" in recorded:
        return dict(recorded)
    first = pd.Timestamp(year=year, month=1, day=1, tz="UTC")
    last = pd.Timestamp(year=year, month=12, day=31, hour=23, minute=30, tz="UTC")
    if entry.get("start"):
        first = max(first, pd.Timestamp(entry["start"]))
    if entry.get("end"):
        last = min(last, pd.Timestamp(entry["end"]))
    return {"start": first.isoformat(), "end": last.isoformat()}


def _intact_older(
    dataset: str, year: int, older: list[Path]
) -> tuple[Path, Mapping[str, Any]] | None:
    """The newest older version whose file of ``year`` still verifies, with its recorded span."""
    for version in older:
        entry = Versions.entry_of(version) or {}
        expected = (entry.get("files") or {}).get(str(year))
        path = partition_path(version, year)
        if not path.is_file():
            continue
        try:
            load_checked(path, expected)
        except DamagedPartitionError:
            continue
        return version, expected or {}
    return None


def _quarantine(damage: Damage, folder: Path, root: Path) -> dict[str, Any]:
    """Move one damaged file out of the store, next to its report."""
    target = folder / f"year={damage.year}" / "part.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    if damage.path.is_file():
        os.replace(damage.path, target)
    return {
        "year": damage.year,
        "file": str(damage.path.relative_to(root)),
        "quarantined": str(target.relative_to(root)) if target.is_file() else None,
        "reason": damage.reason,
    }


# ---------------------------------------------------------------------------------------------
# reports
# ---------------------------------------------------------------------------------------------
def damage_reports(
    root: Path, dataset: str | None = None, *, open_only: bool = True
) -> list[dict[str, Any]]:
    """The damage reports under ``root`` (oldest first); ``open_only``: not yet resolved."""
    folder = root / QUARANTINE
    if not folder.is_dir():
        return []
    out = []
    for path in sorted(folder.glob(f"{dataset or '*'}/*/{REPORT}")):
        try:
            report: dict[str, Any] = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            report = {"dataset": path.parent.parent.name, "version_dir": path.parent.name,
                      "files": [], "repair": "inspect " + str(path), "resolved_at": None}  # fmt: skip
        if open_only and report.get("resolved_at"):
            continue
        report["report"] = str(path)
        out.append(report)
    return sorted(out, key=lambda r: str(r.get("detected_at")))


def describe(report: Mapping[str, Any]) -> str:
    """One line: which files were damaged, what the store serves instead, how to repair."""
    files = ", ".join(f"{f['file']} ({f['reason']})" for f in report.get("files") or []) or "?"
    lost = "; ".join(f"{x['start']}..{x['end']}" for x in report.get("lost") or [])
    return (
        f"{report.get('dataset')} v{report.get('damaged_version')} damaged: {files}; serving "
        f"v{report.get('recovered_version')}"
        + (f", missing {lost}" if lost else "")
        + f"; repair: {report.get('repair')}"
    )


def resolve(report: Mapping[str, Any], note: str) -> None:
    """Mark a report resolved (kept on disk: the quarantined files stay as evidence)."""
    path = Path(str(report["report"]))
    body = {k: v for k, v in report.items() if k != "report"}
    body["resolved_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    body["resolution"] = note
    atomic_write_text(path, json.dumps(body, indent=2))
