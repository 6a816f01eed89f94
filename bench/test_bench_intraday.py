"""The intraday benchmark keeps running on a tiny setting (figures printed, never asserted)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SHARED = Path(
    os.environ.get("EDIP_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared/data"
)


@pytest.mark.slow
def test_intraday_benchmark_prints_its_table(tmp_path: Path) -> None:
    script = Path(__file__).with_name("intraday.py")
    args = ["--quick", "--years", "2019", "--out", str(tmp_path)]
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
    for label in ("## intraday", "ORACLE", "MAPE 0–6 h %", "MAPE day-ahead %", "RTE intraday 20:00",
                  "peak-hour hit", "### targets", "whole benchmark"):  # fmt: skip
        assert label in out, label
    assert (tmp_path / "intraday.md").is_file()
