"""Child services (MLflow, uvicorn, Prefect) started in their own process group, stopped as one."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess


def stop_process_group(process: subprocess.Popen[bytes], timeout_s: float) -> int:
    """SIGTERM the group (so workers the server forked stop too, gracefully), SIGKILL if it lingers.

    The process must have been started with ``start_new_session=True``. Returns its exit code.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=timeout_s)
    return int(process.returncode or 0)
