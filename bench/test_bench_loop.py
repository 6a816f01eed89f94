"""The loop benchmark keeps running on a tiny setting (figures printed, never asserted as timings)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_loop_benchmark_prints_its_figures(run_bench: Callable[..., str], tmp_path: Path) -> None:
    pytest.importorskip("edip_testkit.platform", reason="the loop benchmark needs the API package")
    out = run_bench("loop.py", "--days", "1", "--no-alerts", "--keep", str(tmp_path / "b"))
    for label in ("## one day's cycle", "issue-forecast", "simulated days per minute", "28-day"):
        assert label in out
    assert (tmp_path / "b/edip_log.db").is_file()
