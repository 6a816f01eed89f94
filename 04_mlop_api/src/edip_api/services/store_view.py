"""A cheap, cached view of the pipeline Store: data version and the span of the national load.

Why: every forecast needs the data version (cache key, provenance) and the load's first/last
stamps (origin checks, freshness). The manifest is re-read only when a dataset's version link
(or the old-style manifest) changes, never under the pipeline's write lock: an ingest in progress
does not stall forecasts. The links are looked at once per ``check_s`` at most
(``EDIP_STORE_CHECK_S``): a readlink per dataset and a stat on every request cost the cached
answer more than its JSON. Parsed partitions are cached by the store itself
(``Store(cache_reads=True)``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from edip_pipeline.datasets import DATASETS
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

LOAD_DATASET = "load_national"


@dataclass(frozen=True)
class DataSnapshot:
    """What the store holds right now."""

    readable: bool
    data_version: str | None
    first: pd.Timestamp | None
    last: pd.Timestamp | None
    error: str | None = None


class StoreView:
    """The Store plus a snapshot cached on the manifest's modification time."""

    def __init__(self, store: Store, check_s: float = 0.0) -> None:
        self.store = store
        self.check_s = check_s
        self._checked_at = -float("inf")  # monotonic time of the last look at the links
        self._lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None
        self._snapshot = DataSnapshot(False, None, None, None, "not read yet")

    def _stamp_now(self) -> tuple[Any, ...]:
        """Which version each dataset links to (one readlink each: no lock, no parsing)."""
        links = []
        for dataset in DATASETS:
            link = self.store.interim_dir / dataset
            links.append(os.readlink(link) if link.is_symlink() else "")
        path = self.store.manifest_path
        mtime = path.stat().st_mtime_ns if path.is_file() else -1  # stores from before versions
        return (mtime, *links)

    def snapshot(self) -> DataSnapshot:
        """The current snapshot (re-read when the manifest changed)."""
        now = time.monotonic()
        if now - self._checked_at < self.check_s:
            return self._snapshot
        try:
            stamp = self._stamp_now()
        except OSError as exc:
            return DataSnapshot(False, None, None, None, f"store unreadable: {exc}")
        if stamp == self._stamp:
            self._checked_at = now if self._snapshot.readable else -float("inf")
            return self._snapshot
        with self._lock:
            try:
                manifest = self.store.manifest()
                entry = manifest.get("datasets", {}).get(LOAD_DATASET)
                version = self.store.data_version() if manifest.get("datasets") else None
                if not entry or not entry.get("end"):
                    snap = DataSnapshot(
                        True, version, None, None, f"no {LOAD_DATASET} data in {self.store.root}"
                    )
                else:
                    snap = DataSnapshot(
                        True,
                        version,
                        pd.Timestamp(entry["start"]).tz_convert("UTC"),
                        pd.Timestamp(entry["end"]).tz_convert("UTC"),
                    )
            except Exception as exc:  # a corrupt store must show in /ready, not crash
                log.exception("store snapshot failed")
                snap = DataSnapshot(False, None, None, None, f"store unreadable: {exc}")
            self._snapshot, self._stamp = snap, stamp
            self._checked_at = now if snap.readable else -float("inf")
            return snap
