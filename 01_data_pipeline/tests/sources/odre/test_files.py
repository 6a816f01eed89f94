"""ODRÉ portal exports read by hand (``--from-file``): CSV with labels or ids, JSON, JSONL,
parquet, gzip; wrong columns; the full development files."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from edip_pipeline.http import SourceError
from edip_pipeline.schema import KEY, Flag, Vintage, validate
from edip_pipeline.sources.odre.datasets import REGION_POPULATION, OdreFormatError
from edip_pipeline.sources.odre.files import parse_file
from edip_pipeline.store import Store

from ...conftest import shared_file
from .conftest import FIX, PARIS, load, series, utc


# ------------------------------------------------------------------------------ parse_file
def test_cqb_csv_labels_spring_duplicates(store: Store) -> None:
    """The real export repeats the UTC stamps 01:00/01:30 on spring days (rows labelled 02:00/02:30
    that never happened). The label check drops them; every instant appears once."""
    [batch] = parse_file(
        "consommation-quotidienne-brute", FIX / "consommation-quotidienne-brute_labels.csv"
    )
    frame = batch.frame
    validate(frame)
    assert batch.dataset == "load_national"
    cons = series(frame, "consumption_mw")
    expected = pd.date_range("2024-03-30T22:00", "2024-03-31T03:00", freq="30min", tz="UTC")
    assert cons.index.equals(expected.astype("datetime64[ns, UTC]"))
    assert cons[utc("2024-03-31T01:00")] == 48650.0  # 03:00 CEST
    assert cons[utc("2024-03-31T01:30")] == 48120.0  # 03:30 CEST, not the phantom 02:30 copy
    vint = frame.set_index("timestamp")["vintage"]
    assert vint[utc("2024-03-30T22:00")] == int(Vintage.DEFINITIVE)
    assert vint[utc("2024-03-31T01:00")] == int(Vintage.CONSOLIDATED)
    assert (frame["source"] == "odre:consommation-quotidienne-brute").all()
    store.write(batch.dataset, frame)
    back = store.read("load_national")
    assert len(back) == 11
    assert back["timestamp"].is_unique
    assert (back["flags"] == 0).all()


def test_cqb_csv_ids_autumn_then_store_fills_the_hole(store: Store) -> None:
    """Autumn: 02:00 appears once (second, CET pass); 00:00/00:30 UTC are absent in the export and
    the store interpolates them (flagged)."""
    [batch] = parse_file(
        "consommation-quotidienne-brute", FIX / "consommation-quotidienne-brute_ids.csv"
    )
    cons = series(batch.frame, "consumption_mw")
    assert list(cons.index) == [
        utc(t)
        for t in (
            "2024-10-26T22:00",
            "2024-10-26T23:00",
            "2024-10-26T23:30",
            "2024-10-27T01:00",
            "2024-10-27T01:30",
            "2024-10-27T02:00",
            "2024-10-27T02:30",
            "2024-10-27T03:00",
        )
    ]  # 22:30 was "ND"
    assert cons[utc("2024-10-27T01:00")] == 43120.0
    store.write(batch.dataset, batch.frame)
    back = store.read("load_national").set_index("timestamp")
    assert len(back) == 11
    interp = back[(back["flags"] & int(Flag.INTERPOLATED)) != 0]
    assert list(interp.index) == [
        utc("2024-10-26T22:30"),
        utc("2024-10-27T00:00"),
        utc("2024-10-27T00:30"),
    ]
    assert back.loc[utc("2024-10-27T00:00"), "value"] == pytest.approx(44580 - 1460 / 3)


def test_temperature_csv_labels(tmp_path: Path) -> None:
    [batch] = parse_file(
        "temperature-quotidienne-regionale", FIX / "temperature-quotidienne-regionale_labels.csv"
    )
    frame = batch.frame
    day = utc("2024-02-28T23:00")  # 29/02/24 Paris
    assert series(frame, "tmean_c", "53")[day] == 8.4
    assert series(frame, "tmin_c", "93").to_dict() == {day: 7.1}  # "ND" on 01/03
    w53, w93 = REGION_POPULATION["53"], REGION_POPULATION["93"]
    assert series(frame, "tmin_c")[utc("2024-02-29T23:00")] == 4.9  # only Bretagne that day
    assert series(frame, "tmax_c")[day] == pytest.approx((w53 * 11.25 + w93 * 15.3) / (w53 + w93))


def test_parse_file_json_jsonl_parquet_agree(tmp_path: Path) -> None:
    src = FIX / "eco2mix-regional-cons-def_export.json"
    [from_json] = parse_file("eco2mix-regional-cons-def", src)
    rows = load(src.name)
    jsonl = tmp_path / "export.jsonl"
    jsonl.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    [from_jsonl] = parse_file("eco2mix-regional-cons-def", jsonl)
    # parquet as the portal writes it: typed columns (instant, integer region code)
    table = pd.DataFrame(rows)
    table["date_heure"] = pd.to_datetime(table["date_heure"], utc=True)
    table["code_insee_region"] = table["code_insee_region"].astype(int)
    table = table.astype({c: str for c in table.columns if table[c].dtype == object})
    parquet = tmp_path / "export.parquet"
    table.to_parquet(parquet)
    [from_parquet] = parse_file("eco2mix-regional-cons-def", parquet)
    for batch in (from_jsonl, from_parquet):
        pd.testing.assert_frame_equal(batch.frame, from_json.frame)
    frame = from_json.frame
    assert set(frame["area"]) == {"11", "53"}
    vint = frame.set_index(["area", "timestamp"])["vintage"]
    assert vint[("53", utc("2023-11-04T23:30"))] == int(Vintage.DEFINITIVE)
    assert vint[("11", utc("2023-11-04T23:30"))] == int(Vintage.CONSOLIDATED)
    assert series(frame, "consumption_mw", "11").tolist() == [8410.0, 8265.0]
    assert len(frame) == 4  # Bretagne 01:00 is "ND"


def test_parse_file_csv_with_field_ids_and_gzip(tmp_path: Path) -> None:
    import gzip

    rows = load("eco2mix-national-cons-def_export.json")
    csv = pd.DataFrame(rows).to_csv(sep=";", index=False)
    path = tmp_path / "eco2mix-national-cons-def.csv.gz"
    with gzip.open(path, "wt", encoding="utf-8-sig") as fh:
        fh.write(csv)
    [from_csv] = parse_file("eco2mix-national-cons-def", path)
    [from_json] = parse_file(
        "eco2mix-national-cons-def", FIX / "eco2mix-national-cons-def_export.json"
    )
    pd.testing.assert_frame_equal(from_csv.frame, from_json.frame)


def test_parse_file_national_csv_with_labels(tmp_path: Path) -> None:
    path = tmp_path / "eco2mix.csv"
    path.write_text(
        "\ufeffPérimètre;Nature;Date;Heure;Date - Heure;Consommation (MW);Prévision J-1 (MW);"
        "Prévision J (MW);Fioul (MW)\n"
        "France;Données définitives;2022-06-01;10:00;2022-06-01T08:00:00+00:00;45120;45300;"
        "45210;120\n"
        "France;Données définitives;2022-06-01;10:15;2022-06-01T08:15:00+00:00;;45350;45250;\n"
        "France;Données consolidées;2022-06-01;10:30;2022-06-01T08:30:00+00:00;ND;45400;45300;"
        "121\n",
        encoding="utf-8",
    )
    [batch] = parse_file("eco2mix-national-cons-def", path)
    frame = batch.frame
    assert series(frame, "consumption_mw").to_dict() == {utc("2022-06-01T08:00"): 45120.0}
    assert series(frame, "forecast_d1_mw").to_dict() == {
        utc("2022-06-01T08:00"): 45300.0,
        utc("2022-06-01T08:30"): 45400.0,
    }


def test_parse_file_unknown_columns(tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("\ufefffoo;bar\n1;2\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"wrong\.csv") as info:
        parse_file("consommation-quotidienne-brute", path)
    assert isinstance(info.value, SourceError)
    assert "date_heure" in str(info.value)
    assert "consommation_brute_electricite_rte" in str(info.value)
    # a CQB file announced as the temperature dataset: clear error too
    with pytest.raises(OdreFormatError, match="code_insee_region"):
        parse_file(
            "temperature-quotidienne-regionale", FIX / "consommation-quotidienne-brute_ids.csv"
        )
    bad = tmp_path / "bad.json"
    bad.write_text('[{"date_heure": ', encoding="utf-8")
    with pytest.raises(OdreFormatError, match=r"bad\.json"):
        parse_file("eco2mix-national-tr", bad)
    with pytest.raises(ValueError, match="unknown ODRE dataset"):
        parse_file("nope", bad)


# ------------------------------------------------------------------------------ dev data
@pytest.mark.dev_data
def test_dev_cqb_full_file(store: Store) -> None:
    path = shared_file("odre/consommation-quotidienne-brute_2012-2020.csv.gz")
    t0 = time.perf_counter()
    [batch] = parse_file("consommation-quotidienne-brute", path)
    elapsed = time.perf_counter() - t0
    assert elapsed < 5.0, f"parse took {elapsed:.1f}s"
    frame = batch.frame
    validate(frame)
    assert not frame.duplicated(KEY).any()
    assert set(frame["variable"]) == {"consumption_mw"}
    assert frame["value"].between(25_000, 105_000).all()
    local_year = frame["timestamp"].dt.tz_convert(PARIS).dt.year
    counts = frame.groupby(local_year).size()
    for year in range(2012, 2021):
        assert abs(counts[year] - 17_520) <= 60, (year, counts[year])
    # after the store fills the autumn holes, every local year is complete
    store.write(batch.dataset, frame)
    back = store.read("load_national")
    utc_year = back.groupby(back["timestamp"].dt.year).size()
    for year in (2013, 2014, 2015, 2017, 2018, 2019):
        assert utc_year[year] == 17_520
    assert utc_year[2016] == 17_568


@pytest.mark.dev_data
def test_dev_temperature_full_file() -> None:
    path = shared_file("odre/temperature-quotidienne-regionale_2016-2020.csv.gz")
    [batch] = parse_file("temperature-quotidienne-regionale", path)
    frame = batch.frame
    validate(frame)
    assert not frame.duplicated(KEY).any()
    assert set(frame["area"]) == {*REGION_POPULATION, "FR"}
    fr = frame[frame["area"] == "FR"].pivot(index="timestamp", columns="variable", values="value")
    assert len(fr) >= 1800
    assert fr["tmean_c"].between(-10, 35).all()
    assert (fr["tmin_c"] <= fr["tmean_c"]).all()
    assert (fr["tmean_c"] <= fr["tmax_c"]).all()
    # the national mean lies within the regional range each day
    reg = frame[(frame["area"] != "FR") & (frame["variable"] == "tmean_c")]
    lo, hi = reg.groupby("timestamp")["value"].min(), reg.groupby("timestamp")["value"].max()
    assert ((fr["tmean_c"] >= lo - 1e-9) & (fr["tmean_c"] <= hi + 1e-9)).all()
    local = pd.DatetimeIndex(fr.index).tz_convert(PARIS)
    assert (local.hour == 0).all()
