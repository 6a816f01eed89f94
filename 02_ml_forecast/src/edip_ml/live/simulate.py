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
idempotent). A **failed** run is not recorded as done: it is retried in simulated time, every
``retry_delay_min`` (at most ``retries`` times), until it succeeds or the job's next scheduled run
supersedes it (every
flow catches up by itself: a day that can no longer be issued is then recorded ``missed``); one
still failed when the simulation ends is run again by the next resumed simulation, at its own
instant. ``stale_days`` skips the ingest runs of those days (an upstream outage: the gate
must fail), ``downtime`` windows skip every run inside them and then catch up as a restarted
loop does (issue-forecast and sync-actuals at once). ``prefect=False`` runs the flows as plain
functions (no Prefect server could be started: :mod:`edip_pipeline.flows.server`).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import heapq
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from edip_ml.live.config import LiveSettings, live_settings
from edip_ml.live.deployments import LoopJob, loop_jobs
from edip_pipeline import clock
from edip_pipeline.atomic import atomic_write_text
from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.cli_errors import one_line
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

INGEST = "ingest"


class FutureDataError(RuntimeError):
    """The store holds data after the simulated now: the simulation would leak."""


@dataclass(frozen=True)
class SimRun:
    """One run of one deployment at a simulated instant (``attempt`` > 0: a retry of ``of``)."""

    at: pd.Timestamp  # UTC
    job: LoopJob
    attempt: int = 0
    of: str | None = None  # the key of the scheduled run this retries

    @property
    def key(self) -> str:
        base = f"{self.at.isoformat()} {self.job.name}"
        return base if not self.attempt else f"{base} (retry {self.attempt} of {self.of})"

    @property
    def scheduled(self) -> str:
        """The key of the scheduled run this is (or retries)."""
        return self.of or self.key


@dataclass
class SimReport:
    runs: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    resumed_from: str | None = None
    unresolved: list[str] = field(default_factory=list)  # scheduled runs failed to the end

    def summary(self) -> str:
        failed = [r for r in self.runs if r["state"] != "ok"]
        retries = [r for r in self.runs if r["attempt"]]
        text = (
            f"{len(self.runs)} flow runs ({len(failed)} failed, {len(retries)} retries), "
            f"{len(self.skipped)} skipped"
        )
        if self.unresolved:
            text += (
                f"; still failed (a resumed simulation retries them): {', '.join(self.unresolved)}"
            )
        return text


def sim_jobs(settings: LiveSettings) -> list[LoopJob]:
    """The simulated deployments: the sample ingest (the store's only source here) + the loop."""
    from edip_pipeline.flows.ingest import ingest_flow
    from edip_pipeline.sources.sample import SAMPLE_DATASET

    ingest = LoopJob(INGEST, ingest_flow, "5 * * * *",
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


@contextlib.contextmanager
def without_heartbeats() -> Iterator[None]:
    """Prefect settings of the simulated flow runs: no flow-run heartbeats.

    Why: a heartbeat tells the Prefect server that a long run is still alive (crash detection);
    a simulated run lasts a few seconds, and the end of each run waited for the engine's
    heartbeat thread, which sleeps in 1 s steps (0.5 s a run on average, about a third of the
    demo's 28-day loop). Set once for the whole simulation: a settings copy costs ~30 ms.
    """
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    with temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        yield


class RunQueue:
    """The runs still to do, in time order (ingest first at an instant), retries slotted in.

    Why a queue: a retry is due at a simulated instant between scheduled runs; it runs there,
    and is dropped once the job's next scheduled run is due (that run catches up by itself).
    """

    def __init__(
        self, plan: list[SimRun], end: pd.Timestamp, retries: int, delay_min: float
    ) -> None:
        self.end = end
        self.retries = retries
        self.delay = pd.Timedelta(minutes=delay_min)
        self._heap: list[tuple[pd.Timestamp, int, int, SimRun]] = []
        self._seq = 0
        self._times: dict[str, list[pd.Timestamp]] = {}
        for run in plan:
            self.push(run)
            self._times.setdefault(run.job.name, []).append(run.at)
        for times in self._times.values():
            times.sort()

    def push(self, run: SimRun) -> None:
        rank = 0 if run.job.name == INGEST else 1
        heapq.heappush(self._heap, (run.at, rank, self._seq, run))
        self._seq += 1

    def pop(self) -> SimRun | None:
        return heapq.heappop(self._heap)[3] if self._heap else None

    def retry(self, run: SimRun) -> SimRun | None:
        """The next retry of a failed run, queued; ``None`` when none is due before the job's
        next scheduled run (or the end of the simulation)."""
        if not run.job.retry or run.attempt >= self.retries:
            return None
        at = run.at + self.delay
        times = self._times.get(run.job.name, [])
        later = bisect.bisect_right(times, run.at)
        nxt = times[later] if later < len(times) else self.end
        if at >= min(nxt, self.end):
            return None
        again = SimRun(at, run.job, run.attempt + 1, run.scheduled)
        self.push(again)
        return again


class Simulator:
    """Drives the real flows over simulated days (see the module doc)."""

    def __init__(
        self,
        clock_path: Path,
        settings: LiveSettings | None = None,
        *,
        prefect: bool = True,
        jobs: list[LoopJob] | None = None,
    ) -> None:
        self.clock_path = clock_path
        self.settings = settings or live_settings()
        self.prefect = prefect
        self.jobs = jobs  # default: sim_jobs(settings), the real deployments
        self.state_path = clock_path.with_name(clock_path.name + ".runs.json")
        os.environ[clock.CLOCK_FILE_ENV] = str(clock_path)

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

    def _record(self, done: set[str], run: SimRun, failed: dict[str, str]) -> None:
        """Persist what is done (a scheduled run that succeeded, by itself, a retry or the next
        scheduled run) and what failed, with the high-water mark."""
        mark = max(run.at, self.high_water() or run.at)
        state = {"done": sorted(done), "failed": failed, "high_water": mark.isoformat()}
        atomic_write_text(self.state_path, json.dumps(state, indent=0))

    def run_one(self, run: SimRun) -> Any:
        """Move the clock to the run's time and run its flow (a real Prefect flow run)."""
        clock.set_clock(self.clock_path, run.at)
        params = dict(run.job.parameters)
        if run.job.name == INGEST:
            params["end"] = run.at.isoformat()
        if self.prefect:  # retries are the simulator's, in simulated time
            name = f"{run.job.name} {run.at.tz_convert(PARIS):%Y-%m-%d %H:%M} (simulated)"
            result = run.job.flow.with_options(flow_run_name=name, retries=0)(**params)
        else:
            result = run.job.flow.fn(**params)
        # first pass: nothing at or after now; a re-run of a past day: nothing after the furthest
        # instant simulated so far (every flow also bounds its own reads by the clock)
        check_no_future(Store(), max(run.at, self.high_water() or run.at) + pd.Timedelta("1ns"))
        return result

    def plan(
        self,
        start: str,
        days: int,
        jobs: list[LoopJob],
        windows: list[tuple[pd.Timestamp, pd.Timestamp]],
    ) -> RunQueue:
        """Every scheduled run of the simulated days, plus the catch-up after each downtime."""
        by_name = {j.name: j for j in jobs}
        first = pd.Timestamp(start).normalize()
        plan: list[SimRun] = []
        for i in range(days):
            plan += day_runs(first + pd.Timedelta(days=i), jobs, self.settings)
        for _a, b in windows:  # a restarted loop catches up at once
            plan += [
                SimRun(b, by_name[n]) for n in ("sync-actuals", "issue-forecast") if n in by_name
            ]
        end = local_day_bounds(first + pd.Timedelta(days=days - 1))[1]
        return RunQueue(plan, end, self.settings.retries, self.settings.retry_delay_min)

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
        with without_heartbeats():
            return self._run(start, days, stale_days, downtime, resume, on_run)

    def _run(
        self,
        start: str,
        days: int,
        stale_days: Iterable[str],
        downtime: Iterable[tuple[pd.Timestamp, pd.Timestamp]],
        resume: bool,
        on_run: Callable[[SimRun, Any], None] | None,
    ) -> SimReport:
        """The simulation (:meth:`run`).

        Long because it is the simulation's one loop: skip what is done or down, run, then
        record success (and what it supersedes) or queue the retry.
        """
        jobs = self.jobs if self.jobs is not None else sim_jobs(self.settings)
        stale = {str(pd.Timestamp(d).date()) for d in stale_days}
        windows = [
            (pd.Timestamp(a).tz_convert("UTC"), pd.Timestamp(b).tz_convert("UTC"))
            for a, b in downtime
        ]
        done = self.done() if resume else set()
        failed: dict[str, str] = dict(self._state().get("failed", {})) if resume else {}
        pending: dict[str, list[str]] = {}  # job -> its scheduled runs failed, not yet redone
        report = SimReport()
        queue = self.plan(start, days, jobs, windows)
        while (run := queue.pop()) is not None:
            name = run.job.name
            if run.attempt and run.of not in pending.get(name, []):
                continue  # already redone
            if run.key in done:
                report.resumed_from = run.key
                continue
            local_day = str(run.at.tz_convert(PARIS).date())
            if (name == INGEST and local_day in stale and not run.attempt) or any(
                a <= run.at < b for a, b in windows
            ):
                report.skipped.append(run.key)
                continue
            log.info("simulated %s (Paris): %s", run.at.tz_convert(PARIS).strftime("%Y-%m-%d %H:%M"),
                     run.key if run.attempt else name)  # fmt: skip
            try:
                result, state = self.run_one(run), "ok"
            except FutureDataError:
                raise
            except Exception as exc:  # a failed flow run is visible in Prefect; the loop goes on
                log.error("%s failed: %s", run.key, one_line(exc))
                log.debug("%s failed", run.key, exc_info=True)
                result, state = None, f"failed: {exc}"
            report.runs.append({"at": run.at.isoformat(), "job": name, "state": state,
                                "attempt": run.attempt})  # fmt: skip
            if state == "ok":  # this run also does the work of the job's earlier failed runs
                redone = {run.scheduled, *pending.pop(name, [])}
                done |= redone
                for key in redone:
                    failed.pop(key, None)
            else:
                if run.scheduled not in pending.setdefault(name, []):
                    pending[name].append(run.scheduled)
                failed[run.scheduled] = state[:300]
                queue.retry(run)
            self._record(done, run, failed)
            if on_run is not None:
                on_run(run, result)
        report.unresolved = sorted(k for keys in pending.values() for k in keys)
        return report
