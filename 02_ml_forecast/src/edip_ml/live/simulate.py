"""``edip live simulate``: the loop's real flows, day after day, on history, as if each were today.

For each simulated Paris day, every deployment's run times come from its own cron schedule
(Prefect's ``CronSchedule``, Europe/Paris); the hourly ones run only at ``sim_hours`` so that a
day takes seconds. Before each run the one clock (:mod:`edip_pipeline.clock`, a clock file the
API reads too) is moved to the run's time and the flow runs for real (a Prefect flow run against
``PREFECT_API_URL``, the real API, the real MLflow registry).

No step can see the future: the store starts empty of anything after the first simulated instant
(the operator, or ``make demo``, ingests up to it) and grows only by the simulated ``ingest``
runs, which fetch the bundled sample up to the clock — exactly what a real source would have
published by then. After each run the simulator checks that the store holds nothing after now
(:class:`FutureDataError` otherwise).

Completed runs are recorded in ``<clock file>.runs.json``: a simulator killed mid-run and started
again resumes at the first run not recorded (the interrupted one is run again: every flow is
idempotent). ``stale_days`` skips the ingest runs of those days (an upstream outage: the gate
must fail), ``downtime`` windows skip every run inside them and then catch up as a restarted
loop does (issue-forecast and sync-actuals at once).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from edip_ml.live.config import LiveSettings, live_settings
from edip_ml.live.deployments import LoopJob, load_flow, loop_jobs
from edip_pipeline import clock
from edip_pipeline.atomic import atomic_write_text
from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

INGEST = "ingest"


class FutureDataError(RuntimeError):
    """The store holds data after the simulated now: the simulation would leak."""


@dataclass(frozen=True)
class SimRun:
    """One scheduled run of one deployment at a simulated instant."""

    at: pd.Timestamp  # UTC
    job: LoopJob

    @property
    def key(self) -> str:
        return f"{self.at.isoformat()} {self.job.name}"


@dataclass
class SimReport:
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    resumed_from: str | None = None

    def summary(self) -> str:
        failed = [r for r in self.runs if r["state"] != "ok"]
        return f"{len(self.runs)} flow runs ({len(failed)} failed), {len(self.skipped)} skipped"


def sim_jobs(settings: LiveSettings) -> list[LoopJob]:
    """The simulated deployments: the sample ingest (the store's only source here) + the loop."""
    from edip_pipeline.sources.sample import SAMPLE_DATASET

    ingest = LoopJob(INGEST, "edip_pipeline.flows.ingest:ingest_flow", "5 * * * *",
                     "The bundled sample, as published up to now.",
                     {"plan": [("sample", SAMPLE_DATASET)], "fail_on_error": True})  # fmt: skip
    jobs = [ingest, *loop_jobs(settings)]
    return [j for j in jobs if j.name != "alerts" or settings.sim_alerts]


def day_runs(day: pd.Timestamp, jobs: Iterable[LoopJob], settings: LiveSettings) -> list[SimRun]:
    """Every run of ``jobs`` scheduled within Paris day ``day``, in time order."""
    from prefect.server.schemas.schedules import CronSchedule

    start, end = local_day_bounds(day)  # 23 h or 25 h on clock-change days
    runs: list[SimRun] = []
    for job in jobs:
        schedule = CronSchedule(cron=job.cron, timezone=settings.timezone)
        found = schedule.get_dates(n=100, start=start.to_pydatetime(), end=end.to_pydatetime())
        dates = asyncio.run(found) if asyncio.iscoroutine(found) else found
        hours = settings.sim_hours.get(job.name)
        for d in dates:
            at = pd.Timestamp(d).tz_convert(PARIS)
            if start <= at < end and (hours is None or at.hour in hours):
                runs.append(SimRun(at.tz_convert("UTC"), job))
    order = {j.name: i for i, j in enumerate(jobs)}
    return sorted(runs, key=lambda r: (r.at, order[r.job.name]))


def check_no_future(store: Store, now: pd.Timestamp) -> None:
    """Raise :class:`FutureDataError` when any stored load is at or after ``now``."""
    last = store.last_timestamp("load_national")
    if last is not None and last >= now:
        raise FutureDataError(
            f"the store holds load at {last.isoformat()}, at or after now {now.isoformat()}"
        )


class Simulator:
    """Drives the real flows over simulated days (see the module doc)."""

    def __init__(self, clock_path: Path, settings: LiveSettings | None = None) -> None:
        self.clock_path = clock_path
        self.settings = settings or live_settings()
        self.state_path = clock_path.with_name(clock_path.name + ".runs.json")
        os.environ[clock.CLOCK_FILE_ENV] = str(clock_path)
        self.flows: dict[str, Any] = {}

    def _state(self) -> dict[str, Any]:
        if not self.state_path.is_file():
            return {}
        state: dict[str, Any] = json.loads(self.state_path.read_text())
        return state

    def done(self) -> set[str]:
        return set(self._state().get("done", []))

    def high_water(self) -> pd.Timestamp | None:
        """The latest simulated instant so far (a re-run of a past day may not go beyond it)."""
        value = self._state().get("high_water")
        return pd.Timestamp(value) if value else None

    def _mark(self, done: set[str], run: SimRun) -> None:
        done.add(run.key)
        mark = max(run.at, self.high_water() or run.at)
        state = {"done": sorted(done), "high_water": mark.isoformat()}
        atomic_write_text(self.state_path, json.dumps(state, indent=0))

    def run_one(self, run: SimRun) -> Any:
        """Move the clock to the run's time and run its flow (a real Prefect flow run)."""
        clock.set_clock(self.clock_path, run.at)
        flow = self.flows.get(run.job.name) or load_flow(run.job.flow)
        if flow is None:
            raise RuntimeError(f"flow {run.job.flow} is not installed")
        self.flows[run.job.name] = flow
        params = dict(run.job.parameters)
        if run.job.name == INGEST:
            params["end"] = run.at.isoformat()
        name = f"{run.job.name} {run.at.tz_convert(PARIS):%Y-%m-%d %H:%M} (simulated)"
        result = flow.with_options(flow_run_name=name)(**params)
        # first pass: nothing at or after now; a re-run of a past day: nothing after the furthest
        # instant simulated so far (every flow also bounds its own reads by the clock)
        check_no_future(Store(), max(run.at, self.high_water() or run.at) + pd.Timedelta("1ns"))
        return result

    def run(
        self,
        start: str,
        days: int,
        *,
        stale_days: Iterable[str] = (),
        downtime: Iterable[tuple[pd.Timestamp, pd.Timestamp]] = (),
        resume: bool = True,
        on_run: Callable[[SimRun, Any], None] | None = None,
    ) -> SimReport:
        """Simulate ``days`` Paris days from ``start``; see the module doc for the options."""
        jobs = sim_jobs(self.settings)
        by_name = {j.name: j for j in jobs}
        stale = {str(pd.Timestamp(d).date()) for d in stale_days}
        windows = [
            (pd.Timestamp(a).tz_convert("UTC"), pd.Timestamp(b).tz_convert("UTC"))
            for a, b in downtime
        ]
        done = self.done() if resume else set()
        report = SimReport()
        first = pd.Timestamp(start).normalize()
        plan: list[SimRun] = []
        for i in range(days):
            plan += day_runs(first + pd.Timedelta(days=i), jobs, self.settings)
        for _a, b in windows:  # a restarted loop catches up at once
            plan += [
                SimRun(b, by_name[n]) for n in ("sync-actuals", "issue-forecast") if n in by_name
            ]
        plan.sort(key=lambda r: (r.at, 0 if r.job.name == INGEST else 1))
        for run in plan:
            local_day = str(run.at.tz_convert(PARIS).date())
            if run.key in done:
                report.resumed_from = run.key
                continue
            if (run.job.name == INGEST and local_day in stale) or any(
                a <= run.at < b for a, b in windows
            ):
                report.skipped.append(run.key)
                continue
            log.info(
                "simulated %s (Paris): %s",
                run.at.tz_convert(PARIS).strftime("%Y-%m-%d %H:%M"),
                run.job.name,
            )
            try:
                result = self.run_one(run)
                state = "ok"
            except FutureDataError:
                raise
            except Exception as exc:  # a failed flow run is visible in Prefect; the loop goes on
                log.exception("%s failed", run.key)
                result, state = None, f"failed: {exc}"
            report.runs.append({"at": run.at.isoformat(), "job": run.job.name, "state": state})
            self._mark(done, run)
            if on_run is not None:
                on_run(run, result)
        return report
