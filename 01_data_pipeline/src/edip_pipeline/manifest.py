"""The manifest entry of a store version: what it holds, its content hash and file checksums.

Why apart from the store: the entry is a pure summary of a version's parsed partitions, computed
when a version is published (a write, or a recovery from damage) and read by everything that
describes the store (``edip data status``, the API's data version, the integrity checks).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from edip_pipeline.atomic import atomic_write_text
from edip_pipeline.datasets import DATASETS
from edip_pipeline.integrity import file_checksum
from edip_pipeline.schema import COLUMNS, Flag, empty_frame

if TYPE_CHECKING:
    from edip_pipeline.store_view import StoreView

log = logging.getLogger(__name__)


def frame_hash(frame: pd.DataFrame) -> str:
    """Content hash independent of the parquet writer's version."""
    if frame.empty:
        return hashlib.sha256(b"").hexdigest()
    h = pd.util.hash_pandas_object(frame[COLUMNS], index=False).to_numpy()
    return hashlib.sha256(h.tobytes()).hexdigest()


def span(part: pd.DataFrame) -> dict[str, str | None]:
    """First and last measured stamp of a partition (what a damaged one takes with it)."""
    stamps = part.loc[(part["flags"] & int(Flag.MISSING)) == 0, "timestamp"]
    if stamps.empty:
        return {"start": None, "end": None}
    return {"start": stamps.min().isoformat(), "end": stamps.max().isoformat()}


def version_entry(
    parts: Mapping[int, pd.DataFrame],
    paths: Mapping[int, Path],
    step: str,
    old: Mapping[str, Any],
    *,
    touched: bool,
) -> dict[str, Any]:
    """The entry of a version made of ``parts`` (files at ``paths``); ``old``: the previous one's.

    The version number moves only when the content does; ``files`` holds each partition file's
    SHA-256, size and measured span, which every read checks (:mod:`edip_pipeline.integrity`).
    """
    frame = pd.concat(parts.values(), ignore_index=True) if parts else empty_frame()
    digest = hashlib.sha256(
        "".join(f"{y}:{frame_hash(p)}" for y, p in sorted(parts.items())).encode()
    ).hexdigest()
    version = int(old.get("version", 0)) + (1 if old.get("content_hash") != digest else 0)
    measured = frame[(frame["flags"] & int(Flag.MISSING)) == 0]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    flagged = {
        name: int(((frame["flags"] & int(flag)) != 0).sum())
        for name, flag in (("missing", Flag.MISSING), ("interpolated", Flag.INTERPOLATED))
    }
    return {
        "version": version,
        "rows": len(frame),
        "start": measured["timestamp"].min().isoformat() if len(measured) else None,
        "end": measured["timestamp"].max().isoformat() if len(measured) else None,
        "step": step,
        "variables": sorted(frame["variable"].unique().tolist()),
        "areas": len(frame["area"].unique()),
        **flagged,
        "sources": sorted(frame["source"].unique().tolist()),
        "content_hash": digest,
        "partitions": {str(y): frame_hash(p) for y, p in sorted(parts.items())},
        "files": {str(y): {**file_checksum(paths[y]), **span(p)} for y, p in sorted(parts.items())},
        "updated_at": now if version != old.get("version") else old.get("updated_at", now),
        "last_ingest": now if touched or not old else old.get("last_ingest", now),
    }


def data_version_of(manifest: Mapping[str, Any]) -> str:
    """Short hash of every dataset's content hash (what models record as their data version)."""
    items = sorted((k, v["content_hash"]) for k, v in manifest.get("datasets", {}).items())
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()[:16]


def current_manifest(store: StoreView) -> dict[str, Any]:
    """Per dataset, the entry of its current version; no lock, never a half-written state.

    Each version directory carries its own entry, published with it by the link switch, so a
    reader always gets the entry of the data it reads. ``manifest.json`` is a derived summary
    (humans, DVC) rewritten after each switch.
    """
    summary: dict[str, Any] = {"datasets": {}}
    corrupt = False
    if store.manifest_path.is_file():
        try:
            summary = json.loads(store.manifest_path.read_text())
        except json.JSONDecodeError:
            log.warning("manifest.json unreadable: rebuilt from the version entries")
            corrupt = True
    datasets: dict[str, Any] = {}
    for dataset in DATASETS:
        entry = store.versions.current_entry(dataset)
        if entry is None:
            entry = summary.get("datasets", {}).get(dataset)  # a store from before versions
            if entry is None and store.partitions(dataset):
                entry = store._entry(dataset, store.versions.current(dataset), {}, touched=False)
        if entry is not None:
            datasets[dataset] = entry
    manifest: dict[str, Any] = {"datasets": datasets}
    manifest["data_version"] = data_version_of(manifest)
    if corrupt:  # the summary is derived: rewriting it (atomically) loses nothing
        with contextlib.suppress(OSError):
            atomic_write_text(store.manifest_path, json.dumps(manifest, indent=2, sort_keys=True))
    return manifest
