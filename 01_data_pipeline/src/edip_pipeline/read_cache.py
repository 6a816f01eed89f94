"""An in-memory cache of parsed store partitions, for long-lived readers (the API).

Why: a forecast's feature build reads the same yearly partitions on every request; parsing
parquet dominated an uncached forecast. An entry is keyed on its file's inode, mtime and size,
and the store only ever publishes new partition files (atomic versions), so a re-ingest is
picked up on the next read without any explicit invalidation.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd

#: a file's identity: (inode, mtime in ns, size)
Stamp = tuple[int, int, int]


class PartitionCache:
    """Parsed partitions by (dataset, year), kept until their file changes (oldest evicted first).

    The cached frame is returned itself, not a copy: callers must not modify it in place.
    """

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._parts: dict[tuple[str, int], tuple[Stamp, pd.DataFrame]] = {}
        self._lock = threading.Lock()

    def read(
        self, dataset: str, year: int, path: Path, load: Callable[[Path], pd.DataFrame]
    ) -> pd.DataFrame:
        """The partition at ``path``, from memory when the file is unchanged, else ``load(path)``."""
        try:
            st = path.stat()
        except OSError:
            return load(path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = self._parts.get((dataset, year))
        if hit is not None and hit[0] == stamp:
            return hit[1]
        frame = load(path)
        with self._lock:
            if len(self._parts) >= self.size:
                self._parts.pop(next(iter(self._parts)))
            self._parts[(dataset, year)] = (stamp, frame)
        return frame
