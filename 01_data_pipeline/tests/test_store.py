"""The store: validation before write, atomic idempotent upserts, vintages, manifest."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pandera.errors
import pytest

from edip_pipeline.schema import Flag, Vintage, validate
from edip_pipeline.sources.base import canonical
from edip_pipeline.store import Store, StoreError


def _series(
    start: str,
    n: int,
    value: float | np.ndarray,
    vintage: Vintage,
    source: str = "t",
    step: str = "30min",
    variable: str = "consumption_mw",
) -> pd.DataFrame:
    ts = pd.date_range(start, periods=n, freq=step, tz="UTC")
    values = np.broadcast_to(np.asarray(value, dtype=float), n)
    return canonical(ts, values, variable=variable, area="FR", vintage=int(vintage), source=source)


def test_write_read_roundtrip_and_manifest(store: Store) -> None:
    frame = _series("2020-01-01", 48, np.arange(48) + 50_000.0, Vintage.REALTIME)
    res = store.write("load_national", frame)
    assert res.changed
    assert res.version == 1
    assert res.rows_total == 48
    back = store.read("load_national")
    validate(back)
    np.testing.assert_allclose(back["value"], np.arange(48) + 50_000.0)
    entry = store.manifest()["datasets"]["load_national"]
    assert entry["rows"] == 48
    assert entry["start"] == "2020-01-01T00:00:00+00:00"
    assert entry["end"] == "2020-01-01T23:30:00+00:00"
    assert len(store.data_version()) == 16


def test_same_rows_twice_is_idempotent(store: Store) -> None:
    frame = _series("2020-01-01", 96, np.linspace(40e3, 60e3, 96), Vintage.CONSOLIDATED)
    first = store.write("load_national", frame)
    second = store.write("load_national", frame)
    assert not second.changed
    assert second.content_hash == first.content_hash
    assert second.version == first.version == 1


def test_higher_vintage_wins_and_lower_does_not_overwrite(store: Store) -> None:
    store.write("load_national", _series("2020-01-01", 4, 50_100.0, Vintage.REALTIME, "tr"))
    store.write("load_national", _series("2020-01-01", 4, 50_200.0, Vintage.DEFINITIVE, "def"))
    store.write("load_national", _series("2020-01-01", 4, 50_150.0, Vintage.CONSOLIDATED, "cons"))
    back = store.read("load_national")
    assert back["value"].tolist() == [50_200.0] * 4
    assert set(back["source"]) == {"def"}
    # a same-vintage republication replaces (latest wins)
    store.write("load_national", _series("2020-01-01", 4, 50_210.0, Vintage.DEFINITIVE, "def2"))
    assert store.read("load_national")["value"].tolist() == [50_210.0] * 4


def test_gaps_short_interpolated_long_missing(store: Store) -> None:
    ts = pd.date_range("2020-01-01", periods=48, freq="30min", tz="UTC")
    values = np.linspace(50e3, 60e3, 48)
    keep = np.ones(48, bool)
    keep[5:7] = False  # 1 h gap -> interpolated (policy 2 h)
    keep[20:30] = False  # 5 h gap -> missing
    frame = canonical(
        ts[keep], values[keep], variable="consumption_mw", area="FR", vintage=1, source="t"
    )
    store.write("load_national", frame)
    back = store.read("load_national").set_index("timestamp")
    assert len(back) == 48
    interp = back.iloc[5:7]
    assert (interp["flags"] & int(Flag.INTERPOLATED)).astype(bool).all()
    np.testing.assert_allclose(interp["value"], values[5:7])
    miss = back.iloc[20:30]
    assert miss["value"].isna().all()
    assert (miss["flags"] & int(Flag.MISSING)).astype(bool).all()
    # real data arriving later replaces interpolated and missing rows
    store.write(
        "load_national",
        canonical(
            ts[~keep],
            values[~keep] + 1,
            variable="consumption_mw",
            area="FR",
            vintage=1,
            source="late",
        ),
    )
    back = store.read("load_national")
    assert back["flags"].eq(0).all()
    assert back["value"].notna().all()


def test_flat_line_and_outlier_flags(store: Store) -> None:
    n = 48 * 6
    rng = np.random.default_rng(0)
    values = 50e3 + 5e3 * np.sin(np.arange(n) / 48 * 2 * np.pi) + rng.normal(0, 100, n)
    values[100:115] = 42_000.0  # 7 h constant
    values[200] = 120_000.0  # spike (still a plausible national load)
    store.write("load_national", _series("2020-01-01", n, values, Vintage.REALTIME))
    back = store.read("load_national")
    flat = (back["flags"] & int(Flag.FLAT_LINE)) != 0
    assert flat.iloc[100:115].all()
    assert flat.sum() == 15
    out = (back["flags"] & int(Flag.OUTLIER)) != 0
    assert out.iloc[200]
    assert out.sum() <= 3


def test_schema_violation_refused_before_anything_is_written(store: Store) -> None:
    good = _series("2020-01-01", 4, 1.0, Vintage.REALTIME)
    store.write("load_national", good)
    before = (store.root / "interim/load_national/year=2020/part.parquet").read_bytes()
    bad = good.copy()
    bad["variable"] = "Not A Valid Name!"
    with pytest.raises(pandera.errors.SchemaError):
        store.write("load_national", bad)
    naive = good.copy()
    naive["timestamp"] = naive["timestamp"].dt.tz_localize(None)
    with pytest.raises(ValueError, match="time-zone aware"):
        store.write("load_national", naive)
    assert (store.root / "interim/load_national/year=2020/part.parquet").read_bytes() == before


def test_unknown_dataset(store: Store) -> None:
    with pytest.raises(StoreError, match="unknown dataset"):
        store.read("nope")


def test_partitions_by_year_and_range_reads(store: Store) -> None:
    store.write("load_national", _series("2019-12-31 22:00", 8, 1.0, Vintage.REALTIME))
    assert store.partitions("load_national") == [2019, 2020]
    got = store.read("load_national", "2020-01-01", "2020-01-01 01:00")
    assert got["timestamp"].tolist() == list(
        pd.date_range("2020-01-01", periods=2, freq="30min", tz="UTC")
    )


def test_daily_dataset_follows_paris_days(store: Store) -> None:
    days = pd.date_range("2020-03-27", "2020-03-31", freq="D", tz="Europe/Paris").tz_convert("UTC")
    frame = canonical(
        days.delete(2), [1.0, 2.0, 4.0, 5.0], variable="tmean_c", area="FR", vintage=3, source="t"
    )
    store.write("temperature_daily", frame)
    back = store.read("temperature_daily")
    assert back["timestamp"].tolist() == list(days)  # 23-h day around the clock change kept
    # a missing day is longer than the 2 h interpolation policy: kept as MISSING
    assert back["value"].tolist()[:2] == [1.0, 2.0]
    assert np.isnan(back["value"].iloc[2])
    assert back["flags"].iloc[2] & int(Flag.MISSING)


def test_manifest_rebuilt_when_corrupt(store: Store) -> None:
    store.write("load_national", _series("2020-01-01", 4, 1.0, Vintage.REALTIME))
    store.manifest_path.write_text("{not json")
    manifest = store.manifest()
    assert manifest["datasets"]["load_national"]["rows"] == 4
    json.loads(store.manifest_path.read_text())


def test_raw_layer_is_immutable_and_deduplicated(store: Store) -> None:
    p1 = store.save_raw("odre", "eco2mix-national-tr", b'{"a": 1}')
    p2 = store.save_raw("odre", "eco2mix-national-tr", b'{"a": 1}')
    p3 = store.save_raw("odre", "eco2mix-national-tr", b'{"a": 2}')
    assert p1 == p2 != p3
    assert p1.read_bytes() == b'{"a": 1}'
    assert p1.parent == store.root / "raw" / "odre" / "eco2mix-national-tr"


def test_reads_do_not_wait_for_the_writer_lock(store: Store) -> None:
    """The API reads the last complete version while an ingest holds the store lock."""
    store.write("load_national", _series("2020-01-01", 4, 1.0, Vintage.REALTIME))
    (store.root / ".manifest-stale").touch()  # what the old writer left while writing
    other = Store(store.root, params=store.params)
    other._lock.timeout = 0.5
    with store._lock:  # a writer is busy
        assert other.manifest()["datasets"]["load_national"]["rows"] == 4
        assert len(other.read("load_national")) == 4


def test_flags_follow_rows_not_index_labels(store: Store) -> None:
    frame = _series("2020-01-01", 4, np.arange(4.0), Vintage.REALTIME)
    frame["flags"] = np.array([0, 0, 0, int(Flag.OUTLIER)], dtype="int8")
    shuffled = frame.iloc[::-1]  # index labels no longer match positions
    from edip_pipeline.schema import coerce_canonical

    out = coerce_canonical(shuffled)
    assert out["flags"].tolist() == [int(Flag.OUTLIER), 0, 0, 0]


def test_impossible_values_are_flagged_and_never_interpolated(store: Store) -> None:
    """-5 MW and 1e12 MW national load: flagged IMPLAUSIBLE, stored as NaN, counted, and the
    neighbours keep their own values (nothing interpolated from the impossible ones)."""
    values = np.full(12, 50_000.0)
    values[3] = -5.0
    values[8] = 1e12
    result = store.write("load_national", _series("2020-01-01", 12, values, Vintage.REALTIME))
    assert result.implausible == 2
    back = store.read("load_national")
    bad = (back["flags"] & int(Flag.IMPLAUSIBLE)) != 0
    assert bad.tolist() == [i in (3, 8) for i in range(12)]
    assert back["value"].drop(index=[3, 8]).tolist() == [50_000.0] * 10
    assert back["value"].max() < 130_000
    assert back["value"].min() > 0
    # weather ranges: one mechanism for every variable
    weather = pd.concat(
        [
            _series("2020-01-01", 3, v, Vintage.REALTIME, step="1h", variable=name)
            for name, v in (
                ("cloud_cover_pct", [50.0, 130.0, 20.0]),
                ("relative_humidity_2m_pct", [-1.0, 80.0, 70.0]),
                ("wind_speed_10m_kmh", [10.0, -3.0, 12.0]),
                ("shortwave_radiation_wm2", [0.0, 300.0, -20.0]),
                ("temperature_2m_c", [5.0, 6.0, 99.0]),
            )
        ],
        ignore_index=True,
    )
    assert store.write("weather_observed", weather).implausible == 5


@pytest.mark.parametrize("value", [np.inf, -np.inf, "abc"])
def test_non_finite_or_text_values_are_refused(store: Store, value: object) -> None:
    frame = _series("2020-01-01", 4, 50e3, Vintage.REALTIME).astype({"value": object})
    frame.loc[2, "value"] = value
    with pytest.raises(ValueError, match=r"non-finite|not numbers"):
        store.write("load_national", frame)
    assert not store.partitions("load_national")
