"""What the store's integrity and manifest helpers read of a :class:`~edip_pipeline.store.Store`.

Why a protocol: :mod:`edip_pipeline.integrity` and :mod:`edip_pipeline.manifest` are parts of the
store split out by concept; the store imports them, so they name it through this protocol instead
of importing it back (no import cycle, ``make lint``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from filelock import FileLock

from edip_pipeline.versions import Versions


class StoreView(Protocol):
    """The store's folders, versions, write lock and manifest entry builder."""

    root: Path
    manifest_path: Path
    versions: Versions
    _verified: dict[Path, tuple[int, int, int]]
    _lock: FileLock

    def partitions(self, dataset: str, base: Path | None = None) -> list[int]: ...

    def _entry(
        self, dataset: str, base: Path, old: dict[str, Any], *, touched: bool
    ) -> dict[str, Any]: ...

    def _write_manifest(self) -> dict[str, Any]: ...
