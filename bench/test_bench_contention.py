"""The contention benchmark keeps running on tiny sizes (figures printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_contention_benchmark_prints_every_slowdown(tmp_path: Path) -> None:
    script = Path(__file__).with_name("contention.py")
    args = ["--months", "1", "--trees", "5", "--settings", "new,old"]
    args += ["--data-dir", str(tmp_path / "data")]
    out = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=600,  # a guard on a loaded machine, not a speed target
        check=True,
    ).stdout
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
