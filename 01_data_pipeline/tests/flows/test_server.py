"""One Prefect server per long command: started and awaited once, never left behind.

Each case runs in its own interpreter without any ``PREFECT_*`` setting (as a user's shell), so
the code under test decides alone whether and how a server starts.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(400)

SCRIPT = """
import logging, sys, time
logging.basicConfig(level=logging.INFO, format="%(message)s")
from prefect import flow
from edip_pipeline.flows.server import prefect_server

@flow(name="edip-server-probe")
def probe() -> int:
    return 42

with prefect_server(startup_s={startup}) as server:
    if server is None:
        print("NONE", probe.fn(), flush=True)
    else:
        print("SERVER", server.url, server.pid, probe(), flush=True)
        if {linger}:
            time.sleep(300)
print("DONE", flush=True)
"""


def _run(tmp_path: Path, startup: float, linger: bool = False) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), EDIP_NO_PLUGINS="1")
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT.format(startup=startup, linger=linger)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _gone(pid: int, wait_s: float = 30.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        status = Path(f"/proc/{pid}/stat")
        if status.is_file() and status.read_text().split()[2] == "Z":
            return True  # exited, awaiting a reaper
        time.sleep(0.2)
    return False


def test_a_server_that_does_not_start_in_time_means_no_prefect_and_one_warning(
    tmp_path: Path,
) -> None:
    out, _ = _run(tmp_path, startup=0.01).communicate(timeout=120)
    assert "NONE 42" in out, out
    assert out.count("flows run without Prefect") == 1, out
    assert "Traceback" not in out


def test_one_server_serves_the_command_and_stops_with_it(tmp_path: Path) -> None:
    process = _run(tmp_path, startup=240)
    out, _ = process.communicate(timeout=300)
    assert process.returncode == 0, out
    [line] = [ln for ln in out.splitlines() if ln.startswith("SERVER")]
    _, url, pid, result = line.split()
    assert url.startswith("http://127.0.0.1:")
    assert result == "42"
    assert _gone(int(pid)), f"the Prefect server {pid} outlived its command"


def test_a_killed_command_takes_its_server_along(tmp_path: Path) -> None:
    process = _run(tmp_path, startup=240, linger=True)
    assert process.stdout is not None
    line = ""
    deadline = time.monotonic() + 300
    while not line.startswith("SERVER") and time.monotonic() < deadline:
        line = process.stdout.readline()
        assert line or process.poll() is None, "the command exited before its server answered"
    pid = int(line.split()[2])
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert _gone(pid), f"the Prefect server {pid} outlived its killed command"
