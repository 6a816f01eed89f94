"""Damaged partitions on disk: detected by checksum on read, quarantined, recovered, reported."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.integrity import (
    QUARANTINE,
    damage_reports,
    describe,
    file_checksum,
    verify,
)
from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store

DATASET = "load_national"


def _series(start: str, n: int, value: float) -> pd.DataFrame:
    ts = pd.date_range(start, periods=n, freq="30min", tz="UTC")
    values = np.full(n, value)
    return canonical(
        ts, values, variable="consumption_mw", area="FR", vintage=int(Vintage.REALTIME), source="t"
    )


@pytest.fixture
def two_versions(store: Store) -> Store:
    """v1: 2019-12-31 and 2020-01-01; v2 adds 2020-01-02 (a new 2020 file, 2019 shared)."""
    store.write(DATASET, _series("2019-12-31", 96, 50e3))
    store.write(DATASET, _series("2020-01-02", 48, 51e3))
    assert store.manifest()["datasets"][DATASET]["version"] == 2
    return store


def _current_file(store: Store, year: int) -> str:
    return str(store.versions.current(DATASET) / f"year={year}" / "part.parquet")


def _truncate(path: str, size: int = 100) -> None:
    with open(path, "r+b") as fh:  # in place, as a full disk or a cut copy leaves it
        fh.truncate(size)


def test_each_version_records_the_checksum_of_every_partition(two_versions: Store) -> None:
    entry = two_versions.versions.current_entry(DATASET)
    assert entry is not None
    assert sorted(entry["files"]) == ["2019", "2020"]
    for year, recorded in entry["files"].items():
        on_disk = file_checksum(
            two_versions.versions.current(DATASET) / f"year={year}" / "part.parquet"
        )
        assert recorded["sha256"] == on_disk["sha256"]
        assert recorded["bytes"] == on_disk["bytes"]
    assert entry["files"]["2020"]["end"] == "2020-01-02T23:30:00+00:00"
    assert verify(two_versions, DATASET) == []


def test_a_truncated_partition_is_quarantined_and_the_last_good_copy_served(
    two_versions: Store,
) -> None:
    store = two_versions
    damaged = _current_file(store, 2020)
    damaged_dir = store.versions.current(DATASET).name
    _truncate(damaged)

    back = store.read(DATASET)  # no exception: recovered on the way

    # 2020 now comes from version 1 (ending 2020-01-01 23:30), 2019 is untouched
    assert back["timestamp"].max() == pd.Timestamp("2020-01-01T23:30", tz="UTC")
    assert len(back) == 96
    entry = store.manifest()["datasets"][DATASET]
    assert entry["version"] == 3
    assert entry["recovered_from"] == {
        "version": 2,
        "partitions": {"2020": "from version 1"},
    }
    [report] = damage_reports(store.root)
    assert report["dataset"] == DATASET
    assert report["damaged_version"] == 2
    assert report["recovered_version"] == 3
    [file] = report["files"]
    assert file["file"].endswith(f"{damaged_dir}/year=2020/part.parquet")
    assert "checksum mismatch" in file["reason"]
    quarantined = store.root / file["quarantined"]
    assert quarantined.is_file()
    assert quarantined.stat().st_size == 100  # kept as found
    assert quarantined.is_relative_to(store.root / QUARANTINE)
    assert report["lost"] == [
        {"year": 2020, "start": "2020-01-01T23:30:00+00:00", "end": "2020-01-02T23:30:00+00:00"}
    ]
    assert report["repair"] == f"edip data repair --dataset {DATASET}"
    assert "edip data repair" in describe(report)
    assert verify(store, DATASET) == []


def test_a_changed_byte_is_caught_by_the_checksum_even_when_parquet_parses(
    two_versions: Store,
) -> None:
    store = two_versions
    path = _current_file(store, 2019)
    with open(path, "rb") as fh:
        data = bytearray(fh.read())
    data[len(data) // 2] ^= 0x01
    os.chmod(path, 0o644)
    with open(path, "r+b") as fh:  # hard-linked: every version sharing 2019 sees the change
        fh.write(bytes(data))
    store.read(DATASET)
    [report] = damage_reports(store.root)
    assert report["partitions"] == {"2019": "dropped: no intact copy in any kept version"}
    assert report["lost"] == [
        {"year": 2019, "start": "2019-12-31T00:00:00+00:00", "end": "2019-12-31T23:30:00+00:00"}
    ]
    back = store.read(DATASET)
    assert back["timestamp"].min() == pd.Timestamp("2020-01-01", tz="UTC")


def test_a_write_after_damage_recovers_first_and_never_shares_the_damaged_file(
    two_versions: Store,
) -> None:
    store = two_versions
    _truncate(_current_file(store, 2020))
    result = store.write(DATASET, _series("2020-01-03", 48, 52e3))
    assert result.changed
    back = store.read(DATASET)
    assert back["timestamp"].max() == pd.Timestamp("2020-01-03T23:30", tz="UTC")
    # 01-02 was lost with the damaged file: the store says so until a repair re-fetches it
    assert back[back["timestamp"].dt.day == 2]["value"].isna().all()
    assert len(damage_reports(store.root)) == 1
    assert verify(store, DATASET) == []


def test_other_readers_recover_through_the_same_report(two_versions: Store) -> None:
    store = two_versions
    _truncate(_current_file(store, 2020))
    other = Store(store.root, store.params, cache_reads=True)
    assert other.last_timestamp(DATASET) == pd.Timestamp("2020-01-01T23:30", tz="UTC")
    assert store.read(DATASET)["timestamp"].max() == pd.Timestamp("2020-01-01T23:30", tz="UTC")
    assert len(damage_reports(store.root)) == 1  # recovered once, by the first reader


def test_a_removed_partition_file_is_damage_too(two_versions: Store) -> None:
    store = two_versions
    os.remove(_current_file(store, 2020))
    assert store.read(DATASET)["timestamp"].max() == pd.Timestamp("2020-01-01T23:30", tz="UTC")
    [report] = damage_reports(store.root)
    assert report["files"][0]["reason"] == "file missing"
    assert report["files"][0]["quarantined"] is None


def test_a_report_survives_in_json_next_to_the_quarantined_file(two_versions: Store) -> None:
    store = two_versions
    _truncate(_current_file(store, 2020))
    store.read(DATASET)
    [report] = damage_reports(store.root)
    with open(report["report"]) as fh:
        on_disk = json.load(fh)
    assert on_disk["resolved_at"] is None
    assert on_disk["files"] == report["files"]
