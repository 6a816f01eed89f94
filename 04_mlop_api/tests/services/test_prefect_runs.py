"""Prefect look-ups of the status routes, against a local server answering like Prefect's REST API."""

from __future__ import annotations

import json

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from edip_api.services.prefect_runs import loop_runs, recent_runs

#: shaped like Prefect 3's ``POST /api/flow_runs/filter`` items (the fields the API reads, and more)
RUN = {
    "id": "0b6c7a2e-6f0e-4a49-9a55-5f1f9d1c1a01",
    "name": "witty-otter",
    "flow_id": "f-issue",
    "state_type": "COMPLETED",
    "state": {"type": "COMPLETED", "name": "Completed", "timestamp": "2020-11-28T11:00:05+00:00"},
    "start_time": "2020-11-28T11:00:00+00:00",
    "end_time": "2020-11-28T11:00:04+00:00",
    "expected_start_time": "2020-11-28T11:00:00+00:00",
}
FLOWS = [{"id": "f-issue", "name": "issue-forecast"}, {"id": "f-sync", "name": "sync-actuals"}]


@pytest.fixture
def prefect(httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch) -> HTTPServer:
    monkeypatch.setenv("PREFECT_API_URL", httpserver.url_for("/api"))
    return httpserver


def test_recent_runs_are_read_and_the_query_is_prefects(prefect: HTTPServer) -> None:
    prefect.expect_request(
        "/api/flow_runs/filter",
        method="POST",
        json={"limit": 3, "sort": "START_TIME_DESC"},
    ).respond_with_json([RUN, {**RUN, "name": "pending-one", "state": None, "state_type": None}])
    runs, reachable = recent_runs(limit=3)
    assert reachable
    assert [(r.name, r.state) for r in runs] == [
        ("witty-otter", "COMPLETED"),
        ("pending-one", None),
    ]
    assert runs[0].end_time is not None
    assert runs[0].end_time.isoformat().startswith("2020-11-28T11")


def test_loop_runs_query_each_named_flow(prefect: HTTPServer) -> None:
    asked: list[dict[str, object]] = []

    def flow_runs(request: Request) -> Response:
        body = json.loads(request.data)
        asked.append(body)
        flow_id = body["flows"]["id"]["any_"][0]
        return Response(json.dumps([{**RUN, "flow_id": flow_id}]), content_type="application/json")

    prefect.expect_request(
        "/api/flows/filter",
        method="POST",
        json={"flows": {"name": {"any_": ["issue-forecast", "sync-actuals"]}}},
    ).respond_with_json(FLOWS)
    prefect.expect_request("/api/flow_runs/filter", method="POST").respond_with_handler(flow_runs)
    runs, reachable = loop_runs(["issue-forecast", "sync-actuals"], per_flow=2)
    assert reachable
    assert [r.flow for r in runs] == ["issue-forecast", "sync-actuals"]
    assert all(b["limit"] == 2 and b["sort"] == "EXPECTED_START_TIME_DESC" for b in asked)


@pytest.mark.parametrize("answer", ["error", "not-a-list"])
def test_an_unhealthy_prefect_is_unreachable_not_an_error(prefect: HTTPServer, answer: str) -> None:
    route = prefect.expect_request("/api/flow_runs/filter", method="POST")
    if answer == "error":
        route.respond_with_data("boom", status=500)
    else:
        route.respond_with_json({"detail": "not a list"})
    assert recent_runs() == ([], False)


def test_unset_or_refusing_prefect_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert recent_runs() == ([], False)
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")  # discard port: refused
    assert loop_runs(["issue-forecast"]) == ([], False)
