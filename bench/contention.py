"""Contention benchmark: does a LightGBM backtest keep its fair share when other jobs run?

One day-ahead LightGBM backtest on the bundled sample (monthly refits from 2020-01, trained on
2019 onwards; load only) runs, each time in its own process:

* **alone**;
* **two identical at once** (both slowdowns printed);
* **beside an XGBoost training** (a process fitting XGBoost on the same features in a loop
  until the backtest ends).

Slowdown = the backtest's wall time / its time alone. Two CPU-bound jobs on the same cores get
half the CPU each, so the **fair share is 2x** (at most; single-threaded jobs on 2 cores do not
compete at all); the target is ≤ 2.5x. Everything runs with each setting: ``new``, today's
(``edip_pipeline.runtime``: one thread per tree fit, idle OpenMP threads sleep), ``passive-2``
(two sleeping threads per fit: why one is the default) and ``old`` (two threads per fit with the
OpenMP runtime's default spinning waits) for the before figure. Only the fits are timed: every process imports and builds
its features first, then all start together.

    python bench/contention.py [--months 3] [--trees 500] [--settings new,passive-2,old]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("bench.contention")

FAIR = 2.0
TARGET = 2.5
#: environment of each setting (applied on top of a copy cleared of thread variables)
SETTINGS: dict[str, dict[str, str]] = {
    "new": {},  # the runtime's defaults
    "passive-2": {"EDIP_FIT_THREADS": "2"},  # threads = CPUs per fit, sleeping: why not default
    "old": {"EDIP_THREADS": "2", "EDIP_FIT_THREADS": "2", "EDIP_OMP_WAIT_POLICY": "library"},
}
CLEARED = ("OMP_", "KMP_", "EDIP_THREADS", "EDIP_FIT_THREADS", "EDIP_OMP_WAIT_POLICY", "GOMP_")
CLEARED_EXACT = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
                 "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")  # fmt: skip


@dataclass
class Job:
    """A worker process started with ``--worker KIND``, waiting for ``go`` on its stdin."""

    name: str
    proc: subprocess.Popen[str]


def _env(setting: str, data_dir: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(CLEARED) and k not in CLEARED_EXACT
    }
    return {**env, **SETTINGS[setting], "EDIP_DATA_DIR": str(data_dir)}


def _start(kind: str, name: str, setting: str, args: argparse.Namespace) -> Job:
    cmd = [sys.executable, __file__, "--worker", kind, "--months", str(args.months),
           "--trees", str(args.trees)]  # fmt: skip
    proc = subprocess.Popen(
        cmd,
        env=_env(setting, args.data_dir),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return Job(name, proc)


def _readline(job: Job) -> str:
    assert job.proc.stdout is not None
    line = job.proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{job.name}: worker exited ({job.proc.wait()}) before answering")
    return line.strip()


def run_scenario(setting: str, kinds: list[str], args: argparse.Namespace) -> dict[str, float]:
    """Start the workers, release them together once all are ready, return each backtest's fit
    seconds (an XGBoost worker is stopped when the backtests are done)."""
    jobs = [_start(kind, f"{kind}#{i + 1}", setting, args) for i, kind in enumerate(kinds)]
    try:
        for job in jobs:
            if _readline(job) != "ready":
                raise RuntimeError(f"{job.name}: unexpected answer")
        for job in jobs:
            assert job.proc.stdin is not None
            job.proc.stdin.write("go\n")
            job.proc.stdin.flush()
        seconds = {
            job.name: float(json.loads(_readline(job))["seconds"])
            for job in jobs
            if job.name.startswith("lightgbm")
        }
    finally:
        for job in jobs:
            if job.proc.poll() is None:
                job.proc.terminate()
            job.proc.wait(timeout=60)
    return seconds


def _worker_lightgbm(months: int, trees: int) -> None:
    """Build the sample's features, wait for ``go``, time the backtest's fits, print seconds."""
    import pandas as pd

    from edip_ml.config import load_ml_params
    from edip_ml.data.training_data import load_training_data
    from edip_ml.evaluation.backtest import backtest
    from edip_pipeline.store import Store

    store = Store()
    params = load_ml_params().with_overrides(
        {"lightgbm": {"n_estimators": trees}, "combination": {"enabled": False}}
    )
    data = load_training_data(store, params, weather="none", protocol="day-ahead")
    end = (pd.Timestamp("2020-01-01") + pd.DateOffset(months=months) - pd.Timedelta("1D")).date()
    print("ready", flush=True)  # noqa: T201
    sys.stdin.readline()
    t0 = time.perf_counter()
    backtest(store, ["lightgbm"], "2020-01-01", str(end), "day-ahead", params,
             weather="none", baselines=[], progress=False, data=data)  # fmt: skip
    print(json.dumps({"seconds": time.perf_counter() - t0}), flush=True)  # noqa: T201


def _worker_xgboost(trees: int) -> None:
    """Fit XGBoost on the sample's 2019 features again and again until terminated."""
    import xgboost as xgb

    from edip_ml.config import load_ml_params
    from edip_ml.data.training_data import load_training_data
    from edip_pipeline.runtime import fit_threads
    from edip_pipeline.store import Store

    params = load_ml_params()
    data = load_training_data(Store(), params, weather="none", protocol="day-ahead")
    X, y, _ = data.xy("2019-01-15", "2019-12-31")
    n_jobs = params.xgboost.n_jobs or fit_threads()
    print("ready", flush=True)  # noqa: T201
    sys.stdin.readline()
    while True:
        xgb.XGBRegressor(n_estimators=trees, tree_method="hist", n_jobs=n_jobs).fit(X, y)


def prepare_store(data_dir: Path) -> None:
    """The bundled sample in a fresh store (the user's data/ is never touched)."""
    os.environ["EDIP_DATA_DIR"] = str(data_dir)
    from edip_pipeline.config import reset_settings_cache
    from edip_pipeline.sources.sample import sample_frame
    from edip_pipeline.store import Store

    reset_settings_cache()
    Store().write("load_national", sample_frame())


def _row(setting: str, scenario: str, name: str, seconds: float, alone: float) -> str:
    ratio = seconds / alone
    mark = "" if scenario == "alone" else (" ✓" if ratio <= TARGET else " ✗")
    return f"| {setting} | {scenario} | {name} | {seconds:.1f} | {ratio:.2f}x{mark} |"


def run(args: argparse.Namespace) -> None:
    from edip_pipeline.runtime import available_cpus

    prepare_store(args.data_dir)
    scenarios = {
        "alone": ["lightgbm"],
        "two identical at once": ["lightgbm", "lightgbm"],
        "beside an XGBoost training": ["lightgbm", "xgboost"],
    }
    print(f"\n## contention: LightGBM backtest 2020-01..{args.months:02d} on the sample, "  # noqa: T201
          f"{args.trees} trees, {available_cpus()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at start")  # fmt: skip
    print("\n| settings | scenario | job | seconds | slowdown |\n|---|---|---|---|---|")  # noqa: T201
    for setting in args.settings:
        alone = run_scenario(setting, scenarios["alone"], args)["lightgbm#1"]
        print(_row(setting, "alone", "lightgbm", alone, alone), flush=True)  # noqa: T201
        for scenario, kinds in list(scenarios.items())[1:]:
            for name, seconds in run_scenario(setting, kinds, args).items():
                print(_row(setting, scenario, name, seconds, alone), flush=True)  # noqa: T201
    print(f"\nfair share {FAIR:.1f}x, target ≤ {TARGET:.1f}x; settings: new = "  # noqa: T201
          "edip_pipeline.runtime (1 thread per tree fit, OMP_WAIT_POLICY=PASSIVE), passive-2 = "
          "2 sleeping threads per fit, old = 2 spinning threads per fit (the OpenMP default);"
          f" seconds compare across settings; load average {os.getloadavg()[0]:.2f} at the end")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--months", type=int, default=3, help="Test months from 2020-01.")
    parser.add_argument("--trees", type=int, default=500, help="LightGBM/XGBoost rounds.")
    parser.add_argument(
        "--settings", default="new,passive-2,old", help=f"Comma list of {sorted(SETTINGS)}."
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="Store (default: temp).")
    parser.add_argument("--worker", choices=["lightgbm", "xgboost"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "lightgbm":
        return _worker_lightgbm(args.months, args.trees)
    if args.worker == "xgboost":
        return _worker_xgboost(args.trees)
    logging.basicConfig(level=logging.WARNING)
    args.settings = [s for s in args.settings.split(",") if s]
    if unknown := set(args.settings) - set(SETTINGS):
        parser.error(f"unknown settings {sorted(unknown)}; choose among {sorted(SETTINGS)}")
    args.data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="edip-bench-contention-"))
    run(args)


if __name__ == "__main__":
    main()
