"""LogStore reads and writes on SQLite and PostgreSQL: idempotency, upserts, paging, filters."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edip_api.db import ActualRecord, LogStore, PredictionRecord

from ..pg import free_port
from .conftest import ORIGIN, forecast_records

WINDOW = (ORIGIN - timedelta(days=1), ORIGIN + timedelta(days=3))


def test_same_request_twice_is_one_set_of_rows(store: LogStore) -> None:
    records = forecast_records("req-1")
    assert store.write_predictions(records) == 24
    assert store.write_predictions(records) == 0
    # a retry mixing logged and new points only adds the new ones
    assert store.write_predictions(records[:5] + forecast_records("req-2")[:3]) == 3
    assert store.count_predictions() == 27
    assert store.count_predictions("req-1") == 24
    assert store.count_predictions("req-2") == 3
    assert store.count_predictions("missing") == 0
    assert store.request_ids() == {"req-1", "req-2"}


def test_records_round_trip_as_aware_utc(store: LogStore) -> None:
    paris = ZoneInfo("Europe/Paris")
    origin = datetime(2020, 7, 1, 14, tzinfo=paris)  # 12:00 UTC
    record = PredictionRecord(
        request_id="r",
        model_name="fallback",
        model_version="",
        origin=origin,
        target_time=origin + timedelta(hours=13),
        horizon_h=13.0,
        p10=None,
        p50=41_234.5,
        p90=None,
        latency_ms=3.25,
        created_at=origin,
        endpoint="forecast",
    )
    store.write_predictions([record])
    items, total = store.list_predictions(
        datetime(2020, 7, 2, 1, tzinfo=UTC), datetime(2020, 7, 2, 2, tzinfo=UTC)
    )
    assert total == 1
    (got,) = items
    assert got == record
    assert got.origin.tzinfo is UTC
    assert got.origin == datetime(2020, 7, 1, 12, tzinfo=UTC)
    assert got.target_time.utcoffset() == timedelta(0)
    assert (got.p10, got.p90, got.model_version) == (None, None, "")
    # a window given in Paris time selects the same instant
    items, _ = store.list_predictions(
        datetime(2020, 7, 2, 3, tzinfo=paris), datetime(2020, 7, 2, 4, tzinfo=paris)
    )
    assert items == [record]


def test_paging_and_totals(store: LogStore) -> None:
    for i, origin in enumerate([ORIGIN, ORIGIN + timedelta(hours=1), ORIGIN]):
        store.write_predictions(forecast_records(f"req-{i}", origin=origin))
    expected_total = 72
    seen: list[PredictionRecord] = []
    offset = 0
    while True:
        page, total = store.list_predictions(*WINDOW, limit=10, offset=offset)
        assert total == expected_total
        if not page:
            break
        assert len(page) <= 10
        seen.extend(page)
        offset += len(page)
    assert len(seen) == expected_total
    keys = [(r.target_time, r.origin, r.request_id) for r in seen]
    assert keys == sorted(keys)
    assert len(set(keys)) == expected_total
    page, total = store.list_predictions(*WINDOW, limit=10, offset=500)
    assert (page, total) == ([], expected_total)
    # the window is [start, end): targets are ORIGIN+1h … ORIGIN+25h
    first = ORIGIN + timedelta(hours=1)
    assert store.list_predictions(first, first)[1] == 0
    assert store.list_predictions(first, first + timedelta(hours=1))[1] == 2
    assert store.list_predictions(*WINDOW, limit=0)[0] == []


def test_model_filter(store: LogStore) -> None:
    store.write_predictions(forecast_records("a", model=("lightgbm", "1")))
    store.write_predictions(forecast_records("b", model=("lightgbm", "2"), horizon=3))
    store.write_predictions(forecast_records("c", model=("same_hour_last_week", ""), horizon=2))
    store.write_predictions(forecast_records("d", model=("xgboost", "1"), horizon=1))

    def total(model: str | None) -> int:
        return store.list_predictions(*WINDOW, model=model)[1]

    assert total(None) == 30
    assert total("lightgbm") == 27
    assert total("lightgbm:1") == 24
    assert total("lightgbm:2") == 3
    assert total("lightgbm:9") == 0
    assert total("same_hour_last_week") == 2
    assert total("same_hour_last_week:") == 2  # "name:" = the unversioned ones
    assert total("lightgbm:") == 0
    assert total("unknown") == 0
    items, _ = store.list_predictions(*WINDOW, model="lightgbm:2")
    assert {(r.model_name, r.model_version) for r in items} == {("lightgbm", "2")}
    with pytest.raises(ValueError, match="no model name"):
        store.list_predictions(*WINDOW, model=":1")


def test_actuals_upsert_none_never_overwrites(store: LogStore) -> None:
    t0 = datetime(2020, 3, 2, tzinfo=UTC)
    t1, t2 = t0 + timedelta(hours=1), t0 + timedelta(hours=2)
    assert (
        store.upsert_actuals(
            [ActualRecord(t0, 50_000.0, 49_000.0), ActualRecord(t1, None, 48_000.0)]
        )
        == 2
    )
    assert (
        store.upsert_actuals(
            [
                ActualRecord(t0, None, None, source="late"),  # nothing to change
                ActualRecord(t1, 51_000.0),  # fills the missing consumption, keeps rte
                ActualRecord(t2, 52_000.0),
                ActualRecord(t2, None, 47_000.0),  # same timestamp twice in one call: merged
            ]
        )
        == 3
    )
    store.upsert_actuals([ActualRecord(t0, 50_500.0)])  # a value replaces a value
    items, total = store.list_actuals(t0, t0 + timedelta(days=1))
    assert total == 3
    assert [(a.timestamp, a.consumption_mw, a.rte_forecast_d1_mw) for a in items] == [
        (t0, 50_500.0, 49_000.0),
        (t1, 51_000.0, 48_000.0),
        (t2, 52_000.0, 47_000.0),
    ]
    assert items[0].timestamp.tzinfo is UTC
    page, total = store.list_actuals(t0, t0 + timedelta(days=1), limit=2, offset=2)
    assert ([a.timestamp for a in page], total) == ([t2], 3)


def test_bad_input_is_a_clear_error(store: LogStore) -> None:
    naive = datetime(2020, 1, 1)
    with pytest.raises(ValueError, match="tz-aware"):
        forecast_records("x", origin=naive)
    with pytest.raises(ValueError, match="p50 must be finite"):
        PredictionRecord("x", "m", "1", ORIGIN, ORIGIN, 1.0, None, math.nan, None, 1.0, ORIGIN)
    with pytest.raises(ValueError, match="endpoint"):
        forecast_records("x", endpoint="other")
    with pytest.raises(ValueError, match="request_id must not be empty"):
        forecast_records("")
    with pytest.raises(ValueError, match="consumption_mw must be finite"):
        ActualRecord(ORIGIN, math.inf)
    with pytest.raises(TypeError, match="expected PredictionRecord"):
        store.write_predictions([{"request_id": "x"}])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="tz-aware"):
        store.list_predictions(naive, naive)
    with pytest.raises(ValueError, match="before start"):
        store.list_actuals(WINDOW[1], WINDOW[0])
    with pytest.raises(ValueError, match="limit"):
        store.list_predictions(*WINDOW, limit=-1)
    with pytest.raises(ValueError, match="offset"):
        store.list_actuals(*WINDOW, offset=-3)
    assert store.count_predictions() == 0


def test_empty_writes_are_no_ops(store: LogStore) -> None:
    assert store.write_predictions([]) == 0
    assert store.upsert_actuals([]) == 0
    assert store.ping() is True


def test_a_batch_of_many_requests_is_stored_whole_and_once(store: LogStore) -> None:
    """A writer batch of many requests' points: every row is stored once, with its values,
    and the count says how many were new (logged rows sent again are skipped)."""
    batch = [r for i in range(9) for r in forecast_records(f"req-{i}", p50=40_000.0 + i)]
    assert store.write_predictions(batch) == 9 * 24
    # logged rows again, plus one new request's rows
    again = batch[50:140] + forecast_records("req-new") + batch[-3:]
    assert store.write_predictions(again) == 24
    assert store.count_predictions() == 10 * 24
    for i in (0, 2, 8):
        rows = store.prediction_rows(f"req-{i}")
        assert sorted(row["p50"] for row in rows) == [40_000.0 + i + h for h in range(1, 25)]


def test_bad_urls_are_refused() -> None:
    with pytest.raises(ValueError, match="invalid database URL"):
        LogStore("not a url")
    with pytest.raises(ValueError, match="sqlite or postgresql"):
        LogStore("mysql+pymysql://u@localhost/x")


def test_ping_is_false_when_the_server_is_down() -> None:
    store = LogStore(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/nothing")
    try:
        assert store.ping() is False
    finally:
        store.dispose()


def test_pandas_and_numpy_values_are_accepted(store: LogStore) -> None:
    """What the API computes with: pandas timestamps, numpy floats; stored as plain values."""
    import numpy as np
    import pandas as pd

    ts = pd.Timestamp("2020-03-02 01:00", tz="Europe/Paris")
    record = ActualRecord(ts, np.float32(50_000.5), np.float64(49_000.0))  # type: ignore[arg-type]
    assert type(record.timestamp) is datetime
    assert record.timestamp == datetime(2020, 3, 2, tzinfo=UTC)
    assert type(record.consumption_mw) is float
    store.upsert_actuals([record])
    (got,), _ = store.list_actuals(*WINDOW)
    assert got == record


def test_copies_of_validated_points_check_the_request_values_and_read_back(
    store: LogStore,
) -> None:
    """A cached forecast's points logged per request: only the request's values are checked."""
    templates = forecast_records("template", horizon=3)
    paris = ZoneInfo("Europe/Paris")
    created = datetime(2020, 3, 1, 13, 0, 5, 123456, tzinfo=paris)
    copies = PredictionRecord.copies(templates, "req-copy", 4.5, created)
    assert [c.target_time for c in copies] == [t.target_time for t in templates]
    assert {(c.request_id, c.latency_ms) for c in copies} == {("req-copy", 4.5)}
    assert copies[0].created_at == created
    assert copies[0].created_at.tzinfo == UTC
    with pytest.raises(ValueError, match="created_at must be tz-aware"):
        PredictionRecord.copies(templates, "x", 1.0, datetime(2020, 3, 1))
    with pytest.raises(ValueError, match="latency_ms must be finite"):
        PredictionRecord.copies(templates, "x", math.nan, created)
    with pytest.raises(ValueError, match="request_id must not be empty"):
        PredictionRecord.copies(templates, "", 1.0, created)
    assert store.write_predictions(copies) == 3
    assert store.write_predictions(copies) == 0  # the idempotent key holds on this path too
    page, total = store.list_predictions(*WINDOW)
    assert total == 3
    assert page == copies  # times (microseconds included) come back as written, in UTC
