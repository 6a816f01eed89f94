"""The MLflow tracking server: where it is, how to start it, how to wait for it.

The server is the real ``mlflow server`` (SQLite backend, proxied local artifact root), started
as a subprocess by :func:`start_server` (``edip mlflow``, the tests, the test kit); clients find it
through ``MLFLOW_TRACKING_URI`` (default ``http://127.0.0.1:5000``). What a training run records
there is :mod:`edip_ml.registry.tracking`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from edip_pipeline.processes import stop_process_group

log = logging.getLogger(__name__)

DEFAULT_TRACKING_URI = "http://127.0.0.1:5000"


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------
def tracking_uri() -> str:
    """``MLFLOW_TRACKING_URI`` or the local server's default address."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def configure(uri: str | None = None) -> str:
    """Point the mlflow client (tracking and registry) at ``uri`` (default :func:`tracking_uri`)."""
    import mlflow

    target = uri or tracking_uri()
    mlflow.set_tracking_uri(target)
    mlflow.set_registry_uri(target)
    return target


# ---------------------------------------------------------------------------------------------
# the server
# ---------------------------------------------------------------------------------------------
@dataclass
class MlflowServer:
    """A running ``mlflow server`` subprocess (stop it with :meth:`stop` or as a context manager)."""

    process: subprocess.Popen[bytes]
    url: str
    log_path: Path | None = None

    def stop(self, timeout_s: float = 20.0) -> None:
        """Terminate the server and its worker (it runs in its own process group)."""
        stop_process_group(self.process, timeout_s)

    def __enter__(self) -> MlflowServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _sqlite_path(uri: str) -> Path | None:
    prefix = "sqlite:///"
    return Path(uri[len(prefix) :]) if uri.startswith(prefix) else None


def server_command(
    host: str,
    port: int,
    backend_store_uri: str,
    artifacts_destination: str,
    workers: int = 1,
) -> list[str]:
    """The ``python -m mlflow server`` command line (proxied artifacts, one worker)."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--backend-store-uri",
        backend_store_uri,
        "--artifacts-destination",
        artifacts_destination,
        "--serve-artifacts",
        "--workers",
        str(workers),
    ]


def start_server(
    host: str = "127.0.0.1",
    port: int = 5000,
    backend_store_uri: str = "sqlite:///mlruns/mlflow.db",
    artifacts_destination: str = "mlartifacts",
    *,
    workers: int = 1,
    timeout_s: float = 180.0,
    log_file: Path | None = None,
) -> MlflowServer:
    """Start the real MLflow tracking server and wait until ``/health`` answers.

    ``log_file`` receives the server's output (``None``: inherit the terminal, for ``edip
    mlflow``). Relative SQLite paths and artifact folders are resolved against the working
    directory and created.
    """
    db = _sqlite_path(backend_store_uri)
    if db is not None:
        db = db.resolve()
        db.parent.mkdir(parents=True, exist_ok=True)
        backend_store_uri = f"sqlite:///{db}"
    if "://" not in artifacts_destination:
        artifacts = Path(artifacts_destination).resolve()
        artifacts.mkdir(parents=True, exist_ok=True)
        artifacts_destination = str(artifacts)
    cmd = server_command(host, port, backend_store_uri, artifacts_destination, workers)
    url = f"http://{host}:{port}"
    sink: IO[bytes] | None = None
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        sink = log_file.open("ab")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # MLflow 3's job runner (GenAI scorers: a dozen huey worker processes, ~250 MB each) serves
    # nothing EDIP uses; keep it off unless the environment asks for it
    env.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")
    log.info("starting MLflow server at %s (backend %s)", url, backend_store_uri)
    process = subprocess.Popen(
        cmd,
        stdout=sink,
        stderr=subprocess.STDOUT if sink is not None else None,
        start_new_session=True,  # own process group: stop() ends the worker with it
        env=env,
    )
    if sink is not None:
        sink.close()  # the child holds its own descriptor
    server = MlflowServer(process=process, url=url, log_path=log_file)
    try:
        wait_healthy(url, timeout_s=timeout_s, process=process, log_path=log_file)
    except BaseException:
        server.stop()
        raise
    log.info("MLflow server ready at %s", url)
    return server


def wait_healthy(
    url: str,
    timeout_s: float = 180.0,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
) -> None:
    """Poll ``<url>/health`` until it answers 200; fail early if the server process died."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:] if log_path else ""
            raise RuntimeError(
                f"MLflow server exited with code {process.returncode} before answering:\n{tail}"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.25)
    raise TimeoutError(f"MLflow server at {url} did not answer /health within {timeout_s:g}s")
