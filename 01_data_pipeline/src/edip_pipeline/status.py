"""What ``edip data status`` shows: per dataset range, rows, gaps, last ingest and version."""

from __future__ import annotations

from typing import Any

import numpy as np

from edip_pipeline.datasets import DATASETS
from edip_pipeline.integrity import check
from edip_pipeline.schema import Flag
from edip_pipeline.store import Store


def count_gaps(flags: np.ndarray) -> int:
    """Number of runs of consecutive MISSING rows (one run = one gap)."""
    missing = (flags & int(Flag.MISSING)) != 0
    if not missing.any():
        return 0
    return int(np.count_nonzero(np.diff(np.concatenate([[0], missing.astype(int)])) == 1))


def dataset_status(store: Store | None = None) -> list[dict[str, Any]]:
    """One row per stored dataset, from the manifest plus a scan of gap runs."""
    store = store or Store()
    for name in DATASETS:  # a damaged version is recovered (and reported) before it is shown
        check(store, name)
    manifest = store.manifest().get("datasets", {})
    out = []
    for name in DATASETS:
        entry = manifest.get(name)
        if not entry:
            continue
        frame = store.read(name)
        gaps = sum(
            count_gaps(g.sort_values("timestamp")["flags"].to_numpy())
            for _, g in frame.groupby(["area", "variable"])
        )
        out.append(
            {
                "data_dir": str(store.root),
                "dataset": name,
                "version": entry["version"],
                "rows": entry["rows"],
                "start": entry["start"],
                "end": entry["end"],
                "step": entry["step"],
                "gaps": gaps,
                "missing": entry["missing"],
                "interpolated": entry["interpolated"],
                "last_ingest": entry["last_ingest"],
                "sources": ",".join(entry["sources"]),
            }
        )
    return out
