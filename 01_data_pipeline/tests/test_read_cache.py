"""The partition cache of a long-lived reader: hits while unchanged, a re-ingest is seen."""

from __future__ import annotations

import pandas as pd

from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store


def _load(value: float, vintage: Vintage) -> pd.DataFrame:
    ts = pd.date_range("2020-01-01", periods=4, freq="30min", tz="UTC")
    return canonical(
        ts, [value] * 4, variable="consumption_mw", area="FR", vintage=int(vintage), source="t"
    )


def test_cached_reads_hit_until_a_new_version_is_published(store: Store) -> None:
    store.write("load_national", _load(50e3, Vintage.REALTIME))
    reader = Store(store.root, params=store.params, cache_reads=True)
    first = reader._read_partition("load_national", 2020)
    assert reader._read_partition("load_national", 2020) is first  # parsed once
    assert reader.read("load_national")["value"].tolist() == [50e3] * 4
    store.write("load_national", _load(51e3, Vintage.CONSOLIDATED))  # another process's ingest
    assert reader._read_partition("load_national", 2020) is not first
    assert reader.read("load_national")["value"].tolist() == [51e3] * 4


def test_uncached_store_parses_every_read(store: Store) -> None:
    store.write("load_national", _load(50e3, Vintage.REALTIME))
    assert store._read_partition("load_national", 2020) is not store._read_partition(
        "load_national", 2020
    )
