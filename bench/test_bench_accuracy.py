"""The accuracy benchmark keeps running on a tiny setting (figures printed, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: the development data (``EDIP_SHARED_DATA`` overrides it, e.g. from a git worktree elsewhere)
SHARED = Path(
    os.environ.get("EDIP_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared/data"
)


@pytest.mark.slow
def test_accuracy_benchmark_prints_its_table(tmp_path: Path) -> None:
    script = Path(__file__).with_name("accuracy.py")
    args = ["--quick", "--years", "2019", "--models", "gam,gam_kalman", "--out", str(tmp_path)]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=900,  # a guard on a loaded machine, not a speed target
        check=True,
        env=env,
    ).stdout
    if not (SHARED / "odre").is_dir():
        assert "skipped — development files absent" in out
        pytest.skip(f"development data absent under {SHARED}: the benchmark skipped cleanly")
    for label in ("## accuracy", "ORACLE", "load only", "RTE D-1 20:00 %", "combination", "wall s",
                  "gam_kalman", "### monthly bias", "### targets", "whole benchmark",
                  "scored against:", "load_national/consumption_mw"):  # fmt: skip
        assert label in out, label
    assert (tmp_path / "accuracy.md").is_file()
