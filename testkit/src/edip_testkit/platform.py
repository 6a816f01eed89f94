"""The real EDIP platform for tests and benchmarks: a sample store, MLflow with a champion, the API.

Why a test-support package and not a conftest: the API's tests, the dashboard's tests, the
loop's tests and ``bench/api.py`` all need the same three real parts, started the same way; and
not in ``edip_api``, because it trains with ``edip_ml``, which the serving package must not import. Each is a context
manager that cleans up after itself::

    with sample_store(tmp / "data") as store, mlflow_with_champion(tmp / "mlflow", store) as reg:
        with running_api(platform_env(store, reg, tmp / "edip_log.db")) as api:
            httpx.get(f"{api.url}/v1/forecast", params={"origin": "2020-12-10T12:00:00+01:00"})

or all at once: ``with api_platform(tmp) as platform: platform.api.url``.

Only :func:`mlflow_with_champion` / :func:`train_champion` need ``edip_ml`` (training); they import
it lazily. Nothing here is used by the service itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from edip_pipeline.processes import free_port, stop_process_group
from edip_pipeline.registry_names import REGISTERED_MODEL

if TYPE_CHECKING:
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: the demo's periods: trained up to the end of November 2020, December replayed
TRAIN_END = "2020-11-30"
REPLAY_START = "2020-12-04"
REPLAY_END = "2020-12-31"
#: "now" of a replayed period (EDIP_REPLAY_NOW): the sample ends on 2020-12-31
DEFAULT_REPLAY_NOW = "2021-01-01T00:00:00+01:00"
TEST_API_KEY = "edip-test-key"
DEFAULT_MODEL_NAME = REGISTERED_MODEL


def repo_root() -> Path:
    """The monorepo root (the checkout this package is installed from, editable)."""
    from edip_pipeline.config import default_root

    return default_root()


@contextlib.contextmanager
def temporary_env(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the block, restoring the previous values after."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


# ---------------------------------------------------------------------------------------------
# the store
# ---------------------------------------------------------------------------------------------
@contextlib.contextmanager
def sample_store(data_dir: Path, params_file: Path | None = None) -> Iterator[Store]:
    """A pipeline Store at ``data_dir`` holding the bundled sample (éCO2mix 2019–2020).

    Loaded through the real ingest (``edip ingest --source sample`` without Prefect); a directory
    that already holds it is reused as is (the ingest is idempotent). The store is left on disk.
    """
    from edip_pipeline.config import Settings, load_params
    from edip_pipeline.ingest import ingest_dataset
    from edip_pipeline.sources.sample import SAMPLE_DATASET, sample_period
    from edip_pipeline.store import Store

    params_file = params_file or repo_root() / "params.yaml"
    data_dir.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=data_dir, params_file=params_file)
    store = Store(data_dir, load_params(params_file), settings)
    if store.last_timestamp("load_national", "consumption_mw") is None:
        period = sample_period()
        report = ingest_dataset(
            "sample",
            SAMPLE_DATASET,
            start=period.start,
            end=period.end,
            store=store,
            settings=settings,
        )
        if report.error:
            raise RuntimeError(f"sample ingest failed: {report.error}")
    yield store


# ---------------------------------------------------------------------------------------------
# MLflow with a champion
# ---------------------------------------------------------------------------------------------
@dataclass
class Registry:
    """A running MLflow server whose ``model_name`` has a ``champion`` version."""

    url: str
    model_name: str
    champion_version: str
    server: Any  # edip_ml.registry.tracking_server.MlflowServer
    root: Path
    versions: list[str] = field(default_factory=list)

    def env(self) -> dict[str, str]:
        """What the API needs to find this registry."""
        return {"MLFLOW_TRACKING_URI": self.url, "EDIP_MODEL_NAME": self.model_name}


def start_mlflow(root: Path, port: int | None = None, timeout_s: float = 180.0) -> Any:
    """The real ``mlflow server`` (SQLite backend, proxied artifacts under ``root``), on a copy
    of a fresh, already migrated database when one is kept (:mod:`edip_testkit.mlflow_schema`)."""
    from edip_ml.registry.tracking_server import start_server
    from edip_testkit import mlflow_schema

    root.mkdir(parents=True, exist_ok=True)
    db = root / "mlflow.db"
    created = not db.exists() and not mlflow_schema.prepare(db)
    server = start_server(
        "127.0.0.1",
        port or free_port(),
        backend_store_uri=f"sqlite:///{db}",
        artifacts_destination=str(root / "artifacts"),
        log_file=root / "server.log",
        timeout_s=timeout_s,
    )
    if created:
        mlflow_schema.keep(db)
    return server


def train_champion(
    store: Store,
    tracking_uri: str,
    *,
    model_name: str = DEFAULT_MODEL_NAME,
    end: str = TRAIN_END,
    n_estimators: int = 60,
    promote: bool = True,
    max_mape: float = 0.5,
) -> str:
    """Train a small real LightGBM with ``edip_ml``, register it, make it champion; its version.

    ``promote=True`` goes through ``edip_ml.evaluation.promotion.promote`` (evaluated on December, data the
    model never saw; ``max_mape`` is loose: the harness is under test, not the accuracy) and
    then forces the alias if the gate said no, so callers always get a champion.
    """
    from mlflow import MlflowClient

    from edip_ml.evaluation.promotion import promote as ml_promote
    from edip_ml.registry.tracking_server import configure
    from edip_ml.registry.versions import CHAMPION
    from edip_ml.training.train import train_models

    with temporary_env({"MLFLOW_TRACKING_URI": tracking_uri}):
        configure(tracking_uri)
        results = train_models(
            ["lightgbm"],
            end=end,
            store=store,
            model_params={
                "lightgbm": {"n_estimators": n_estimators, "learning_rate": 0.1, "num_leaves": 31}
            },
            backtest_days=7,
            model_name=model_name,
            experiment=f"{model_name}-tests",
        )
        result = results[0]
        if not result.ok or result.version is None:
            raise RuntimeError(f"training the test champion failed: {result.error}")
        if promote:
            decision = ml_promote(
                store, model_name=model_name, window_days=7, max_mape=max_mape, tolerance=10.0
            )
            if not decision.promoted:
                log.warning("promotion said %s; forcing the alias", decision.reason)
                MlflowClient(tracking_uri).set_registered_model_alias(
                    model_name, CHAMPION, result.version
                )
    return result.version


@contextlib.contextmanager
def mlflow_with_champion(
    root: Path,
    store: Store,
    *,
    model_name: str = DEFAULT_MODEL_NAME,
    port: int | None = None,
    n_estimators: int = 60,
) -> Iterator[Registry]:
    """A real MLflow server under ``root`` with a trained, registered, promoted champion.

    The server is stopped when the block exits; its files stay under ``root``.
    """
    server = start_mlflow(root, port)
    try:
        version = train_champion(
            store, server.url, model_name=model_name, n_estimators=n_estimators
        )
        yield Registry(server.url, model_name, version, server, root, [version])
    finally:
        server.stop()


# ---------------------------------------------------------------------------------------------
# the API
# ---------------------------------------------------------------------------------------------
@dataclass
class RunningApi:
    """An ``edip serve`` subprocess (uvicorn) answering at :attr:`url`."""

    url: str
    process: subprocess.Popen[bytes]
    api_key: str
    log_path: Path

    @property
    def headers(self) -> dict[str, str]:
        """The API-key header of the protected endpoints."""
        return {"X-API-Key": self.api_key}

    def client(self, timeout_s: float = 30.0) -> httpx.Client:
        """An httpx client on the API, with the key set."""
        return httpx.Client(base_url=self.url, headers=self.headers, timeout=timeout_s)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.is_file() else ""

    def stop(self, timeout_s: float = 60.0) -> int:
        """Graceful stop (SIGTERM: uvicorn runs the lifespan shutdown, the log writer drains)."""
        return stop_process_group(self.process, timeout_s)


def serve_command(port: int, host: str = "127.0.0.1", workers: int = 1) -> list[str]:
    """``edip serve`` with the interpreter running this code (works without the script on PATH)."""
    return [
        sys.executable,
        "-m",
        "edip_api.cli",
        "serve",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-reload",
    ]


def wait_ready(
    url: str,
    *,
    timeout_s: float = 120.0,
    process: subprocess.Popen[bytes] | None = None,
    log_path: Path | None = None,
    require_ready: bool = True,
) -> dict[str, Any]:
    """Poll ``/ready`` until it answers 200 (or any JSON answer if not ``require_ready``)."""
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-4000:] if log_path else ""
            raise RuntimeError(f"API exited with code {process.returncode}:\n{tail}")
        try:
            r = httpx.get(f"{url}/ready", timeout=5)
            last = f"{r.status_code} {r.text[:500]}"
            if r.status_code == 200 or (not require_ready and r.status_code == 503):
                body: dict[str, Any] = r.json()
                return body
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.2)
    tail = log_path.read_text(errors="replace")[-4000:] if log_path else ""
    raise TimeoutError(f"API at {url} not ready within {timeout_s:g}s (last: {last}):\n{tail}")


@contextlib.contextmanager
def running_api(
    settings_env: Mapping[str, str],
    port: int | None = None,
    *,
    workers: int = 1,
    log_path: Path | None = None,
    timeout_s: float = 120.0,
    require_ready: bool = True,
) -> Iterator[RunningApi]:
    """Start ``edip serve`` (real uvicorn) with ``settings_env`` on top of the environment.

    Waits for ``/ready`` (200; with ``require_ready=False`` a 503 answer is enough) and stops it
    gracefully (SIGTERM) on exit. ``settings_env`` holds ``EDIP_*``/``MLFLOW_TRACKING_URI``
    values, e.g. from :func:`platform_env`.
    """
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **settings_env, "PYTHONUNBUFFERED": "1"}
    data_dir = Path(env.get("EDIP_DATA_DIR", "."))
    log_path = log_path or data_dir / f"api-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as sink:
        process = subprocess.Popen(
            serve_command(port, workers=workers),
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(repo_root()),
            start_new_session=True,  # its own process group: workers stop with it
        )
    api = RunningApi(url, process, env.get("EDIP_API_KEY", "edip-dev-key"), log_path)
    try:
        wait_ready(
            url,
            timeout_s=timeout_s,
            process=process,
            log_path=log_path,
            require_ready=require_ready,
        )
        yield api
    finally:
        api.stop()


def platform_env(
    store: Store,
    registry: Registry | None = None,
    database_url: str | Path | None = None,
    *,
    api_key: str = TEST_API_KEY,
    replay_now: str | None = DEFAULT_REPLAY_NOW,
    poll_s: float = 2.0,
    **extra: str,
) -> dict[str, str]:
    """The API's environment for a store, a registry and a log database (path or URL)."""
    if database_url is None:
        url = f"sqlite:///{store.root / 'edip_log.db'}"
    elif isinstance(database_url, Path):
        url = f"sqlite:///{database_url}"
    else:
        url = database_url
    env = {
        "EDIP_ENVIRONMENT": "development",
        "EDIP_DATA_DIR": str(store.root),
        "EDIP_PARAMS_FILE": str(repo_root() / "params.yaml"),
        "EDIP_DATABASE_URL": url,
        "EDIP_API_KEY": api_key,
        "EDIP_MODEL_POLL_S": str(poll_s),
        "EDIP_LOG_SPILL_DIR": str(store.root / "log_spill"),
    }
    if registry is not None:
        env.update(registry.env())
    else:  # nothing listens there: the API serves its fallback
        env["MLFLOW_TRACKING_URI"] = f"http://127.0.0.1:{free_port()}"
    if replay_now:
        env["EDIP_REPLAY_NOW"] = replay_now
    env.update(extra)
    return env


@dataclass
class Platform:
    """Everything :func:`api_platform` started."""

    store: Store
    registry: Registry
    api: RunningApi
    env: dict[str, str]


@contextlib.contextmanager
def api_platform(
    root: Path,
    *,
    port: int | None = None,
    workers: int = 1,
    database_url: str | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[Platform]:
    """Sample store + MLflow with a champion + the API, all real, under ``root``."""
    with (
        sample_store(root / "data") as store,
        mlflow_with_champion(root / "mlflow", store) as registry,
    ):
        settings_env = platform_env(store, registry, database_url)
        settings_env.update(extra_env or {})
        with running_api(settings_env, port, workers=workers) as api:
            yield Platform(store, registry, api, settings_env)
