"""Atomic versions: an unfinished version is never visible and is removed by the next write."""

from __future__ import annotations

import pandas as pd

from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store
from edip_pipeline.versions import ENTRY_FILE


def _series(start: str, n: int, value: float, vintage: Vintage) -> pd.DataFrame:
    ts = pd.date_range(start, periods=n, freq="30min", tz="UTC")
    return canonical(
        ts, [value] * n, variable="consumption_mw", area="FR", vintage=int(vintage), source="t"
    )


def test_an_unfinished_version_is_invisible_and_cleaned_by_the_next_write(store: Store) -> None:
    """A write killed before its switch leaves the previous version visible, untouched."""
    store.write("load_national", _series("2020-01-01", 4, 50e3, Vintage.REALTIME))
    before = store.manifest()["datasets"]["load_national"]
    # what a kill -9 leaves mid-write: a half-built version and a temporary file
    half = store.versions.root / "load_national-20990101T000000000000Z"
    (half / "year=2020").mkdir(parents=True)
    (half / "year=2020" / "part.parquet").write_bytes(b"PAR1 torn")
    stray = store.interim_dir / "load_national" / "year=2020" / ".tmp-abc.parquet"
    stray.write_bytes(b"torn")
    assert store.manifest()["datasets"]["load_national"] == before
    assert store.read("load_national")["value"].tolist() == [50e3] * 4
    store.write("load_national", _series("2020-01-01", 4, 51e3, Vintage.CONSOLIDATED))
    assert not half.exists()
    assert not stray.exists()
    assert store.manifest()["datasets"]["load_national"]["version"] == before["version"] + 1


def test_each_write_publishes_a_complete_version_and_keeps_the_previous_one(store: Store) -> None:
    for i in range(4):
        store.write("load_national", _series("2020-01-01", 4, 50e3 + i, Vintage.REALTIME))
    link = store.interim_dir / "load_national"
    assert link.is_symlink()
    assert store.versions.current("load_national") == store.interim_dir / link.readlink()
    kept = sorted(store.versions.root.iterdir())
    assert len(kept) == 2  # current + previous (a read in progress may be on it)
    assert all((v / ENTRY_FILE).is_file() for v in kept)
    assert (
        store.versions.current_entry("load_national")
        == (store.manifest()["datasets"]["load_national"])
    )
