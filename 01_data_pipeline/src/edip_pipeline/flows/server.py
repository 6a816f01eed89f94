"""One Prefect server for a long command (``edip live simulate``, ``edip live up``), or none.

Why: with ``PREFECT_API_URL`` unset, Prefect starts a temporary server for the process. On a busy
machine it did not answer in time ("Timed out while attempting to connect to ephemeral Prefect API
server"), so a loop run was lost; and servers started that way outlived their commands. A long
command now starts one server itself, waits for it once (a generous budget), runs every flow
against it and stops it when the command ends — also when the command is killed: the server gets
SIGTERM when its parent dies. When it does not come up, the caller runs its flows without Prefect
after one warning (the work is the same, only the UI record is lost), as ``edip ingest`` does.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
from prefect.settings import PREFECT_API_URL, get_current_settings, temporary_settings

from edip_pipeline.processes import stop_process_group

log = logging.getLogger(__name__)

#: seconds a started server may take to answer (a loaded 2-core machine needs a minute)
STARTUP_S = 180.0
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class PrefectServer:
    """The server the command's flows run against (``pid`` None: one configured elsewhere)."""

    url: str
    pid: int | None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child, between fork and exec
    """Ask Linux to SIGTERM the server when the command that started it dies (even kill -9)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_healthy(url: str, process: subprocess.Popen[bytes], startup_s: float) -> bool:
    deadline = time.monotonic() + startup_s
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return True
        time.sleep(0.5)
    return False


@contextlib.contextmanager
def prefect_server(
    *, startup_s: float = STARTUP_S, services: bool = False
) -> Iterator[PrefectServer | None]:
    """The configured Prefect API, else one server started for the block; ``None`` if it failed.

    ``services``: run Prefect's scheduler and other services too (``edip live up`` needs them
    to schedule deployments; a simulation calls its flows directly and does without).
    """
    configured = get_current_settings().api.url
    if configured:
        yield PrefectServer(str(configured), None)
        return
    from edip_pipeline.processes import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}/api"
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1",
               "--port", str(port), *([] if services else ["--no-services"])]  # fmt: skip
    env = {**os.environ, "PREFECT_SERVER_ANALYTICS_ENABLED": "false"}
    with tempfile.TemporaryFile() as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, env=env, preexec_fn=_die_with_parent
        )
        try:
            if not _wait_healthy(url, process, startup_s):
                sink.seek(0)
                tail = sink.read()[-600:].decode(errors="replace").strip().splitlines()
                log.warning(
                    "the Prefect server did not answer within %g s (%s): flows run without Prefect",
                    startup_s,
                    tail[-1] if tail else "no output",
                )
                yield None
                return
            log.info("Prefect server for this command: %s (pid %d)", url, process.pid)
            previous = os.environ.get("PREFECT_API_URL")
            os.environ["PREFECT_API_URL"] = url
            try:
                with temporary_settings(updates={PREFECT_API_URL: url}):
                    yield PrefectServer(url, process.pid)
            finally:
                if previous is None:
                    os.environ.pop("PREFECT_API_URL", None)
                else:
                    os.environ["PREFECT_API_URL"] = previous
        finally:
            stop_process_group(process, 30.0, group=False)
