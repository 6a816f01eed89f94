"""``/v1/issuances`` and ``/v1/loop/status`` over HTTP against the real uvicorn subprocess."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest

from edip_testkit.platform import RunningApi

#: the day before the autumn clock change: due 12:00 CEST = 10:00 UTC
ISSUANCE = {
    "target_day": "2020-10-25",
    "status": "on_time",
    "due_at": "2020-10-24T12:00:00+02:00",
    "issued_at": "2020-10-24T12:00:05+02:00",
    "origin": "2020-10-24T12:00:00+02:00",
    "model_name": "edip-load-fr",
    "model_version": "1",
    "points": 23,
    "gate_ok": True,
    "gate_checks": [{"name": "freshness", "ok": True, "detail": "1.0 h old (max 6 h)"}],
}


def test_an_issuance_is_written_once_and_listed(client: httpx.Client, api: RunningApi) -> None:
    assert httpx.post(f"{api.url}/v1/issuances", json=ISSUANCE).status_code == 401
    first = client.post("/v1/issuances", json=ISSUANCE).json()
    assert first["created"] is True
    again = client.post("/v1/issuances", json={**ISSUANCE, "status": "late", "points": 1}).json()
    assert again["created"] is False
    assert (again["issuance"]["status"], again["issuance"]["points"]) == ("on_time", 23)
    listed = client.get(
        "/v1/issuances", params={"start_day": "2020-10-25", "end_day": "2020-10-25"}
    ).json()
    assert [i["target_day"] for i in listed] == ["2020-10-25"]
    assert listed[0]["gate_checks"][0]["name"] == "freshness"


def test_loop_status_keeps_the_paris_issuance_hour_across_clock_changes(
    client: httpx.Client,
) -> None:
    client.post("/v1/issuances", json=ISSUANCE)
    status = client.get("/v1/loop/status").json()
    assert status["last_issuance"]["target_day"] >= "2020-10-25"
    assert datetime.fromisoformat(status["now"]) == datetime.fromisoformat(
        "2021-01-01T00:00:00+01:00"
    )
    # next due after "now" is 2021-01-01 12:00 Paris (CET: 11:00 UTC), for 2021-01-02
    assert datetime.fromisoformat(status["next_issuance_at"]) == datetime.fromisoformat(
        "2021-01-01T12:00:00+01:00"
    )
    assert status["next_target_day"] == "2021-01-02"
    assert status["prefect_reachable"] in (True, False)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"target_day": "0000-00-00"}, "target_day"),
        ({"due_at": "2020-10-24T12:00:00"}, "UTC offset"),
        ({"status": "sideways"}, "status"),
        ({"fallback_points": [{"target_time": "2020-10-25T00:00:00Z", "p50": 5e4}]}, "fallback"),
    ],
)
def test_bad_issuances_are_422(client: httpx.Client, change: dict[str, object], why: str) -> None:
    body = {**ISSUANCE, "target_day": "2020-10-26", **change}
    if why == "fallback":
        body.pop("origin")
    r = client.post("/v1/issuances", json=body)
    assert r.status_code == 422, r.text
    assert why in r.text


@pytest.mark.parametrize(
    ("change", "why"),
    [
        # no upper bound made the database refuse them: a 500 (SQLite int64, PostgreSQL int4)
        ({"points": 9223372036854775808}, "points"),
        ({"points": 2147483648}, "points"),
        ({"model_name": "champion\u0000"}, "NUL"),  # PostgreSQL refuses NUL in text
        # "２０２０-12-20" is 2020-12-20 to strptime: one day under two spellings
        ({"target_day": "２０２０-12-20"}, "target_day"),
        ({"due_at": 1603533600}, "ISO 8601"),  # a Unix time was read as one
    ],
)
def test_out_of_range_issuances_are_422(
    client: httpx.Client, change: dict[str, object], why: str
) -> None:
    r = client.post("/v1/issuances", json={**ISSUANCE, "target_day": "2020-10-27", **change})
    assert r.status_code == 422, r.text
    assert why in r.text


def test_a_nan_fallback_point_is_422(client: httpx.Client) -> None:
    """The JSON literal NaN in a fallback p50 reached the log store: a 500."""
    body = json.dumps(
        {
            **ISSUANCE,
            "target_day": "2020-10-28",
            "request_id": "issue-2020-10-28-fallback",
            "fallback_points": [{"target_time": "2020-10-28T00:00:00Z", "p50": float("nan")}],
        }
    )
    assert "NaN" in body
    r = client.post("/v1/issuances", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert "p50" in r.text
    day = {"start_day": "2020-10-28", "end_day": "2020-10-28"}
    assert client.get("/v1/issuances", params=day).json() == []


def test_full_width_days_are_refused_in_queries_too(client: httpx.Client) -> None:
    r = client.get("/v1/issuances", params={"start_day": "２０２０-10-25"})
    assert r.status_code == 422, r.text
