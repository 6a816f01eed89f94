"""The intraday benchmark keeps running on a tiny setting (figures printed, never asserted)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.slow
def test_intraday_benchmark_prints_its_table(run_bench: Callable[..., str], tmp_path: Path) -> None:
    args = ["--quick", "--years", "2019", "--out", str(tmp_path)]
    out = run_bench("intraday.py", *args, tmpdir=True, dev_data=True)
    for label in ("## intraday", "ORACLE", "MAPE 0–6 h %", "MAPE day-ahead %", "RTE intraday 20:00",
                  "peak-hour hit", "crossover to the day-ahead issue", "served (day-ahead after",
                  "### targets", "whole benchmark"):  # fmt: skip
        assert label in out, label
    assert (tmp_path / "intraday.md").is_file()


@pytest.mark.slow
def test_intraday_validation_prints_the_candidates(
    run_bench: Callable[..., str], tmp_path: Path
) -> None:
    """``--validate``: the candidate settings on a validation year, and the winner."""
    args = ["--validate", "--quick", "--years", "2018", "--lead-weights", "none,3"]
    out = run_bench("intraday.py", *args, "--out", str(tmp_path), tmpdir=True, dev_data=True)
    for label in ("model selection on the validation years", "error columns", "lead_weight_h",
                  "EDIP 18:00→20:00 %", "winner:", "day_ahead_after_h:",
                  "MAPE all re-issues %", "served (day-ahead after"):  # fmt: skip
        assert label in out, label
    assert (tmp_path / "validation.md").is_file()


def test_intraday_validation_refuses_the_test_years() -> None:
    """A setting is never chosen on 2019/2020: ``--validate`` refuses them before any work."""
    script = Path(__file__).with_name("intraday.py")
    args = [sys.executable, str(script), "--validate", "--years", "2018,2020"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "not the test years" in proc.stderr
