"""The pipeline benchmark keeps running (its figures are printed, never asserted as timings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.slow
def test_pipeline_benchmark_prints_its_figures(
    run_bench: Callable[..., str], tmp_path: Path
) -> None:
    out = run_bench("pipeline.py", "--keep", str(tmp_path / "data"), timeout=300)
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
