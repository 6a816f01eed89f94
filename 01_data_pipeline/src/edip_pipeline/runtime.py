"""Threads per process, set once and early, so that jobs running together share the CPUs.

Why: LightGBM, XGBoost, torch and BLAS each start a thread pool. Sized to the whole machine and
left to spin at every OpenMP barrier (the libraries' default), two such jobs on the same cores
do not run at half speed each but collapse (10-90x measured on 2 cores): each barrier waits for a
thread that is not scheduled while its partner burns the slice spinning. So every EDIP process
(the ``edip`` CLI, the trainers, the benchmarks) calls :func:`configure` before the libraries
load, which

* sizes every pool to the CPUs this process may really use (:func:`available_cpus`: the CPU
  affinity mask and the cgroup CPU quota of a container), or ``EDIP_THREADS``;
* makes idle OpenMP threads sleep instead of spinning (``OMP_WAIT_POLICY=PASSIVE``, and
  ``KMP_BLOCKTIME=0`` for the LLVM/Intel runtime), read by OpenMP when it loads;
* exports both to the environment, so that child processes (Prefect runs, benchmark workers)
  inherit them, and applies the count to the pools already loaded (threadpoolctl, torch).

Parallelism is one level only: a tree-ensemble fit uses :func:`fit_threads` threads (1 by
default: on a virtual machine a sleeping OpenMP thread wakes slowly, and LightGBM's many short
parallel regions made two passive threads slower than one, see the README's Performance
section); torch and BLAS use :func:`threads`. Nothing runs a pool over models or folds on top
of them (a pool of processes would have to divide the CPUs, not multiply them).
"""

from __future__ import annotations

import logging
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

WaitPolicy = Literal["passive", "active", "library"]
#: thread-count variables read by OpenMP, OpenBLAS, MKL, BLIS, Accelerate and numexpr at load
THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")


class RuntimeSettings(BaseSettings):
    """How many threads a process uses and how its idle threads wait (environment, ``EDIP_``)."""

    model_config = SettingsConfigDict(env_prefix="EDIP_", env_file=".env", extra="ignore")

    threads: int | None = Field(
        None,
        ge=1,
        description="Threads of every pool of this process (LightGBM, XGBoost, torch, "
        "BLAS/OpenMP); None = OMP_NUM_THREADS when set, else the CPUs the process may use "
        "(affinity mask and cgroup quota).",
    )
    fit_threads: int | None = Field(
        1,
        ge=1,
        description="Threads of one tree-ensemble fit (LightGBM, XGBoost, RandomForest) when "
        "its n_jobs is not given; None = threads. 1 by default: measured on the 2-core VM "
        "(bench/contention.py), their many short parallel regions make two sleeping threads "
        "slower than one, and spinning ones collapse beside another job.",
    )
    omp_wait_policy: WaitPolicy = Field(
        "passive",
        description="Idle OpenMP threads: 'passive' sleep (no collapse when jobs share the "
        "CPUs), 'active' spin, 'library' leaves the runtime's default (spin, then sleep).",
    )


@dataclass(frozen=True)
class Runtime:
    """What :func:`configure` settled for this process."""

    threads: int
    fit_threads: int
    cpus: int
    wait_policy: str
    source: str


_configured: Runtime | None = None


def _quota_v2(directory: Path) -> float | None:
    """CPUs allowed by ``cpu.max`` in ``directory`` (``"max 100000"``: no limit)."""
    try:
        quota, period = (directory / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _quota_v1(directory: Path) -> float | None:
    """CPUs allowed by ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1: no limit)."""
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        period = int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def _cgroup_dirs(root: Path, proc_cgroup: Path) -> list[tuple[Path, bool]]:
    """The directories holding this process's CPU limits, (path, is_v2), from its cgroup down
    to the root (a limit may sit on any ancestor; inside a container the path is often ``/``)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    dirs: list[tuple[Path, bool]] = []
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":  # v2 unified hierarchy
            bases = [(root, True), (root / "unified", True)]
        elif "cpu" in controllers.split(","):
            bases = [(root / controllers, False), (root / "cpu", False)]
        else:
            continue
        for base, v2 in bases:
            rel = Path(path.lstrip("/"))
            for sub in [rel, *rel.parents]:
                dirs.append((base / sub, v2))
    return dirs or [(root, True), (root / "cpu", False)]


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> float | None:
    """The tightest CPU quota (in CPUs, may be fractional) of this process's cgroups, v2
    ``cpu.max`` or v1 CFS quota; None when none is set or the files are absent."""
    limits = [
        q
        for d, v2 in _cgroup_dirs(root, proc_cgroup)
        if (q := _quota_v2(d) if v2 else _quota_v1(d)) is not None
    ]
    return min(limits) if limits else None


def available_cpus(root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int:
    """CPUs this process may really use: its affinity mask, capped by the cgroup quota (rounded
    up: a 1.5-CPU quota still runs two threads, throttled at 1.5 CPUs), at least 1."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = cgroup_cpu_limit(root, proc_cgroup)
    if quota is not None:
        cpus = min(cpus, math.ceil(quota))
    return max(1, cpus)


def _thread_count(settings: RuntimeSettings, cpus: int) -> tuple[int, str]:
    """EDIP_THREADS, else a valid OMP_NUM_THREADS the user set, else the available CPUs."""
    if settings.threads is not None:
        return settings.threads, "EDIP_THREADS"
    omp = os.environ.get("OMP_NUM_THREADS", "")
    if omp.isdigit() and int(omp) >= 1:
        return int(omp), "OMP_NUM_THREADS"
    return cpus, "available CPUs"


def _export(threads: int, policy: WaitPolicy, policy_given: bool) -> str:
    """Write the variables the libraries read when they load; returns the wait policy in force."""
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    if policy == "library" or ("OMP_WAIT_POLICY" in os.environ and not policy_given):
        return os.environ.get("OMP_WAIT_POLICY", "library default")
    os.environ["OMP_WAIT_POLICY"] = policy.upper()
    os.environ["KMP_BLOCKTIME"] = "0" if policy == "passive" else "200"
    return policy.upper()


def _limit_loaded_pools(threads: int) -> None:
    """Apply the count to the pools already loaded (their libraries read the variables only at
    load); torch only when imported (importing it here would cost seconds)."""
    from threadpoolctl import ThreadpoolController

    ThreadpoolController().limit(limits=threads)
    torch: Any = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def configure(settings: RuntimeSettings | None = None, *, force: bool = False) -> Runtime:
    """Size and export the thread settings of this process, once (later calls return the first
    result unless ``force``); call it before LightGBM, XGBoost or torch are imported."""
    global _configured
    if _configured is not None and not force:
        return _configured
    settings = settings or RuntimeSettings()
    cpus = available_cpus()
    threads, source = _thread_count(settings, cpus)
    given = "omp_wait_policy" in settings.model_fields_set
    policy = _export(threads, settings.omp_wait_policy, given)
    _limit_loaded_pools(threads)
    fit = min(settings.fit_threads or threads, threads)
    _configured = Runtime(
        threads=threads, fit_threads=fit, cpus=cpus, wait_policy=policy, source=source
    )
    log.debug(
        "runtime: %d threads (%s; %d CPUs), %d per tree fit, OpenMP wait %s",
        *(threads, source, cpus, fit, policy),
    )
    return _configured


def threads() -> int:
    """Threads one model fit uses (after :func:`configure`)."""
    return configure().threads


def fit_threads() -> int:
    """Threads one tree-ensemble fit uses (``EDIP_FIT_THREADS``, at most :func:`threads`)."""
    return configure().fit_threads


def with_threads(params: dict[str, Any], key: str = "n_jobs") -> dict[str, Any]:
    """``params`` with ``key`` set to :func:`fit_threads` when absent or None (an explicit
    count given by the user is kept)."""
    return {**params, key: fit_threads()} if params.get(key) is None else params
