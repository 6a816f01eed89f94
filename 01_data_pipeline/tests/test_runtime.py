"""Threads follow the CPUs the process may use, set once, exported to the libraries and children."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from edip_pipeline.runtime import available_cpus, cgroup_cpu_limit


def _cgroup(tmp_path: Path, proc: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A cgroup tree under ``tmp_path/fs`` and a ``/proc/self/cgroup`` file saying ``proc``."""
    root = tmp_path / "fs"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    proc_file = tmp_path / "cgroup"
    proc_file.write_text(proc)
    return root, proc_file


def test_cgroup_v2_quota_is_the_tightest_of_the_process_and_its_parents(tmp_path: Path) -> None:
    root, proc = _cgroup(
        tmp_path,
        "0::/system.slice/job.scope\n",
        {
            "cpu.max": "max 100000\n",
            "system.slice/cpu.max": "300000 100000\n",
            "system.slice/job.scope/cpu.max": "150000 100000\n",
        },
    )
    assert cgroup_cpu_limit(root, proc) == pytest.approx(1.5)
    # a 1.5-CPU quota runs 2 threads (throttled), never more than the affinity mask allows
    assert available_cpus(root, proc) == min(2, len(os.sched_getaffinity(0)))


def test_cgroup_v2_without_a_limit_and_v1_cfs_quota(tmp_path: Path) -> None:
    root, proc = _cgroup(tmp_path, "0::/\n", {"cpu.max": "max 100000\n"})
    assert cgroup_cpu_limit(root, proc) is None
    assert available_cpus(root, proc) == len(os.sched_getaffinity(0))
    v1 = {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "100000\n",
          "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
          "cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}  # fmt: skip
    root, proc = _cgroup(tmp_path / "v1", "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n", v1)
    assert cgroup_cpu_limit(root, proc) == pytest.approx(1.0)
    assert available_cpus(root, proc) == 1
    # unreadable or absent files: no limit rather than an error
    assert cgroup_cpu_limit(tmp_path / "none", tmp_path / "no-proc-file") is None


PROBE = """
import json, os
import edip_ml  # configures the runtime before LightGBM loads
import lightgbm
from threadpoolctl import threadpool_info
from edip_ml.models.boosting import LightGBMForecaster
from edip_pipeline.runtime import configure
pools = {p["internal_api"]: p["num_threads"] for p in threadpool_info()}
model = LightGBMForecaster()._build()
print(json.dumps({"runtime": configure().__dict__, "pools": pools, "n_jobs": model.n_jobs,
                  "env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY")}}))
"""


def _probe(**env: str) -> dict[str, Any]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "EDIP_", "KMP_"))}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout  # fmt: skip
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs to tell 1 from all")
def test_edip_threads_sizes_every_pool_and_openmp_threads_sleep() -> None:
    one = _probe(EDIP_THREADS="1")
    assert one["runtime"] == {
        "threads": 1,
        "fit_threads": 1,
        "cpus": available_cpus(),
        "wait_policy": "PASSIVE",
        "source": "EDIP_THREADS",
    }
    assert one["env"] == {"OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    assert one["n_jobs"] == 1  # the fit's own switch, not only the environment
    assert one["pools"]
    assert set(one["pools"].values()) == {1}
    default = _probe()
    assert default["runtime"]["threads"] == available_cpus()
    assert default["runtime"]["source"] == "available CPUs"
    assert default["n_jobs"] == 1  # one thread per tree fit (runtime.py says why)
    two = _probe(EDIP_FIT_THREADS="2", EDIP_THREADS="1")
    assert two["n_jobs"] == 1  # never more than the process's threads
    # the old behaviour stays reachable (the contention benchmark's "before")
    spinning = _probe(EDIP_OMP_WAIT_POLICY="library", OMP_NUM_THREADS="2")
    assert spinning["env"] == {"OMP_NUM_THREADS": "2", "OMP_WAIT_POLICY": None}
    assert spinning["runtime"]["source"] == "OMP_NUM_THREADS"
