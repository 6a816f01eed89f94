"""ODRÉ query windows: the /records offset cap halves windows, exports go by Paris month,
daily data by local day."""

from __future__ import annotations

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import Period
from edip_pipeline.sources.odre.datasets import ODRE_DATASETS
from edip_pipeline.sources.odre.paging import chunks, split_window, where, window
from edip_pipeline.sources.odre.source import OdreSource
from edip_pipeline.store import Store

from .conftest import FakeOdre, load, series, tr_record, utc


def test_offset_cap_splits_the_window(
    source: OdreSource, httpserver: HTTPServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 120 days at 15 min = 11 520 rows > 10 000: /records can't page through it in one window
    stamps = pd.date_range(
        "2024-01-01T00:00", "2024-04-30T00:00", freq="15min", tz="UTC", inclusive="left"
    )
    fake = FakeOdre(
        httpserver,
        "eco2mix-national-tr",
        [tr_record(t, 40_000 + (i % 997)) for i, t in enumerate(stamps)],
    )
    # force the records path for a 120-day period
    monkeypatch.setattr(OdreSource, "RECORDS_MAX_PERIOD", pd.Timedelta(days=150))
    [batch] = source.fetch(
        "eco2mix-national-tr", Period(stamps[0], stamps[-1] + pd.Timedelta("15min")), store
    )
    offsets = [int(r["offset"]) + int(r["limit"]) for r in fake.requests]
    assert max(offsets) <= 10_000
    wheres = {r["where"] for r in fake.requests}
    assert len(wheres) >= 3  # the full window, then its halves
    cons = series(batch.frame, "consumption_mw")
    assert len(cons) == len(stamps) // 2
    assert cons.index.is_unique
    assert cons.index.is_monotonic_increasing
    assert (cons.index.to_series().diff().dropna() == pd.Timedelta("30min")).all()


# ------------------------------------------------------------------------------ exports path
def test_exports_monthly_chunks_with_where_clause(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    fake = FakeOdre(
        httpserver, "eco2mix-national-cons-def", load("eco2mix-national-cons-def_export.json")
    )
    period = Period.parse("2023-03-01", "2023-05-01")
    [batch] = source.fetch("eco2mix-national-cons-def", period, store)
    assert fake.paths() == ["export", "export"]
    assert [r["where"] for r in fake.requests] == [
        "date_heure >= '2023-02-28T23:00:00+00:00' and date_heure < '2023-03-31T22:00:00+00:00'",
        "date_heure >= '2023-03-31T22:00:00+00:00' and date_heure < '2023-04-30T22:00:00+00:00'",
    ]
    for req in fake.requests:
        assert req["order_by"] == "date_heure"
        assert req["timezone"] == "UTC"
        assert "limit" not in req
        assert "offset" not in req
    frame = batch.frame
    cons = series(frame, "consumption_mw")
    # phantom 02:00/02:30 rows (same instants as 03:00/03:30) dropped; real values kept
    assert cons.to_dict() == {
        utc("2023-03-26T00:30"): 47310.0,
        utc("2023-03-26T01:00"): 46820.0,
        utc("2023-03-26T01:30"): 46405.0,
    }
    vint = frame[frame["variable"] == "consumption_mw"].set_index("timestamp")["vintage"]
    assert vint[utc("2023-03-26T01:00")] == int(Vintage.DEFINITIVE)
    assert vint[utc("2023-03-26T01:30")] == int(Vintage.CONSOLIDATED)
    assert len(series(frame, "forecast_d1_mw")) == 3  # :45 forecasts not emitted
    assert len(list((store.raw_dir / "odre" / "eco2mix-national-cons-def").glob("*.json"))) == 2


def test_temperature_records_for_a_short_period(
    source: OdreSource, httpserver: HTTPServer, store: Store
) -> None:
    fake = FakeOdre(
        httpserver,
        "temperature-quotidienne-regionale",
        load("temperature-quotidienne-regionale_export.json"),
        time_field="date",
    )
    [batch] = source.fetch(
        "temperature-quotidienne-regionale", Period.parse("2024-01-15", "2024-01-16"), store
    )
    assert fake.requests[0]["where"] == "date >= date'2024-01-15' and date < date'2024-01-16'"
    assert fake.requests[0]["offset"] == "0"
    assert len(batch.frame) == 3 * 4  # 3 regions + FR, 3 variables


def test_chunks_cut_at_paris_months_and_years() -> None:
    national = ODRE_DATASETS["eco2mix-national-cons-def"]
    lo, hi = utc("2023-02-14T23:00"), utc("2023-04-30T22:00")
    assert chunks(national, lo, hi) == [
        (lo, utc("2023-02-28T23:00")),
        (utc("2023-02-28T23:00"), utc("2023-03-31T22:00")),
        (utc("2023-03-31T22:00"), hi),
    ]
    temperature = ODRE_DATASETS["temperature-quotidienne-regionale"]
    lo, hi = utc("2022-06-30T22:00"), utc("2024-01-31T23:00")
    assert [b for _, b in chunks(temperature, lo, hi)] == [
        utc("2022-12-31T23:00"),
        utc("2023-12-31T23:00"),
        hi,
    ]


def test_window_where_and_split_of_daily_data() -> None:
    temperature = ODRE_DATASETS["temperature-quotidienne-regionale"]
    lo, hi = window(temperature, Period(utc("2024-01-15T12:00"), utc("2024-01-18T12:00")))
    assert (lo, hi) == (utc("2024-01-15T23:00"), utc("2024-01-18T23:00"))
    assert where(temperature, lo, hi) == "date >= date'2024-01-16' and date < date'2024-01-19'"
    assert split_window(temperature, lo, hi) == (lo, utc("2024-01-16T23:00"))
    assert split_window(temperature, lo, utc("2024-01-16T23:00")) is None  # one day: unsplittable
    national = ODRE_DATASETS["eco2mix-national-tr"]
    assert split_window(national, utc("2024-01-15T00:00"), utc("2024-01-15T00:01")) is None
