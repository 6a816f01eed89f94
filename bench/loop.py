"""Benchmark of the daily loop: simulated days per minute on the sample, one real day's cycle.

Starts the real platform (edip_testkit.live: sample store cut at --start, MLflow with a
LightGBM champion, a Prefect server, the API on the loop's clock file), then

1. **one day's cycle** — ingest + sync-actuals + update + issue-forecast of day --start, each a
   real Prefect flow run against the real API, timed one by one (in this process);
2. **fast-forward** — ``edip live simulate`` for --days more days as its own process (the worker:
   its start-up is part of the figure), retrain included when the schedule falls in the period,
   alerts included unless --no-alerts; simulated days per minute and the 28-day projection.

Targets (2 cores): one day's cycle < 30 s, a 28-day simulation < 10 min. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

log = logging.getLogger("bench.loop")
CYCLE = ("ingest", "sync-actuals", "update", "issue-forecast")


def say(message: str) -> None:
    """One figure line on the real stdout (Prefect's engine may wrap sys.stdout)."""
    stream = sys.__stdout__ or sys.stdout
    stream.write(message + "\n")
    stream.flush()


def one_cycle(platform: object, day: str) -> dict[str, float]:
    """Run the cycle's flows of ``day`` at their scheduled times; seconds per flow."""
    from edip_ml.live.config import live_settings
    from edip_ml.live.simulate import Simulator, day_runs, sim_jobs

    sim = Simulator(platform.clock_file, live_settings())  # type: ignore[attr-defined]
    runs = [
        r
        for r in day_runs(pd.Timestamp(day), sim_jobs(sim.settings), sim.settings)
        if r.job.name in CYCLE
    ]
    took: dict[str, float] = {}
    for run in runs:
        t0 = time.perf_counter()
        sim.run_one(run)
        took[run.job.name] = took.get(run.job.name, 0.0) + time.perf_counter() - t0
    return took


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2020-11-02", help="first simulated Paris day")
    parser.add_argument("--days", type=int, default=7, help="days fast-forwarded after the cycle")
    parser.add_argument("--no-alerts", action="store_true", help="leave the alerts flow out")
    parser.add_argument("--keep", type=Path, default=None, help="keep the platform's files here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    from edip_pipeline.config import reset_settings_cache
    from edip_testkit.live import loop_platform
    from edip_testkit.platform import temporary_env

    root = args.keep or Path(tempfile.mkdtemp(prefix="edip-bench-loop-"))
    root.mkdir(parents=True, exist_ok=True)
    extra = {"EDIP_LIVE_SIM_ALERTS": "false" if args.no_alerts else "true"}
    t_setup = time.perf_counter()
    with (
        prefect_test_harness(server_startup_timeout=180),
        loop_platform(root, args.start, PREFECT_API_URL.value(), extra_env=extra) as p,
        temporary_env(p.env),
    ):
        reset_settings_cache()  # the flows of this process read the platform's store
        say(f"platform up in {time.perf_counter() - t_setup:.0f} s (not counted)")
        took = one_cycle(p, args.start)
        say("## one day's cycle (real flow runs, real API)")
        for name, seconds in took.items():
            say(f"  {name:<16} {seconds:6.1f} s")
        say(f"  one day's cycle: {sum(took.values()):.1f} s (target < 30 s)")
        nxt = str((pd.Timestamp(args.start) + pd.Timedelta(days=1)).date())
        t0 = time.perf_counter()
        out = p.run_simulation(nxt, args.days)
        wall = time.perf_counter() - t0
        retrains = out.count(" retrain (")
        per_min = args.days / (wall / 60)
        alerts = "off" if args.no_alerts else "on"
        say(
            f"## fast-forward: {args.days} days from {nxt} ({retrains} retrain(s), alerts {alerts})"
        )
        say(
            f"  wall {wall:.0f} s (worker start-up included): {per_min:.2f} simulated days per minute"
        )
        say(f"  28-day simulation ≈ {28 / per_min:.1f} min (target < 10 min)")


if __name__ == "__main__":
    main()
