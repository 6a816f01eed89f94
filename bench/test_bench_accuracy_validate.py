"""``bench/accuracy.py --validate`` refuses the test years and runs on a validation year."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

BENCH = Path(__file__).with_name("accuracy.py")


def test_validate_refuses_a_test_year(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--validate", "--years", "2018,2019", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if "development files absent" in proc.stdout:
        pytest.skip("development data absent: the benchmark skipped before validating")
    assert proc.returncode != 0
    assert "not the test years" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_validate_prints_the_selection_figure(
    run_bench: Callable[..., str], tmp_path: Path
) -> None:
    args = ["--validate", "--quick", "--years", "2017", "--weather", "daily", "--models",
            "gam,gam_kalman", "--save", "--name", "smoke", "--out", str(tmp_path)]  # fmt: skip
    out = run_bench("accuracy.py", *args, tmpdir=True, dev_data=True)
    for label in ("selection figure", "ORACLE", "vs RTE (same instants, 20:00)",
                  "vs RTE (all hours vs 20:00 anchor)"):  # fmt: skip
        assert label in out, label
    folder = tmp_path / "validation" / "smoke"
    assert (folder / "validation.md").is_file()
    assert (folder / "forecasts_daily_2017.parquet").is_file()
