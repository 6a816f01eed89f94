"""metrics_summary against a hand computation on a small synthetic log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edip_api.db import ActualRecord, LogStore, PredictionRecord

from .conftest import point

D1 = datetime(2020, 3, 2, tzinfo=UTC)  # first scored day
T1, T2, T3 = D1, D1 + timedelta(hours=1), D1 + timedelta(hours=2)
T4 = D1 + timedelta(days=1)  # second day
T5 = D1 + timedelta(days=1, hours=5)  # actual with RTE's forecast, nobody else's
START, END = D1, D1 + timedelta(days=2)


def _points(
    request_id: str,
    model: tuple[str, str],
    origin: datetime,
    values: dict[datetime, float],
    endpoint: str = "forecast",
) -> list[PredictionRecord]:
    return [point(request_id, model, origin, t, p50, endpoint) for t, p50 in values.items()]


@pytest.fixture
def filled(store: LogStore) -> LogStore:
    lgb1, lgb2, fallback = ("lightgbm", "1"), ("lightgbm", "2"), ("same_hour_last_week", "")
    day_before_noon = D1 - timedelta(hours=12)  # exactly 12 h before T1: day-ahead
    records = [
        # an earlier day-ahead run, superseded by the later one below
        *_points("r1", lgb1, D1 - timedelta(hours=13), {T1: 100.0, T2: 200.0, T3: 300.0}),
        *_points("r2", lgb1, day_before_noon, {T1: 110.0, T2: 190.0, T3: 330.0}),
        # too late to be day-ahead (4 h lead): not counted although it is the latest origin
        *_points("r3", lgb1, D1 - timedelta(hours=4), {T1: 999.0, T2: 999.0, T3: 999.0}),
        # /v1/predict rows are not served forecasts
        *_points("r4", lgb1, D1 - timedelta(days=2), {T1: 5000.0}, endpoint="predict"),
        *_points("r5", lgb2, D1 - timedelta(days=1), {T1: 120.0}),
        *_points("r6", fallback, D1 - timedelta(days=1), {T2: 150.0, T4: 400.0}),
        # outside the window, and a target without an actual
        *_points("r7", lgb1, D1 - timedelta(days=3), {D1 - timedelta(hours=1): 1.0}),
        *_points("r8", lgb1, T4 - timedelta(days=1), {T4 + timedelta(hours=7): 7.0}),
    ]
    store.write_predictions(records)
    store.upsert_actuals(
        [
            ActualRecord(T1, 100.0),
            ActualRecord(T2, 200.0),
            ActualRecord(T3, 300.0, 310.0),
            ActualRecord(T4, 500.0, 450.0),
            ActualRecord(T5, 80.0, 100.0),
            ActualRecord(T5 + timedelta(hours=1), None, 123.0),  # no actual: not scored
            ActualRecord(D1 - timedelta(hours=1), 1.0, 1000.0),  # before the window
            ActualRecord(END, 1.0, 1000.0),  # the end is excluded
        ]
    )
    return store


def test_summary_matches_hand_computation(filled: LogStore) -> None:
    summary = filled.metrics_summary(START, END)
    approx = pytest.approx
    assert summary.models == [
        # T1 110 vs 100, T2 190 vs 200, T3 330 vs 300
        {
            "model_name": "lightgbm",
            "model_version": "1",
            "n": 3,
            "mape": approx((0.1 + 0.05 + 0.1) / 3),
            "mae": approx(50 / 3),
            "bias": approx(10.0),
        },
        {
            "model_name": "lightgbm",
            "model_version": "2",
            "n": 1,
            "mape": approx(0.2),
            "mae": approx(20.0),
            "bias": approx(20.0),
        },
        # T2 150 vs 200, T4 400 vs 500
        {
            "model_name": "same_hour_last_week",
            "model_version": "",
            "n": 2,
            "mape": approx(0.225),
            "mae": approx(75.0),
            "bias": approx(-75.0),
        },
    ]
    # RTE D-1: T3 310 vs 300, T4 450 vs 500, T5 100 vs 80
    assert summary.rte_d1 == {
        "n": 3,
        "mape": approx((10 / 300 + 0.1 + 0.25) / 3),
        "mae": approx(80 / 3),
        "bias": approx(-20 / 3),
    }
    assert [(d["date"], d["model_name"], d["model_version"], d["n"]) for d in summary.daily] == [
        ("2020-03-02", "lightgbm", "1", 3),
        ("2020-03-02", "lightgbm", "2", 1),
        ("2020-03-02", "same_hour_last_week", "", 1),
        ("2020-03-03", "same_hour_last_week", "", 1),
    ]
    assert summary.daily[2]["bias"] == approx(-50.0)
    assert summary.daily[2]["mape"] == approx(0.25)
    assert summary.daily[3]["mae"] == approx(100.0)


def test_as_dict_is_the_json_shape(filled: LogStore) -> None:
    body = filled.metrics_summary(START, END).as_dict()
    assert set(body) == {"actual", "start", "end", "models", "rte_d1", "daily"}
    assert body["start"] == "2020-03-02T00:00:00+00:00"
    assert body["end"] == "2020-03-04T00:00:00+00:00"
    assert set(body["models"][0]) == {"model_name", "model_version", "n", "mape", "mae", "bias"}
    assert set(body["daily"][0]) == {
        "date",
        "model_name",
        "model_version",
        "n",
        "mape",
        "mae",
        "bias",
    }


def test_empty_window(filled: LogStore) -> None:
    later = END + timedelta(days=30)
    summary = filled.metrics_summary(later, later + timedelta(days=7))
    assert (summary.models, summary.rte_d1, summary.daily) == ([], None, [])
