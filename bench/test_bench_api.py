"""The API benchmark keeps running on a tiny setting (figures printed, never asserted as timings)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.slow
def test_api_benchmark_prints_its_figures_and_loses_no_record(
    run_bench: Callable[..., str], tmp_path: Path
) -> None:
    args = ["--requests", "12", "--warmup", "3", "--cold-requests", "6", "--levels", "1,4"]
    # every scenario and the write-ahead cost still run, on a few requests each (the defaults'
    # 600 spread requests and 3 rounds are the measurement's, not the smoke test's)
    args += ["--spread-origins", "6", "--spread-requests", "12", "--spread-level", "4"]
    args += ["--rounds", "1", "--n-estimators", "20", "--keep", str(tmp_path / "bench")]
    out = run_bench("api.py", *args, timeout=540)
    for label in (
        "## cached:",
        "## cold:",
        "## spread:",
        "## durability cost",
        "API p99 ms",
        "bare req/s",
        "ratio (API/bare req/s)",
    ):
        assert label in out
    # every request of every scenario, warm-ups included, was answered and logged exactly once
    # (the cached and cold scenarios at both levels at least; the spread and write-ahead ones add)
    answered = int(re.search(r"200 answers: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert answered >= 2 * (12 + 3) + 2 * (6 + 1) + 12
    assert "lost records: 0" in out
    assert "records without an accepted request" not in out
    assert (tmp_path / "bench/edip_log.db").is_file()
