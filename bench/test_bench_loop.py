"""The loop benchmark keeps running on a tiny setting (figures printed, never asserted as timings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_loop_benchmark_prints_its_figures(tmp_path: Path) -> None:
    pytest.importorskip("edip_testkit.platform", reason="the loop benchmark needs the API package")
    script = Path(__file__).with_name("loop.py")
    proc = subprocess.run(
        [sys.executable, str(script), "--days", "1", "--no-alerts", "--keep", str(tmp_path / "b")],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    for label in ("## one day's cycle", "issue-forecast", "simulated days per minute", "28-day"):
        assert label in proc.stdout
    assert (tmp_path / "b/edip_log.db").is_file()
