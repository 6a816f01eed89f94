"""The daily loop over 14 simulated days on the sample: real Prefect, API, MLflow, log store.

One scenario, checked by the tests below (module fixture; a few minutes in all): the simulator
runs as its own process (the "worker") and is killed with SIGKILL in the middle of the run, then
started again; day 2020-11-06 has no ingest (a stale source); the loop is down from 11-10 10:00 to
11-11 06:00 (11-11 missed) and from 11-12 11:30 to 14:00 (11-13 issued late). Retrain runs on the
9th of the month (configurable schedule: one retrain in 14 days keeps the suite short).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]  # the module fixture runs it all

START, DAYS = "2020-11-02", 14
DAYS_ISSUED = [str(d.date()) for d in pd.date_range("2020-11-03", periods=DAYS)]
STALE_DAY, FALLBACK_DAY, MISSED_DAY, LATE_DAY = (
    "2020-11-06",
    "2020-11-07",
    "2020-11-11",
    "2020-11-13",
)
OPTIONS = ["--stale-day", STALE_DAY, "--down", "2020-11-10T10:00/2020-11-11T06:00",
           "--down", "2020-11-12T11:30/2020-11-12T14:00"]  # fmt: skip


def _issuances(client: Any) -> list[dict[str, Any]]:
    return list(client.get("/v1/issuances", params={"limit": 1000}).json())


def _snapshot(p: Any) -> dict[str, Any]:
    from mlflow import MlflowClient

    with p.api.client() as c:
        acts = c.get(
            "/v1/actuals",
            params={"start": "2020-10-01T00:00:00Z", "end": "2020-12-01T00:00:00Z", "limit": 5000},
        ).json()
        preds = c.get(
            "/v1/predictions",
            params={"start": "2020-11-01T00:00:00Z", "end": "2020-12-01T00:00:00Z", "limit": 1},
        ).json()
        issued = [{k: v for k, v in i.items() if k != "created_at"} for i in _issuances(c)]
    versions = MlflowClient(p.registry.url).search_model_versions("name='edip-load-fr'")
    return {"actuals": acts["items"], "predictions": preds["total"], "issuances": issued,
            "versions": sorted((v.version, tuple(sorted(v.tags.items()))) for v in versions)}  # fmt: skip


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str) -> Iterator[Any]:
    pytest.importorskip("edip_testkit.platform", reason="the loop's tests need edip_api (the API)")
    from pytest_httpserver import HTTPServer

    from edip_testkit.live import loop_platform

    root = tmp_path_factory.mktemp("loop")
    hook = HTTPServer(host="127.0.0.1", port=0)
    hook.expect_request("/alerts", method="POST").respond_with_data("ok")
    hook.start()
    env = {"EDIP_LIVE_SIM_ALERTS": "false", "EDIP_LIVE_RETRAIN_CRON": "0 3 9 * *",
           "EDIP_LIVE_ALERT_WEBHOOK_URL": hook.url_for("/alerts")}  # fmt: skip
    try:
        with loop_platform(root, START, prefect_api_url, extra_env=env) as p:
            p.kill_report = _kill_then_finish(p)
            p.hook = hook
            yield p
    finally:
        hook.stop()


def _kill_then_finish(p: Any) -> dict[str, Any]:
    """Start the worker, SIGKILL it once 5 days are issued, start it again to the end."""
    log = (p.root / "worker-1.log").open("wb")
    worker = subprocess.Popen(p.simulate_command(START, DAYS, *OPTIONS), env={**os.environ, **p.env},
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    killed_at = None
    with p.api.client() as c:
        deadline = time.monotonic() + 900
        while worker.poll() is None and time.monotonic() < deadline:
            if len(_issuances(c)) >= 5:
                os.killpg(worker.pid, signal.SIGKILL)
                killed_at = len(_issuances(c))
                break
            time.sleep(0.5)
    worker.wait(60)
    assert killed_at is not None, (p.root / "worker-1.log").read_text()[-3000:]
    out = p.run_simulation(START, DAYS, *OPTIONS)
    return {"killed_after_issuances": killed_at, "second_run": out}


def test_one_issuance_per_day_at_the_right_origin(loop: Any) -> None:
    with loop.api.client() as c:
        issued = {i["target_day"]: i for i in _issuances(c)}
        counts = {}
        for day, i in issued.items():
            if i["request_id"]:
                page = c.get(
                    "/v1/predictions",
                    params={
                        "start": "2020-11-01T00:00:00Z",
                        "end": "2020-12-01T00:00:00Z",
                        "limit": 1,
                        "model": i["model_name"]
                        if i["model_version"] is None
                        else f"{i['model_name']}:{i['model_version'] or ''}",
                    },
                ).json()
                counts[day] = page["total"]
    assert sorted(issued) == DAYS_ISSUED  # no missing day, no extra one (the key is the day)
    for day, i in issued.items():
        due = pd.Timestamp(day).tz_localize("Europe/Paris") - pd.Timedelta(hours=12)
        assert pd.Timestamp(i["due_at"]) == due
        if day == MISSED_DAY:
            assert i["status"] == "missed"
            assert i["origin"] is None
            assert i["points"] == 0
            continue
        assert i["points"] == 48
        if day == LATE_DAY:  # issued when the loop came back, labelled late, never back-dated
            assert i["status"] == "late"
            assert i["late"]
            assert pd.Timestamp(i["origin"]) == pd.Timestamp("2020-11-12T14:00", tz="Europe/Paris")
        elif day == FALLBACK_DAY:
            assert i["status"] == "fallback"
            assert i["fallback"]
            assert i["gate_ok"] is False
            assert i["model_name"] == "same_hour_last_week"
        else:
            assert i["status"] == "on_time"
            assert i["gate_ok"] is True
            assert pd.Timestamp(i["origin"]) == due
            assert pd.Timestamp(i["issued_at"]) == due
        assert i["model_version"] is not None


def test_intraday_reissues_follow_their_slots_never_back_dated(loop: Any) -> None:
    """The simulated issue-intraday runs (09:00 and 18:00): each re-issue is recorded once per
    (day, kind), from the loop's now at or after its slot, up to the end of D."""
    with loop.api.client() as c:
        rows = c.get("/v1/issuances", params={"limit": 1000, "kind": "all"}).json()
    intraday = [i for i in rows if i["kind"] != "day-ahead"]
    assert len(intraday) >= DAYS  # about two a day, none on the days the gate or the loop failed
    assert len({(i["target_day"], i["kind"]) for i in intraday}) == len(intraday)
    assert {i["kind"] for i in intraday} <= {"intraday D-1 18:00", "intraday D 09:00",
                                             "intraday D 18:00"}  # fmt: skip
    for i in intraday:
        origin, issued = pd.Timestamp(i["origin"]), pd.Timestamp(i["issued_at"])
        assert issued >= pd.Timestamp(i["due_at"])
        assert origin == issued.floor("h")
        start = pd.Timestamp(i["target_day"]).tz_localize("Europe/Paris")
        end = (pd.Timestamp(i["target_day"]) + pd.Timedelta(days=1)).tz_localize("Europe/Paris")
        assert i["lead_h"] == (start - origin) / pd.Timedelta(hours=1)
        assert i["points"] == (end - origin) / pd.Timedelta(hours=1)


def test_every_issued_forecast_says_why(loop: Any) -> None:
    """Each champion issuance carries its decomposition (adding up to the P50 served); the
    fallback and the missed day say plainly that they have none."""
    with loop.api.client() as c:
        for day in DAYS_ISSUED:
            r = c.get("/v1/forecast/explain", params={"target_day": day})
            assert r.status_code == 200, (day, r.text)
            out = r.json()
            if day in (FALLBACK_DAY, MISSED_DAY):
                assert out["available"] is False, day
                assert ("fallback" if day == FALLBACK_DAY else "missed") in out["reason"]
                continue
            assert out["available"] is True, (day, out["reason"])
            assert len(out["points"]) == 48
            for p in out["points"]:
                assert abs(sum(p["contributions"].values()) - p["p50"]) < 1.0


def test_no_duplicate_points_after_the_kill(loop: Any) -> None:
    assert loop.kill_report["killed_after_issuances"] < len(DAYS_ISSUED)
    from sqlalchemy import create_engine, text

    engine = create_engine(loop.env["EDIP_DATABASE_URL"])
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT request_id, count(*), count(DISTINCT target_time) FROM predictions GROUP BY request_id"
            )
        ).all()
    engine.dispose()
    by_rid = {r[0]: (r[1], r[2]) for r in rows}
    for day in DAYS_ISSUED:
        if day == MISSED_DAY:
            continue
        rid = f"issue-{day}-fallback" if day == FALLBACK_DAY else f"issue-{day}"
        assert by_rid[rid] == (48, 48), (day, by_rid.get(rid))


def test_stale_day_issues_a_flagged_fallback_and_alerts(loop: Any) -> None:
    with loop.api.client() as c:
        issued = {i["target_day"]: i for i in _issuances(c)}
    fallback = issued[FALLBACK_DAY]
    failed = {ch["name"] for ch in fallback["gate_checks"] if not ch["ok"]}
    assert "freshness" in failed
    assert "gate failed" in fallback["detail"]
    posted = [json.loads(req.get_data()) for req, _ in loop.hook.log]
    titles = [a["title"] for body in posted for a in body["alerts"]]
    assert f"fallback issued for {FALLBACK_DAY}" in titles
    assert f"forecast of {MISSED_DAY} missed" in titles


def test_actuals_synced_for_every_past_hour_and_daily_mape(loop: Any) -> None:
    with loop.api.client() as c:
        now = pd.Timestamp(c.get("/v1/loop/status").json()["now"])
        acts = c.get(
            "/v1/actuals",
            params={"start": "2020-11-01T23:00:00Z", "end": now.isoformat(), "limit": 5000},
        ).json()
        summary = c.get(
            "/v1/metrics/summary", params={"window": "14d", "end": now.isoformat()}
        ).json()
    have = {pd.Timestamp(a["timestamp"]) for a in acts["items"] if a["consumption_mw"] is not None}
    last_sync = pd.Timestamp("2020-11-15T11:10", tz="Europe/Paris")
    expected = pd.date_range(
        pd.Timestamp(START, tz="Europe/Paris"),
        last_sync.floor("h") - pd.Timedelta(hours=1),
        freq="1h",
    )
    assert set(expected.tz_convert("UTC")) <= have
    days = {d["date"] for d in summary["daily"] if d["mape"] is not None}
    assert {str(d.date()) for d in pd.date_range("2020-11-03", "2020-11-14")} <= days
    assert all(0 < d["mape"] < 0.2 for d in summary["daily"] if d["mape"] is not None)


def test_one_retrain_with_its_recorded_decision(loop: Any) -> None:
    from mlflow import MlflowClient

    versions = MlflowClient(loop.registry.url).search_model_versions("name='edip-load-fr'")
    retrained = [v for v in versions if v.tags.get("edip.retrain_key")]
    assert [v.tags["edip.retrain_key"] for v in retrained] == ["2020-11-09"]
    tags = retrained[0].tags
    assert tags["promotion_decision"] in ("promoted", "rejected")
    assert tags["promotion_reason"]
    assert tags["promotion_champion_basis"] == "live"  # the champion was judged on its live error
    assert tags["edip.loop_now"].startswith("2020-11-09T02:00:00")


def test_no_step_sees_data_after_now(loop: Any) -> None:
    """The simulator checks the store after every run (FutureDataError); the API refuses origins
    after its clock; every gate saw its last load before the issuance."""
    with loop.api.client() as c:
        now = pd.Timestamp(c.get("/v1/loop/status").json()["now"])
        ahead = c.get(
            "/v1/forecast",
            params={"origin": (now + pd.Timedelta(hours=3)).isoformat(), "horizon": 24},
        )
        issued = _issuances(c)
    assert ahead.status_code == 422
    assert loop.store.last_timestamp("load_national") < now
    for i in issued:
        for check in i["gate_checks"]:
            if check["name"] == "freshness":
                last = pd.Timestamp(check["detail"].split()[2].rstrip(","))
                assert last < pd.Timestamp(i["issued_at"])


def test_running_the_same_day_twice_changes_nothing(loop: Any) -> None:
    before = _snapshot(loop)
    loop.run_simulation("2020-11-15", 1, "--no-resume")
    after = _snapshot(loop)
    assert after == before
