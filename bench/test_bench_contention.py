"""The contention benchmark keeps running on tiny sizes (figures printed, never asserted)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.slow
def test_contention_benchmark_prints_every_slowdown(
    run_bench: Callable[..., str], tmp_path: Path
) -> None:
    args = ["--months", "1", "--trees", "5", "--settings", "new,old"]
    out = run_bench("contention.py", *args, "--data-dir", str(tmp_path / "data"), timeout=600)
    rows = [line for line in out.splitlines() if line.startswith(("| new |", "| old |"))]
    for setting in ("new", "old"):
        for scenario, job in (("alone", "lightgbm"), ("two identical at once", "lightgbm#1"),
                              ("two identical at once", "lightgbm#2"),
                              ("beside an XGBoost training", "lightgbm#1")):  # fmt: skip
            assert any(r.startswith(f"| {setting} | {scenario} | {job} |") for r in rows), (
                setting,
                scenario,
                job,
            )
    assert all(r.endswith(("x |", "✓ |", "✗ |")) for r in rows)
    assert "fair share 2.0x" in out
    assert "load average" in out
