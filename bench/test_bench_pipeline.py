"""The pipeline benchmark keeps running (its figures are printed, never asserted as timings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_pipeline_benchmark_prints_its_figures(tmp_path: Path) -> None:
    script = Path(__file__).with_name("pipeline.py")
    out = subprocess.run(
        [sys.executable, str(script), "--keep", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    for label in (
        "parse (--from-file)",
        "clean + validate + store",
        "featurise",
        "FULL HISTORY",
        "parse SYNOP",
        "HISTORY + HOURLY TEMPERATURE",
        "one-day incremental update",
        "data version",
    ):
        assert label in out
    assert (tmp_path / "data/processed/features_day_ahead.parquet").is_file()
