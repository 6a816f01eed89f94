"""A service's whole process group stops, gracefully or, when it ignores SIGTERM, by force."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from edip_pipeline.processes import stop_process_group

# A parent that forks a child and waits: the group must stop with both gone.
PARENT = "import subprocess, sys, time; c = subprocess.Popen([sys.executable, '-c', {child!r}]); print(c.pid, flush=True); time.sleep(60)"


def _start(child: str) -> tuple[subprocess.Popen[bytes], int]:
    process = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(child=child)],
        stdout=subprocess.PIPE,
        start_new_session=True,
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def _alive(pid: int, wait_s: float = 5.0) -> bool:
    """Whether ``pid`` still runs after up to ``wait_s`` (a zombie awaiting its reaper counts as gone)."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().split()[2] == "Z":
                    return False
        except FileNotFoundError:
            return False
        time.sleep(0.05)
    return True


def test_sigterm_stops_the_group() -> None:
    process, child = _start("import time; time.sleep(60)")
    assert stop_process_group(process, timeout_s=10) == -signal.SIGTERM
    assert not _alive(child)


def test_a_group_ignoring_sigterm_is_killed() -> None:
    ignore = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", ignore], start_new_session=True)
    time.sleep(0.5)  # let it install the handler
    assert stop_process_group(process, timeout_s=1) == -signal.SIGKILL


def test_an_exited_process_keeps_its_code() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", "raise SystemExit(3)"], start_new_session=True
    )
    process.wait()
    assert stop_process_group(process, timeout_s=1) == 3
