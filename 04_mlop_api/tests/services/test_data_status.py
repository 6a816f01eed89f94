"""The dataset scan of ``/v1/data/status``: per variable, on the pipeline's view of the store."""

from __future__ import annotations

import pandas as pd

from edip_api.services.data_status import dataset_rows, variable_status
from edip_api.services.store_view import StoreView
from edip_pipeline.status import dataset_status
from edip_pipeline.store import Store


def test_one_row_per_stored_variable_at_the_pipeline_version(store: Store) -> None:
    rows = variable_status(store)
    versions = {d["dataset"]: str(d["version"]) for d in dataset_status(store)}
    assert {r.dataset for r in rows} == set(versions)
    assert all(r.data_version == versions[r.dataset] for r in rows)
    load = next(r for r in rows if (r.dataset, r.variable) == ("load_national", "consumption_mw"))
    series = store.series("load_national", "consumption_mw")
    assert load.rows >= len(series.dropna())
    assert pd.Timestamp(load.last) == series.dropna().index.max()
    assert load.age_hours is None


def test_rows_are_aged_at_now_and_cached(store: Store) -> None:
    view = StoreView(store)
    last = pd.Timestamp(next(r for r in variable_status(store) if r.last is not None).last)
    now = last + pd.Timedelta(hours=5)
    first = dataset_rows(view, now)
    again = dataset_rows(view, now + pd.Timedelta(hours=1))
    assert [r.model_copy(update={"age_hours": None}) for r in first] == [
        r.model_copy(update={"age_hours": None}) for r in again
    ]
    aged = {(r.dataset, r.variable): r.age_hours for r in first if r.last is not None}
    assert 5.0 in aged.values()
