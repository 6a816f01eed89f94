"""Atomic dataset versions: ``interim/<dataset>`` is a symlink to one complete version directory.

Why: a write builds the next version beside the current one (``interim/.versions/<dataset>-<stamp>/``,
unchanged partitions hard-linked, its manifest entry in ``entry.json``), then switches the link
with one ``os.replace``. A kill -9 at any point leaves the previous version visible, never half
of a multi-year ingest; readers resolve the link once per read and need no lock. What a killed
write leaves (``.tmp-*`` files, versions without an entry) is removed by the next write.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edip_pipeline.atomic import atomic_write_text, fsync_dir

log = logging.getLogger(__name__)

#: where complete versions live (``interim/<dataset>`` links to one of them)
VERSIONS = ".versions"
#: a version's manifest entry, written before the version is published
ENTRY_FILE = "entry.json"


def share_partition(src: Path, new_dir: Path, year: int) -> None:
    """Share an unchanged partition with the next version (hard link; copy across devices)."""
    dst = new_dir / f"year={year}" / "part.parquet"
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class Versions:
    """The version directories of the datasets under ``interim_dir``."""

    def __init__(self, interim_dir: Path) -> None:
        self.interim_dir = interim_dir
        self.root = interim_dir / VERSIONS

    def current(self, dataset: str) -> Path:
        """The directory of the dataset's current complete version (resolved once per read)."""
        link = self.interim_dir / dataset
        if link.is_symlink():
            return self.interim_dir / os.readlink(link)
        legacy = self.root / f"{dataset}-legacy"
        if not link.exists() and legacy.is_dir():  # killed inside the first switch
            return legacy
        return link  # a store written before versions (a plain directory), or no data yet

    def current_entry(self, dataset: str) -> dict[str, Any] | None:
        """The manifest entry published with the current version (``None``: none yet)."""
        return self.entry_of(self.current(dataset))

    @staticmethod
    def entry_of(version: Path) -> dict[str, Any] | None:
        """The manifest entry published with the version in ``version`` (``None``: none)."""
        try:
            entry: dict[str, Any] = json.loads((version / ENTRY_FILE).read_text())
        except (FileNotFoundError, NotADirectoryError):
            return None
        return entry

    def history(self, dataset: str) -> list[Path]:
        """The dataset's published versions kept on disk, newest first (the current one too)."""
        if not self.root.is_dir():
            return []
        mine = [p for p in self.root.glob(f"{dataset}-*") if (p / ENTRY_FILE).is_file()]
        return sorted(mine, key=lambda p: p.name, reverse=True)

    def new(self, dataset: str) -> Path:
        """Where the next version of ``dataset`` is built (not created yet)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return self.root / f"{dataset}-{stamp}"

    def publish(self, dataset: str, new_dir: Path, entry: dict[str, Any]) -> None:
        """Write the version's entry, make it durable, then make it the visible version."""
        atomic_write_text(new_dir / ENTRY_FILE, json.dumps(entry, indent=2))
        fsync_dir(new_dir)
        self.switch(dataset, new_dir)

    def switch(self, dataset: str, new_dir: Path) -> None:
        """Make ``new_dir`` the visible version in one atomic rename of a symlink."""
        link = self.interim_dir / dataset
        if link.is_dir() and not link.is_symlink():  # first versioned write of an old store
            legacy = self.root / f"{dataset}-legacy"
            os.rename(link, legacy)
        tmp = self.interim_dir / f".tmp-link-{dataset}-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(new_dir.relative_to(self.interim_dir), tmp)
        os.replace(tmp, link)
        fsync_dir(self.interim_dir)

    def drop_old(self, dataset: str) -> None:
        """Keep the current and the previous version (a read in progress may be on it)."""
        current = self.current(dataset).name
        mine = sorted(p for p in self.root.glob(f"{dataset}-*") if p.name != current)
        for old in mine[:-1]:
            shutil.rmtree(old, ignore_errors=True)

    def clean_leftovers(self, datasets: Iterable[str]) -> list[Path]:
        """Remove what killed writes left: ``.tmp-*`` files and unfinished version dirs."""
        removed: list[Path] = []
        if not self.interim_dir.is_dir():
            return removed
        current = {self.current(d).resolve() for d in datasets}
        for path in list(self.interim_dir.rglob(".tmp-*")):
            path.unlink(missing_ok=True)
            removed.append(path)
        if self.root.is_dir():
            for version in self.root.iterdir():
                unfinished = not (version / ENTRY_FILE).is_file() and "legacy" not in version.name
                if unfinished and version.resolve() not in current:
                    shutil.rmtree(version, ignore_errors=True)
                    removed.append(version)
        if removed:
            log.warning("removed %d leftovers of an interrupted write", len(removed))
        return removed
