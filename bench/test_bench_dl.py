"""The DL benchmark keeps running on a tiny setting (figures printed, never asserted as timings)."""

from __future__ import annotations

from collections.abc import Callable

import pytest


@pytest.mark.slow
def test_dl_benchmark_prints_its_figures(run_bench: Callable[..., str]) -> None:
    args = ["--setting", "sample", "--models", "tcn", "--epochs", "1"]
    args += ["--start", "2020-12-01", "--end", "2020-12-10"]
    out = run_bench("dl.py", *args, tmpdir=True)
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
