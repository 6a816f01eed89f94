"""``/v1/issued`` over HTTP: the latest issue per hour as of an instant, a day's issues, peaks."""

from __future__ import annotations

import httpx
import pytest

from ...conftest import wait_logged

DAY = "2020-12-15"
AHEAD = "2020-12-14T12:00:00+01:00"
MORNING = "2020-12-15T09:00:00+01:00"


def _issue(client: httpx.Client, kind: str, origin: str, horizon: int, rid: str) -> None:
    r = client.get("/v1/forecast", params={"origin": origin, "horizon": horizon},
                   headers={"X-Request-ID": rid})  # fmt: skip
    assert r.status_code == 200, r.text
    wait_logged(client, rid, horizon)
    body = {"target_day": DAY, "status": "on_time", "kind": kind, "due_at": origin,
            "issued_at": origin, "origin": origin, "request_id": rid, "points": horizon,
            "model_name": "m", "model_version": "1"}  # fmt: skip
    assert client.post("/v1/issuances", json=body).json()["created"] is True


def test_as_of_history_and_peaks(client: httpx.Client) -> None:
    _issue(client, "day-ahead", AHEAD, 36, f"issue-{DAY}")
    _issue(client, "intraday D 09:00", MORNING, 15, f"issue-{DAY}-intraday-D-0900")
    day = {"start": "2020-12-14T23:00:00Z", "end": "2020-12-15T23:00:00Z"}

    before = client.get("/v1/issued", params={**day, "as_of": "2020-12-15T08:59:00+01:00"})
    points = before.json()["points"]
    assert len(points) == 24
    assert {p["kind"] for p in points} == {"day-ahead"}

    after = client.get("/v1/issued", params={**day, "as_of": MORNING}).json()["points"]
    assert [p["kind"] for p in after] == ["day-ahead"] * 9 + ["intraday D 09:00"] * 15
    assert after[9]["lead_h"] == 0.0

    listed = client.get("/v1/issuances", params={"start_day": DAY, "kind": "all"}).json()
    assert [i["kind"] for i in listed] == ["intraday D 09:00", "day-ahead"]
    assert [i["kind"] for i in client.get("/v1/issuances", params={"start_day": DAY}).json()] == [
        "day-ahead"
    ]

    history = client.get("/v1/issued/history", params={"day": DAY}).json()
    assert [i["kind"] for i in history["issues"]] == ["day-ahead", "intraday D 09:00"]
    assert history["issues"][0]["lead_h"] == 12.0
    assert len(history["issues"][1]["points"]) == 15

    [peak] = client.get("/v1/issued/peaks", params={"start_day": DAY}).json()
    ahead = history["issues"][0]["points"]
    top = max(ahead, key=lambda p: p["p50"])
    assert peak["peak_mw"] == top["p50"]
    assert (peak["peak_p10"], peak["peak_p90"]) == (top["p10"], top["p90"])
    assert 0 <= peak["peak_hour"] <= 23
    latest = client.get("/v1/issued/peaks", params={"start_day": DAY, "kind": "latest"})
    assert latest.status_code == 200, latest.text
    score = client.get(
        "/v1/metrics/summary", params={"window": "1d", "end": "2020-12-16T00:00:00+01:00"}
    )
    assert [p["day"] for p in score.json()["peaks"]] == [DAY]
    assert score.json()["peaks"][0]["peak_mw"] == peak["peak_mw"]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/issued/history", {"day": "2020-13-45"}),
        ("/v1/issued/history", {"day": "0000-00-00"}),
        ("/v1/issued/peaks", {"start_day": "2020-02-30"}),
        ("/v1/issued/peaks", {"start_day": "2020-12-15", "end_day": "2020-12-01"}),
        ("/v1/issued", {"start": "2020-12-15T00:00:00Z", "end": "2020-12-14T00:00:00Z"}),
        ("/v1/issued", {"as_of": "2020-12-15T00:00:00"}),
    ],
)
def test_bad_days_and_ranges_are_422(
    client: httpx.Client, path: str, params: dict[str, str]
) -> None:
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
