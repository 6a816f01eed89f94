"""The ingestion service: sample ingest, idempotence, incremental periods, failure isolation and
portal-file imports. Only the ODRÉ API is replaced, by a local pytest-httpserver."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings
from edip_pipeline.ingest import datasets_for, incremental_period, ingest_dataset, ingest_file
from edip_pipeline.schema import Flag, Vintage, validate
from edip_pipeline.sources import get_source
from edip_pipeline.sources.base import canonical
from edip_pipeline.sources.sample import SAMPLE_DATASET, SampleSource
from edip_pipeline.store import Store

API = "/api/explore/v2.1"
PARIS = "Europe/Paris"
HALF_HOURS_2019_2020 = (365 + 366) * 48


def paris_midnight(day: str) -> pd.Timestamp:
    return pd.Timestamp(day, tz=PARIS).tz_convert("UTC")


def snapshot(store: Store) -> dict[str, bytes]:
    """Every byte of the canonical layer and the manifest."""
    files = sorted(p for p in store.interim_dir.rglob("*") if p.is_file())
    files.append(store.manifest_path)
    return {str(p.relative_to(store.root)): p.read_bytes() for p in files}


@pytest.fixture
def sampled(store: Store) -> Store:
    report = ingest_dataset("sample", SAMPLE_DATASET, store=store)
    assert report.ok, report.error
    return store


# ------------------------------------------------------------------------------ sample ingest
def test_sample_ingest_writes_load_national_2019_2020(store: Store) -> None:
    report = ingest_dataset("sample", SAMPLE_DATASET, store=store)
    assert report.ok, report.error
    assert report.start == "2018-12-31T23:00:00+00:00"  # 2019-01-01 00:00 Paris
    [write] = report.writes
    assert write.dataset == "load_national"
    assert write.changed
    assert write.version == 1
    assert write.partitions == [2018, 2019, 2020]
    assert store.raw_dir.is_dir()  # the raw layer exists even though the sample keeps nothing

    entry = store.manifest()["datasets"]["load_national"]
    assert entry["start"] == "2018-12-31T23:00:00+00:00"
    assert entry["end"] == "2020-12-31T22:30:00+00:00"  # 2020-12-31 23:30 Paris
    assert entry["variables"] == ["consumption_mw", "gas_mw", "nuclear_mw"]
    assert entry["rows"] == 3 * HALF_HOURS_2019_2020  # a complete 30-min grid per variable
    assert entry["missing"] == 0
    assert entry["content_hash"] == write.content_hash

    cons = store.series("load_national", "consumption_mw")
    assert len(cons) == HALF_HOURS_2019_2020
    assert cons.index.is_unique
    assert (cons.index.to_series().diff().dropna() == pd.Timedelta("30min")).all()
    assert cons.between(25_000, 105_000).all()
    frame = store.read("load_national")
    validate(frame)
    interpolated = frame[(frame["flags"] & int(Flag.INTERPOLATED)) != 0]
    assert set(interpolated["source"]) == {"cleaning"}  # autumn's missing CEST hour, filled
    assert (frame.loc[frame["source"] == "sample", "vintage"] == int(Vintage.DEFINITIVE)).all()


def test_sample_ingest_twice_is_idempotent(store: Store) -> None:
    first = ingest_dataset("sample", SAMPLE_DATASET, store=store)
    before = snapshot(store)
    again = ingest_dataset("sample", SAMPLE_DATASET, store=store)  # incremental
    full = ingest_dataset(
        "sample", SAMPLE_DATASET, start="2019-01-01", end="2021-01-01", store=store
    )
    for report in (again, full):
        assert report.ok, report.error
        [w] = report.writes
        assert w.rows_in > 0
        assert not w.changed
        assert w.content_hash == first.writes[0].content_hash
        assert w.version == 1
    after = snapshot(store)
    assert after.keys() == before.keys()
    partitions = [k for k in before if k.endswith("part.parquet")]
    assert len(partitions) == 3
    assert all(after[k] == before[k] for k in partitions)  # no partition rewritten


# ------------------------------------------------------------------------------ incremental
def test_incremental_period_from_stored_end_minus_revision_window(sampled: Store) -> None:
    end = pd.Timestamp("2021-02-01", tz="UTC")
    params = sampled.params
    # sample: family cons-def, 95 days before 2020-12-31 23:30 Paris, at Paris midnight
    period = incremental_period(sampled, SampleSource(), SAMPLE_DATASET, params, end)
    assert period.start == paris_midnight("2020-09-28")
    assert period.end == end
    # an ODRÉ real-time dataset writing the same table: family tr, 3 days
    odre = get_source("odre")
    period = incremental_period(sampled, odre, "eco2mix-national-tr", params, end)
    assert period.start == paris_midnight("2020-12-28")
    # the window comes from params
    short = params.model_copy(deep=True)
    short.ingest.revision_window_days["cons-def"] = 10
    period = incremental_period(sampled, SampleSource(), SAMPLE_DATASET, short, end)
    assert period.start == paris_midnight("2020-12-21")
    # an end before the computed start still gives a valid one-day period
    early = pd.Timestamp("2020-06-01", tz="UTC")
    period = incremental_period(sampled, SampleSource(), SAMPLE_DATASET, params, early)
    assert (period.start, period.end) == (early - pd.Timedelta(days=1), early)
    # the stored end is the last *measured* row: trailing missing rows don't move it
    ts = pd.date_range("2021-01-05", periods=4, freq="30min", tz="UTC")
    nan_rows = canonical(
        ts, [np.nan] * 4, variable="consumption_mw", area="FR", vintage=3, source="test"
    )
    sampled.write("load_national", nan_rows)
    period = incremental_period(sampled, SampleSource(), SAMPLE_DATASET, params, end)
    assert period.start == paris_midnight("2020-09-28")


def test_incremental_period_on_empty_store_starts_at_default(store: Store) -> None:
    end = pd.Timestamp("2019-03-01", tz="UTC")
    period = incremental_period(store, SampleSource(), SAMPLE_DATASET, store.params, end)
    assert period.start == paris_midnight(store.params.ingest.default_start)
    assert period.end == end


def test_incremental_ingest_uses_the_period(sampled: Store) -> None:
    report = ingest_dataset("sample", SAMPLE_DATASET, store=sampled)
    assert report.ok
    assert pd.Timestamp(report.start) == paris_midnight("2020-09-28")
    # rows from 2020-09-28 00:00 Paris to the end of the sample, three variables
    expected = pd.date_range(
        paris_midnight("2020-09-28"), pd.Timestamp("2020-12-31T22:30", tz="UTC"), freq="30min"
    )
    sample_rows = sampled.read("load_national", paris_midnight("2020-09-28"))
    assert report.rows == int((sample_rows["source"] == "sample").sum())
    assert len(sample_rows) == 3 * len(expected)


# ------------------------------------------------------------------------------ failures
@pytest.mark.parametrize(
    ("endpoint", "start", "end"),
    [("records", "2020-06-01", "2020-06-02"), ("exports/json", "2020-06-01", "2020-06-20")],
)
def test_malformed_odre_payload_fails_that_dataset_and_keeps_the_store(
    odre_env: Settings,
    httpserver: HTTPServer,
    sampled: Store,
    endpoint: str,
    start: str,
    end: str,
) -> None:
    dataset = "eco2mix-national-cons-def"
    path = f"{API}/catalog/datasets/{dataset}/{endpoint}"
    httpserver.expect_request(path).respond_with_data(
        '[{"perimetre": "France", "date_heure": "2020-06-01T00:00:00+00:00", "consommation": 4',
        content_type="application/json; charset=utf-8",
    )
    before = snapshot(sampled)
    hash_before = sampled.manifest()["datasets"]["load_national"]["content_hash"]

    report = ingest_dataset("odre", dataset, start=start, end=end, store=sampled)

    assert not report.ok
    assert report.writes == []
    assert report.error is not None
    assert dataset in report.error
    assert httpserver.url_for(path) in report.error
    assert "malformed" in report.error
    assert report.summary().startswith(f"odre/{dataset} FAILED")
    assert len(httpserver.log) == 1  # a bad body is not retried
    assert snapshot(sampled) == before  # byte-identical partitions and manifest
    assert sampled.manifest()["datasets"]["load_national"]["content_hash"] == hash_before
    # the body was kept in the raw layer as received, for the post-mortem
    [raw] = (sampled.raw_dir / "odre" / dataset).glob("*.json")
    assert raw.read_bytes().startswith(b'[{"perimetre"')


# ------------------------------------------------------------------------------ portal files
NATIONAL_CSV = (
    "\ufeffPérimètre;Nature;Date;Heure;Date - Heure;Consommation (MW);Prévision J-1 (MW);"
    "Prévision J (MW);Fioul (MW);Gaz (MW)\n"
    "France;Données définitives;2021-11-08;00:00;2021-11-08T00:00:00+01:00;51230;51500;51400;"
    "80;3100\n"
    "France;Données définitives;2021-11-08;00:15;2021-11-08T00:15:00+01:00;;51320;51210;;\n"
    "France;Données définitives;2021-11-08;00:30;2021-11-08T00:30:00+01:00;50870;51100;51020;"
    "81;3050\n"
    "France;Données définitives;2021-11-08;01:00;2021-11-08T01:00:00+01:00;49640;49900;49800;"
    "79;2990\n"
    "France;Données consolidées;2021-11-08;01:30;2021-11-08T01:30:00+01:00;ND;49300;49250;"
    "ND;ND\n"
    "France;Données consolidées;2021-11-08;02:00;2021-11-08T02:00:00+01:00;47955;48200;48110;"
    "78;2900\n"
)


def test_ingest_file_portal_csv_with_french_labels(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "eco2mix-national-cons-def.csv"
    path.write_bytes(NATIONAL_CSV.encode("utf-8"))
    report = ingest_file("odre", "eco2mix-national-cons-def", path, store=store)
    assert report.ok, report.error
    [write] = report.writes
    assert write.dataset == "load_national"
    assert write.changed

    cons = store.series("load_national", "consumption_mw")
    t = pd.Timestamp("2021-11-07T23:00", tz="UTC")  # 00:00 Paris (CET)
    half = pd.Timedelta("30min")
    assert cons[t] == 51230.0
    assert cons[t + half] == 50870.0
    assert cons[t + 2 * half] == 49640.0
    assert cons[t + 4 * half] == 47955.0
    assert cons[t + 3 * half] == pytest.approx((49640.0 + 47955.0) / 2)  # "ND": interpolated
    rows = store.read("load_national", variables=["consumption_mw"]).set_index("timestamp")
    assert rows.index[3] == t + 3 * half
    assert rows["flags"].to_numpy()[3] & int(Flag.INTERPOLATED)
    assert rows.loc[t, "vintage"] == int(Vintage.DEFINITIVE)
    assert rows.loc[t + 4 * half, "vintage"] == int(Vintage.CONSOLIDATED)
    assert set(store.read("load_national")["variable"]) == {
        "consumption_mw",
        "forecast_d1_mw",
        "forecast_d_mw",
    }
    assert store.series("load_national", "forecast_d1_mw")[t + 3 * half] == 49300.0
    # the file itself is kept in the raw layer, byte for byte
    [raw] = (store.raw_dir / "odre" / "eco2mix-national-cons-def").iterdir()
    assert raw.suffix == ".csv"
    assert raw.read_bytes() == path.read_bytes()
    # importing the same file again changes nothing
    again = ingest_file("odre", "eco2mix-national-cons-def", path, store=store)
    assert not again.writes[0].changed
    assert again.writes[0].content_hash == write.content_hash


def test_ingest_file_unknown_columns_writes_nothing(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "mystery.csv"
    path.write_bytes("\ufeffHorodatage;Puissance (kW);Commentaire\n2021-01-01;12;x\n".encode())
    report = ingest_file("odre", "eco2mix-national-cons-def", path, store=store)
    assert not report.ok
    assert report.error is not None
    assert str(path) in report.error
    assert "eco2mix-national-cons-def" in report.error
    assert "date_heure" in report.error  # says which field is missing
    assert "Horodatage" in report.error  # and what was found instead
    assert report.writes == []
    assert not store.interim_dir.exists()
    assert not store.manifest_path.exists()
    assert not store.raw_dir.exists() or not any(store.raw_dir.rglob("*.*"))


def test_ingest_file_missing_file_and_unsupported_source(store: Store, tmp_path: Path) -> None:
    report = ingest_file("odre", "eco2mix-national-cons-def", tmp_path / "absent.csv", store=store)
    assert not report.ok
    assert "no such file" in (report.error or "")
    with pytest.raises(ValueError, match="--source odre"):
        ingest_file("sample", SAMPLE_DATASET, tmp_path / "absent.csv", store=store)


# ------------------------------------------------------------------------------ datasets_for
def test_datasets_for_defaults_and_bad_dataset(settings: Settings) -> None:
    assert datasets_for("sample", None) == [SAMPLE_DATASET]
    assert datasets_for("odre", "eco2mix-national-tr") == ["eco2mix-national-tr"]
    assert "eco2mix-national-cons-def" in datasets_for("odre", None)
    with pytest.raises(ValueError, match="eco2mix-national-2019-2020") as info:
        datasets_for("sample", "nope")
    assert "'nope'" in str(info.value)
    with pytest.raises(ValueError, match="temperature-quotidienne-regionale"):
        datasets_for("odre", "eco2mix-national")
    with pytest.raises(ValueError, match="unknown source 'nope'"):
        datasets_for("nope", None)


@pytest.mark.parametrize("cut", [300, 420])
def test_truncated_csv_is_refused_and_the_store_unchanged(
    store: Store, tmp_path: Path, cut: int
) -> None:
    """``head -c N`` of a valid export: the last row is cut, so nothing is imported."""
    ok = ingest_file("odre", "eco2mix-national-cons-def", _csv(tmp_path, NATIONAL_CSV), store=store)
    assert ok.ok, ok.error
    before = store.manifest()
    data = NATIONAL_CSV.replace("2021-11-08", "2021-11-09").encode("utf-8")[:cut]
    path = tmp_path / "cut.csv"
    path.write_bytes(data)
    report = ingest_file("odre", "eco2mix-national-cons-def", path, store=store)
    assert not report.ok
    assert "truncated" in (report.error or "")
    assert store.manifest() == before


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_truncated_json_is_refused(store: Store, tmp_path: Path, suffix: str) -> None:
    rows = [
        {"date_heure": f"2021-11-08T0{h}:00:00+01:00", "consommation": 50000 + h} for h in range(4)
    ]
    text = json.dumps(rows) if suffix == ".json" else "\n".join(json.dumps(r) for r in rows) + "\n"
    path = tmp_path / f"cut{suffix}"
    path.write_text(text[: len(text) - 20])
    report = ingest_file("odre", "eco2mix-national-cons-def", path, store=store)
    assert not report.ok
    assert "truncated" in (report.error or "")
    assert not store.partitions("load_national")


def test_impossible_and_unreadable_loads_are_counted_in_the_report(
    store: Store, tmp_path: Path
) -> None:
    """-5, 1e12 and inf MW: inf refuses the file; without it -5 and 1e12 are flagged and
    counted; "abc" is counted as unreadable rather than vanishing silently."""
    header, *rows = NATIONAL_CSV.splitlines(keepends=True)
    bad = [rows[0].replace(";51230;", ";-5;"), rows[2].replace(";50870;", ";1e12;"), *rows[3:]]
    with_inf = [rows[0].replace(";51230;", ";inf;"), *rows[1:]]
    refused = ingest_file(
        "odre", "eco2mix-national-cons-def", _csv(tmp_path, header + "".join(with_inf)), store=store
    )
    assert not refused.ok
    assert "non-finite" in (refused.error or "")
    assert not store.partitions("load_national")
    abc = [r.replace(";49640;", ";abc;") for r in bad]
    report = ingest_file(
        "odre", "eco2mix-national-cons-def", _csv(tmp_path, header + "".join(abc)), store=store
    )
    assert report.ok, report.error
    assert report.implausible == 2
    assert report.unreadable == 1
    assert "2 implausible values flagged" in report.summary()
    assert "1 unreadable values skipped" in report.summary()
    cons = store.read("load_national", variables=["consumption_mw"])
    assert cons["value"].dropna().between(15_000, 130_000).all()
    assert ((cons["flags"] & int(Flag.IMPLAUSIBLE)) != 0).sum() == 2


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / f"export-{abs(hash(text))}.csv"
    path.write_bytes(text.encode("utf-8"))
    return path
