"""What the benchmarks' smoke tests share: running a benchmark script as a user would.

Why a fixture: every smoke test runs its script in a fresh interpreter on a tiny setting and reads
what it printed (figures are printed, never asserted as timings); a benchmark on the development
data must skip cleanly — and say so — where that data is absent.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

#: the development data (``EDIP_SHARED_DATA`` overrides it, e.g. from a git worktree elsewhere)
SHARED = Path(
    os.environ.get("EDIP_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared/data"
)


@pytest.fixture
def run_bench(tmp_path: Path) -> Callable[..., str]:
    """Run ``bench/<script>`` with ``args``; its stdout, once it exited 0 (its output tail
    otherwise). ``tmpdir``: its temporary files under the test's ``tmp_path``. ``dev_data``: the
    benchmark reads the development data; where it is absent, check that the script said it
    skipped and skip the test."""

    def run(
        script: str, *args: str, timeout: float = 900, tmpdir: bool = False, dev_data: bool = False
    ) -> str:
        env = {**os.environ, "TMPDIR": str(tmp_path)} if tmpdir else None
        proc = subprocess.run(
            [sys.executable, str(Path(__file__).with_name(script)), *args],
            capture_output=True,
            text=True,
            timeout=timeout,  # a guard on a loaded machine, not a speed target
            env=env,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        if dev_data and not (SHARED / "odre").is_dir():
            assert "skipped — development files absent" in proc.stdout
            pytest.skip(f"development data absent under {SHARED}: the benchmark skipped cleanly")
        return proc.stdout

    return run
