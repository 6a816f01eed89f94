"""The DL benchmark keeps running on a tiny setting (figures printed, never asserted as timings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_dl_benchmark_prints_its_figures(tmp_path: Path) -> None:
    script = Path(__file__).with_name("dl.py")
    args = ["--setting", "sample", "--models", "tcn", "--epochs", "1"]
    args += ["--start", "2020-12-01", "--end", "2020-12-10"]
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        timeout=900,  # a guard on a loaded machine, not a speed target
        check=True,
        env=env,
    ).stdout
    for label in (
        "## day-ahead backtest",
        "lightgbm",
        "tcn",
        "CPU s/epoch",
        "no GPU",
        "onnx 24 ms",
    ):
        if label == "no GPU" and "GPU s/epoch" in out and "no GPU" not in out:
            continue  # a machine with CUDA prints its GPU figure instead
        assert label in out, label
    assert "## verdict" in out
    assert "best DL = tcn" in out
