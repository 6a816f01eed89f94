"""ODRÉ records → canonical rows: clock-change phantoms, vintages, duplicates, the
population-weighted national temperature."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.schema import KEY, Vintage, validate
from edip_pipeline.sources.base import Period
from edip_pipeline.sources.odre.datasets import REGION_POPULATION
from edip_pipeline.sources.odre.records import parse_records
from edip_pipeline.sources.odre.source import OdreSource
from edip_pipeline.store import Store

from .conftest import PARIS, FakeOdre, load, series, tr_record, utc


# ------------------------------------------------------------------------------ clock changes
def test_spring_clock_change_phantoms_dropped(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    """RTE writes 96 quarter-hours on the 23-h day: labels 02:00–02:45 never happened and carry the
    date_heure of 03:00–03:45. They are dropped; 46 real half-hours remain."""
    records: list[dict[str, Any]] = []
    for i, label in enumerate(pd.date_range("2024-03-31", periods=96, freq="15min")):
        if label.hour == 2:  # phantom: same instant as 03:xx, a stale made-up value
            ts = (label + pd.Timedelta(hours=1)).tz_localize(PARIS)
            records.append(tr_record(ts, 99_999, label=label))
        else:
            records.append(
                tr_record(label.tz_localize(PARIS), 50_000 + i, label=label, forecast=51_000 + i)
            )
    FakeOdre(httpserver, "eco2mix-national-tr", records)
    period = Period.parse("2024-03-31", "2024-04-01")
    assert period.start == utc("2024-03-30T23:00")
    assert period.end == utc("2024-03-31T22:00")
    [batch] = source.fetch("eco2mix-national-tr", period, store)
    cons = series(batch.frame, "consumption_mw")
    expected = pd.date_range("2024-03-30T23:00", "2024-03-31T21:30", freq="30min", tz="UTC")
    assert len(cons) == 46
    assert cons.index.equals(expected.astype("datetime64[ns, UTC]"))
    assert 99_999 not in cons.to_numpy()
    # 03:00 Paris summer time = 01:00 UTC, and it holds the real 03:00 row (label index 12)
    assert cons[utc("2024-03-31T01:00")] == 50_000 + 12
    assert cons[utc("2024-03-31T00:30")] == 50_000 + 6  # 01:30 CET
    assert len(series(batch.frame, "forecast_d1_mw")) == 46
    assert any("phantom" in n for n in batch.notes)


def test_autumn_clock_change_fifty_half_hours(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    """The 25-h day: 02:00–02:59 happens twice (CEST then CET); date_heure tells them apart."""
    stamps = pd.date_range(
        "2024-10-26T22:00", "2024-10-27T23:00", freq="15min", tz="UTC", inclusive="left"
    )
    assert len(stamps) == 100
    FakeOdre(
        httpserver, "eco2mix-national-tr", [tr_record(t, 45_000 + i) for i, t in enumerate(stamps)]
    )
    labels = [r for r in (tr_record(t, 0) for t in stamps) if r["heure"] == "02:00"]
    assert [r["date_heure"] for r in labels] == [
        "2024-10-27T00:00:00+00:00",
        "2024-10-27T01:00:00+00:00",
    ]
    [batch] = source.fetch("eco2mix-national-tr", Period.parse("2024-10-27", "2024-10-28"), store)
    cons = series(batch.frame, "consumption_mw")
    assert len(cons) == 50
    assert cons.index[0] == utc("2024-10-26T22:00")
    assert cons.index[-1] == utc("2024-10-27T22:30")
    assert cons[utc("2024-10-27T00:00")] == 45_000 + 8  # first 02:00 (CEST)
    assert cons[utc("2024-10-27T01:00")] == 45_000 + 12  # second 02:00 (CET)
    local_day = pd.DatetimeIndex(cons.index).tz_convert(PARIS).normalize()
    assert (local_day == pd.Timestamp("2024-10-27", tz=PARIS)).all()


def test_temperature_export_and_weighted_national_mean(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    fake = FakeOdre(
        httpserver,
        "temperature-quotidienne-regionale",
        load("temperature-quotidienne-regionale_export.json"),
        time_field="date",
    )
    [batch] = source.fetch(
        "temperature-quotidienne-regionale", Period.parse("2024-01-01", "2024-08-01"), store
    )
    assert [r["where"] for r in fake.requests] == [
        "date >= date'2024-01-01' and date < date'2024-08-01'"
    ]
    assert fake.requests[0]["order_by"] == "date"
    frame = batch.frame
    assert batch.dataset == "temperature_daily"
    validate(frame)
    assert (frame["vintage"] == int(Vintage.DEFINITIVE)).all()
    jan, jul = utc("2024-01-14T23:00"), utc("2024-06-30T22:00")  # Paris midnights
    assert series(frame, "tmax_c", "84").to_dict() == {jan: 7.5, jul: 27.0}
    assert set(frame["area"]) == {"11", "84", "94", "FR"}
    # by hand: INSEE 2021 populations 12 317 279 (11), 8 114 361 (84), 347 597 (94)
    w11, w84, w94 = 12_317_279, 8_114_361, 347_597
    assert (w11, w84, w94) == (
        REGION_POPULATION["11"],
        REGION_POPULATION["84"],
        REGION_POPULATION["94"],
    )
    fr_mean = series(frame, "tmean_c")
    assert fr_mean[jan] == pytest.approx((w11 * 4.0 + w84 * 2.5 + w94 * 10.0) / (w11 + w84 + w94))
    assert fr_mean[jan] == pytest.approx(3.5146, abs=1e-4)
    # July: Corse absent, the weights are renormalised over the two regions present
    assert fr_mean[jul] == pytest.approx((w11 * 19.5 + w84 * 20.0) / (w11 + w84))
    assert series(frame, "tmin_c")[jan] == pytest.approx(
        (w11 * 1.2 + w84 * -2.4 + w94 * 6.1) / (w11 + w84 + w94)
    )
    store.write(batch.dataset, frame)
    back = store.read(
        "temperature_daily",
        "2024-01-14T23:00",
        "2024-01-15T00:00",
        areas=["FR"],
        variables=["tmean_c"],
    )
    assert back["value"].tolist() == pytest.approx([fr_mean[jan]])


def test_parse_records_direct_and_no_duplicates() -> None:
    recs = load("eco2mix-national-tr_records.json")["results"]
    [batch] = parse_records("eco2mix-national-tr", recs + recs, origin="memory")
    assert not batch.frame.duplicated(KEY).any()
    assert len(batch.frame) == 10
    [empty] = parse_records("eco2mix-national-tr", [], origin="memory")
    assert empty.frame.empty


def test_only_impossible_labels_count_as_phantoms() -> None:
    """Labels that disagree with date_heure but name a real wall-clock time (e.g. written in UTC)
    are kept: date_heure is the time key; only spring's non-existent 02:xx marks a phantom."""
    stamps = pd.date_range("2024-03-31T00:00", periods=8, freq="30min", tz="UTC")
    recs = [
        tr_record(t, 50_000 + i, label=t.tz_convert("UTC").tz_localize(None))
        for i, t in enumerate(stamps)
    ]
    [batch] = parse_records("eco2mix-national-tr", recs, origin="memory")
    cons = series(batch.frame, "consumption_mw")
    # UTC labels 02:00 and 02:30 on the spring day never existed in Paris: those two are dropped
    assert list(cons.index) == [t for t in stamps if t.hour != 2]
