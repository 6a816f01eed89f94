"""Child services (MLflow, uvicorn, Prefect) started by EDIP: free ports, stopping them cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop_process_group(
    process: subprocess.Popen[bytes], timeout_s: float, *, group: bool = True
) -> int:
    """SIGTERM the group (so workers the server forked stop too, gracefully), SIGKILL if it lingers.

    With ``group`` the process must have been started with ``start_new_session=True``; without,
    only the process itself is signalled (a child sharing the caller's group). Returns its exit
    code.
    """

    def send(sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)

    if process.poll() is None:
        send(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL)
            process.wait(timeout=timeout_s)
    return int(process.returncode or 0)
