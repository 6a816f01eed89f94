"""The prediction log service: the records of each endpoint, and a client's X-Request-ID naming
one logged forecast (409 on reuse).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

import httpx
import numpy as np

from edip_api.schemas import ModelInfo, Quantiles
from edip_api.services.prediction_log import (
    EPOCH,
    fallback_records,
    logs_answer,
    predict_records,
)
from edip_testkit.platform import RunningApi

from ..conftest import wait_logged


def test_reused_request_id_on_a_different_forecast_is_refused(client: httpx.Client) -> None:
    rid = f"client-{uuid.uuid4().hex[:12]}"
    headers = {"X-Request-ID": rid}
    first = client.get(
        "/v1/forecast", params={"origin": "2020-12-11T12:00:00+01:00"}, headers=headers
    )
    assert first.status_code == 200, first.text
    assert first.json()["request_id"] == rid
    # the same forecast again under the same id: idempotent (edip replay re-runs rely on it)
    again = client.get(
        "/v1/forecast", params={"origin": "2020-12-11T12:00:00+01:00"}, headers=headers
    )
    assert again.status_code == 200, again.text
    other = client.get(
        "/v1/forecast", params={"origin": "2020-12-12T12:00:00+01:00"}, headers=headers
    )
    assert other.status_code == 409, other.text
    assert "X-Request-ID" in other.json()["detail"]
    logged = wait_logged(client, rid, 24)
    assert len(logged) == 24
    served = {p["target_time"]: p["p50"] for p in first.json()["points"]}
    assert {i["target_time"]: i["p50"] for i in logged} == served


def test_generated_request_ids_are_unique(client: httpx.Client) -> None:
    ids = {
        client.get("/v1/forecast", params={"origin": "2020-12-11T12:00:00+01:00"}).json()[
            "request_id"
        ]
        for _ in range(3)
    }
    assert len(ids) == 3


def test_predict_rows_are_logged_at_epoch_offsets_without_nan_p50() -> None:
    info = ModelInfo(
        name="m", version="3", source="registry", family=None, alias="champion",
        loaded_at=datetime.now(UTC), reason=None,
    )  # fmt: skip
    preds = [Quantiles(p10=1.0, p50=2.0, p90=3.0), Quantiles(p10=None, p50=None, p90=None)]
    preds.append(Quantiles(p10=None, p50=5.0, p90=None))
    records = predict_records("r1", info, preds, np.array([6.0, 7.0, np.nan]), 1.5)
    assert [r.target_time for r in records] == [EPOCH, EPOCH + timedelta(seconds=2)]
    assert [r.horizon_h for r in records] == [6.0, 0.0]
    assert {(r.endpoint, r.model_version, r.latency_ms) for r in records} == {("predict", "3", 1.5)}


def test_fallback_points_are_utc_with_their_horizon() -> None:
    origin = datetime(2020, 12, 9, 12, tzinfo=timezone(timedelta(hours=1)))
    target = datetime(2020, 12, 10, 0, tzinfo=UTC)
    (record,) = fallback_records("r2", "fallback", None, origin, [(target, 50_000.0)])
    assert record.origin == datetime(2020, 12, 9, 11, tzinfo=UTC)
    assert record.horizon_h == 13.0
    assert (record.p10, record.p50, record.p90, record.model_version) == (None, 50_000.0, None, "")


def test_an_anonymous_caller_cannot_squat_the_loops_request_id(
    client: httpx.Client, api: RunningApi
) -> None:
    """Sent without the key before the loop issued that day, ``X-Request-ID: issue-<day>`` made
    the loop's own request answer 409 (and the attacker's rows stayed under the loop's id)."""
    rid = f"issue-{uuid.uuid4().hex[:8]}"
    squat = httpx.get(
        f"{api.url}/v1/forecast",
        params={"origin": "2020-11-30T11:00:00Z", "horizon": 24},
        headers={"X-Request-ID": rid},
        timeout=60,
    )
    assert squat.status_code == 200, squat.text
    assert squat.json()["request_id"] != rid  # a fresh id, said in the body and the header
    assert squat.headers["x-request-id"] == squat.json()["request_id"]
    assert squat.json()["logged"] is False
    loop = client.get(
        "/v1/forecast",
        params={"origin": "2020-12-04T12:00:00+01:00", "horizon": 24},
        headers={"X-Request-ID": rid},
    )
    assert loop.status_code == 200, loop.text
    assert (loop.json()["request_id"], loop.json()["logged"]) == (rid, True)
    logged = wait_logged(client, rid, 24)
    origins = {datetime.fromisoformat(i["origin"]) for i in logged}
    assert origins == {datetime.fromisoformat(loop.json()["origin"])}


def test_who_is_logged() -> None:
    assert logs_answer("none", keyed=True, endpoint="predict")
    assert not logs_answer("none", keyed=False, endpoint="forecast")
    assert logs_answer("forecast", keyed=False, endpoint="forecast")
    assert not logs_answer("forecast", keyed=False, endpoint="predict")
    assert logs_answer("all", keyed=False, endpoint="predict")
