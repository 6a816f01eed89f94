"""What ``/v1/data/status`` shows of the store: per (dataset, variable) rows, measured span, gaps.

Built on :func:`edip_pipeline.status.dataset_status` (the ``edip data status`` view: which
datasets are stored, at which version), so the API and the CLI agree on what the store holds;
the API adds the per-variable detail the dashboard's data-health page plots. The scan reads
every dataset, so it is cached per (store, data version): an ingest invalidates it.
"""

from __future__ import annotations

import threading

import pandas as pd

from edip_api.schemas_data import DatasetStatus
from edip_api.services.store_view import StoreView
from edip_pipeline.schema import Flag
from edip_pipeline.status import dataset_status
from edip_pipeline.store import Store

_HOUR = pd.Timedelta(hours=1)
_cache: dict[str, list[DatasetStatus]] = {}
_lock = threading.Lock()


def variable_status(store: Store) -> list[DatasetStatus]:
    """One row per stored (dataset, variable); ``age_hours`` is left to :func:`dataset_rows`."""
    rows: list[DatasetStatus] = []
    for entry in dataset_status(store):
        frame = store.read(entry["dataset"])
        for variable, g in frame.groupby("variable"):
            missing = (g["flags"].to_numpy() & int(Flag.MISSING)) != 0
            measured = g["timestamp"][~missing]
            rows.append(
                DatasetStatus(
                    dataset=entry["dataset"],
                    variable=str(variable),
                    rows=len(g),
                    first=measured.min().to_pydatetime() if len(measured) else None,
                    last=measured.max().to_pydatetime() if len(measured) else None,
                    age_hours=None,
                    missing_steps=int(missing.sum()),
                    data_version=str(entry["version"]),
                )
            )
    return rows


def dataset_rows(view: StoreView, now: pd.Timestamp) -> list[DatasetStatus]:
    """:func:`variable_status` of the view's store (cached per data version), aged at ``now``."""
    key = f"{view.store.root}:{view.snapshot().data_version}"
    cached = _cache.get(key)
    if cached is None:
        cached = variable_status(view.store)
        with _lock:
            _cache.clear()
            _cache[key] = cached
    return [
        d.model_copy(
            update={
                "age_hours": float((now - pd.Timestamp(d.last)) / _HOUR)
                if d.last is not None
                else None
            }
        )
        for d in cached
    ]
