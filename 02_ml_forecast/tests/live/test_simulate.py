"""The simulator retries what failed, in simulated time, and never records a failed run as done.

Driven with one real flow (run as its plain function: the scheduling is under test here; the
loop's tests run the real deployments through Prefect) that fails during an outage: until the
instant written in the outage file.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from prefect import flow
from prefect.settings import get_current_settings

from edip_ml.live.config import LiveSettings
from edip_ml.live.deployments import LoopJob
from edip_ml.live.simulate import Simulator
from edip_pipeline import clock

CALLS: list[pd.Timestamp] = []


@flow(name="flaky")
def flaky(outage: str) -> str:
    """Records when it ran; fails before the end of the outage (an API that does not answer)."""
    now = clock.now()
    CALLS.append(now.tz_convert("Europe/Paris"))
    if Path(outage).is_file() and now < pd.Timestamp(Path(outage).read_text()):
        raise RuntimeError("API unreachable")
    return "ok"


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Simulator:
    monkeypatch.setenv(clock.CLOCK_FILE_ENV, str(tmp_path / "clock"))  # restored after the test
    CALLS.clear()
    job = LoopJob("issue-forecast", flaky, "0 12 * * *", "flaky",
                  {"outage": str(tmp_path / "outage")})  # fmt: skip
    settings = LiveSettings(retries=11, retry_delay_min=60)
    return Simulator(tmp_path / "clock", settings, prefect=False, jobs=[job])


def _hours() -> list[str]:
    return [f"{t:%d %H:%M}" for t in CALLS]


def _state(sim: Simulator) -> dict:
    return json.loads(sim.state_path.read_text())


def test_a_failed_run_is_retried_hourly_until_it_succeeds(sim: Simulator, tmp_path: Path) -> None:
    (tmp_path / "outage").write_text("2020-11-03T14:30+01:00")
    report = sim.run("2020-11-03", 2)
    # 12:00 fails, retries at 13:00 and 14:00 fail, 15:00 (after the outage) succeeds
    assert _hours() == ["03 12:00", "03 13:00", "03 14:00", "03 15:00", "04 12:00"]
    assert [r["attempt"] for r in report.runs] == [0, 1, 2, 3, 0]
    assert report.unresolved == []
    assert _state(sim)["failed"] == {}
    assert "retries" in report.summary()


def test_retries_stop_when_the_next_scheduled_run_is_due_and_it_supersedes(
    sim: Simulator, tmp_path: Path
) -> None:
    (tmp_path / "outage").write_text("2020-11-04T06:00+01:00")
    report = sim.run("2020-11-03", 2)
    # retried 13:00..23:00 (11 retries, the last fails), then the next day's run does the work
    assert _hours()[:2] == ["03 12:00", "03 13:00"]
    assert _hours()[-2:] == ["03 23:00", "04 12:00"]
    assert len(CALLS) == 13
    assert report.unresolved == []
    state = _state(sim)
    assert state["failed"] == {}
    assert {k.split(" ")[0][:10] for k in state["done"]} == {"2020-11-03", "2020-11-04"}


def test_a_resumed_simulation_retries_what_still_failed_and_only_that(
    sim: Simulator, tmp_path: Path
) -> None:
    outage = tmp_path / "outage"
    outage.write_text("2099-01-01T00:00Z")
    first = sim.run("2020-11-03", 1)
    assert len(CALLS) == 12  # 12:00 + 11 retries, every one failed
    [key] = first.unresolved
    assert key.endswith("issue-forecast")
    assert key not in _state(sim)["done"]  # a failed run is never recorded as done
    assert key in _state(sim)["failed"]

    outage.unlink()
    CALLS.clear()
    again = sim.run("2020-11-03", 1)
    assert _hours() == ["03 12:00"]  # run again at its own instant; nothing else re-run
    assert again.unresolved == []
    assert key in _state(sim)["done"]
    assert _state(sim)["failed"] == {}


def test_simulated_runs_send_no_heartbeats_and_the_setting_is_restored(tmp_path: Path) -> None:
    """A simulated run lasts seconds: the flow engine's heartbeat thread (crash detection of
    long runs) only made each run's end wait for its 1 s sleeps; the simulation turns it off."""
    seen: list[int | None] = []

    @flow(name="heartbeat-probe")
    def probe() -> None:
        seen.append(get_current_settings().flows.heartbeat_frequency)

    before = get_current_settings().flows.heartbeat_frequency
    job = LoopJob("update", probe, "0 12 * * *", "probe")
    sim = Simulator(tmp_path / "clock", LiveSettings(), prefect=False, jobs=[job])
    report = sim.run("2020-11-03", 2)
    assert [r["state"] for r in report.runs] == ["ok", "ok"]
    assert seen == [None, None]
    assert before is not None
    assert get_current_settings().flows.heartbeat_frequency == before
