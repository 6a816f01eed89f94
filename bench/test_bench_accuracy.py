"""The accuracy benchmark keeps running on a tiny setting (figures printed, never asserted)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.slow
def test_accuracy_benchmark_prints_its_table(run_bench: Callable[..., str], tmp_path: Path) -> None:
    args = ["--quick", "--years", "2019", "--models", "gam,gam_kalman", "--out", str(tmp_path)]
    out = run_bench("accuracy.py", *args, tmpdir=True, dev_data=True)
    for label in ("## accuracy", "ORACLE", "load only", "RTE D-1 20:00 %", "combination", "wall s",
                  "gam_kalman", "### monthly bias", "### targets", "whole benchmark",
                  "scored against:", "load_national/consumption_mw"):  # fmt: skip
        assert label in out, label
    assert (tmp_path / "accuracy.md").is_file()
