"""``edip live simulate`` refuses bad input and an unreachable API in one line, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edip_pipeline.cli import app
from edip_pipeline.processes import free_port


def _edip(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--start", "garbage"], "--start 'garbage' is not a date"),
        (
            ["--start", "2020-11-01", "--down", "2020-11-01T10:00/nope"],
            "--down 2020-11-01T10:00/nope",
        ),
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, extra: list[str], needle: str) -> None:
    clock = tmp_path / "clock"
    code, out = _edip("live", "simulate", "--days", "1", "--clock-file", str(clock), *extra)
    assert code == 2, out
    assert needle in " ".join(out.split())
    assert "Traceback" not in out
    assert not clock.exists()  # refused before anything was set up


def test_the_api_down_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """Through the interpreter, as the loop's worker runs it: no traceback, one error line."""
    down = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "edip_ml.live", "simulate", "--start", "2020-11-01", "--days", "1",
         "--clock-file", str(tmp_path / "clock")],
        env={"PATH": "/usr/bin:/bin", "EDIP_LIVE_API_URL": down, "EDIP_DATA_DIR": str(tmp_path),
             "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out
    [line] = [ln for ln in out.splitlines() if ln.startswith("error:")]
    assert f"the API at {down} does not answer" in line
