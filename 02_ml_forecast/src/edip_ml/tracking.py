"""MLflow plumbing: the tracking server, and everything a training run records.

Why: a registered model must be traceable to the exact code (git commit), data (store manifest
hash), parameters, evaluation (report, metrics, plots) and artifacts (native model, ONNX model with
its feature contract) that produced it, so that ``edip promote`` and the API can trust it.

The server is the real ``mlflow server`` (SQLite backend, proxied local artifact root), started
as a subprocess by :func:`start_server` (``edip mlflow``); clients find it through
``MLFLOW_TRACKING_URI`` (default ``http://127.0.0.1:5000``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import pickle
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edip_ml.onnx_export import model_family, native_estimator
from edip_pipeline.contract import (
    CONTRACT_VERSION,
    HORIZON_GROUPS,
    ONNX_INPUT,
    ONNX_OUTPUT,
    QUANTILES,
)
from edip_pipeline.processes import stop_process_group

if TYPE_CHECKING:
    import onnx

    from edip_ml.models.base import Forecaster
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

DEFAULT_TRACKING_URI = "http://127.0.0.1:5000"
DEFAULT_EXPERIMENT = "edip-day-ahead"
#: artifact names inside a run
NATIVE_MODEL = "model"
ONNX_MODEL = "onnx"
FEATURE_CONTRACT = "feature_contract.json"
#: run tag holding the ONNX logged-model URI (what :func:`edip_ml.registry.register` registers)
ONNX_URI_TAG = "edip.onnx_model_uri"


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


# ---------------------------------------------------------------------------------------------
# provenance helpers
# ---------------------------------------------------------------------------------------------
def git_commit(cwd: Path | None = None) -> str | None:
    """``git rev-parse HEAD`` of the working tree, or ``None`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


def _pin(*packages: str) -> list[str]:
    """Exact requirements for the logged models: skips MLflow's slow requirement inference."""
    pins = []
    for name in packages:
        try:
            pins.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            pins.append(name)
    return pins


def feature_importances(forecaster: Forecaster) -> pd.Series | None:
    """Importances by feature (trees: the model's own; linear: |coef| on scaled inputs)."""
    names = list(forecaster.feature_names)
    model = native_estimator(forecaster)
    if model is None:
        column = getattr(forecaster, "column", None)
        if isinstance(column, str) and column in names:
            return pd.Series(1.0, index=[column], name="importance")
        return None
    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    out_names = names
    if hasattr(model, "steps") and len(model.steps) > 1:
        # the imputer drops all-NaN columns: ask the pipeline which columns reach the estimator
        with contextlib.suppress(Exception):
            out_names = [str(c) for c in model[:-1].get_feature_names_out(names)]
    values: np.ndarray | None = None
    if hasattr(estimator, "feature_importances_"):
        values = np.asarray(estimator.feature_importances_, dtype=float)
    elif hasattr(estimator, "coef_"):
        values = np.abs(np.ravel(np.asarray(estimator.coef_, dtype=float)))
    if values is None or len(values) != len(out_names):
        return None
    return pd.Series(values, index=out_names, name="importance").sort_values(ascending=False)


def _importance_figure(importances: pd.Series, model_name: str) -> Any:
    import plotly.graph_objects as go

    top = importances.head(30)[::-1]
    fig = go.Figure(go.Bar(x=top.to_numpy(), y=list(top.index), orientation="h"))
    fig.update_layout(
        title=f"{model_name}: feature importances (top {len(top)})",
        height=max(300, 22 * len(top) + 120),
        margin={"l": 220},
    )
    return fig


def _flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flat_params(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            out[name] = text[:6000]
    return out


def feature_contract(forecaster: Forecaster) -> dict[str, Any]:
    """The serving contract as JSON: what the API feeds the ONNX model, in which order."""
    return {
        "edip_contract": CONTRACT_VERSION,
        "model_name": forecaster.name,
        "input": {
            "name": ONNX_INPUT,
            "dtype": "float32",
            "shape": [None, len(forecaster.feature_names)],
        },
        "output": {"name": ONNX_OUTPUT, "dtype": "float32", "shape": [None, len(QUANTILES)]},
        "quantiles": list(QUANTILES),
        "horizon_groups": list(HORIZON_GROUPS),
        "feature_names": list(forecaster.feature_names),
        "conformal_offsets": np.asarray(forecaster.offsets, dtype=float).tolist(),
        "feature_params": forecaster.feature_params,
    }


# ---------------------------------------------------------------------------------------------
# logging a training run
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoggedRun:
    """What :func:`log_training_run` recorded (the registry registers ``onnx_model_uri``)."""

    run_id: str
    experiment_id: str
    onnx_model_uri: str
    native_model_uri: str | None


def log_training_run(
    forecaster: Forecaster,
    onnx_model: onnx.ModelProto,
    *,
    X_example: pd.DataFrame,
    params: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    weather_source: str = "none",
    store: Store | None = None,
    report_files: Iterable[Path] = (),
    plot_files: Iterable[Path] = (),
    figures: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
    parity_mw: float | None = None,
    experiment: str = DEFAULT_EXPERIMENT,
    run_name: str | None = None,
) -> LoggedRun:
    """Record one trained forecaster in MLflow (one run); raise on any failure.

    Logs parameters (``params`` plus the model's ``model.*`` hyper-parameters), finite
    ``metrics``, tags (weather source, data version, git commit, family, parity), the report
    files under ``report/``, plots (files and plotly ``figures``) under ``plots/``, feature
    importances (CSV + HTML), the store manifest under ``data/``, the native model (its MLflow
    flavour, a pickle for baselines) plus the pickled forecaster with its conformal offsets, and
    the ONNX model with signature, input example and ``feature_contract.json``. The run ends
    FAILED if anything raises, and nothing is registered here.
    """
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    mlflow.set_experiment(experiment)
    family = model_family(forecaster)
    n_features = len(forecaster.feature_names)
    all_tags = {
        "edip.model": forecaster.name,
        "edip.family": family,
        "edip.contract": CONTRACT_VERSION,
        "weather_source": weather_source,
        "git_commit": git_commit() or "unknown",
    }
    if parity_mw is not None:
        all_tags["edip.onnx_parity_mw"] = f"{parity_mw:.6g}"
    data_version = store.data_version() if store is not None else None
    if data_version:
        all_tags["data_version"] = data_version
    all_tags.update(tags or {})

    with (
        mlflow.start_run(run_name=run_name or forecaster.name) as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        tmpdir = Path(tmp)
        mlflow.set_tags(all_tags)
        logged_params = _flat_params(params or {})
        logged_params.update(_flat_params(forecaster.params, "model."))
        logged_params.setdefault("seed", str(forecaster.seed))
        logged_params.setdefault("n_features", str(n_features))
        if data_version:
            logged_params.setdefault("data_version", data_version)
        if logged_params:
            mlflow.log_params(logged_params)
        finite = {k: float(v) for k, v in (metrics or {}).items() if _finite(v)}
        if parity_mw is not None and _finite(parity_mw):
            finite["onnx_parity_max_abs_mw"] = float(parity_mw)
        if finite:
            mlflow.log_metrics(finite)

        for path in report_files:
            mlflow.log_artifact(str(path), artifact_path="report")
        for path in plot_files:
            mlflow.log_artifact(str(path), artifact_path="plots")
        for name, fig in (figures or {}).items():
            target = tmpdir / f"{name}.html"
            fig.write_html(str(target), include_plotlyjs=True, full_html=True)
            mlflow.log_artifact(str(target), artifact_path="plots")

        importances = feature_importances(forecaster)
        if importances is not None:
            csv = tmpdir / "feature_importances.csv"
            importances.rename_axis("feature").reset_index().to_csv(csv, index=False)
            mlflow.log_artifact(str(csv), artifact_path="importances")
            html = tmpdir / "feature_importances.html"
            _importance_figure(importances, forecaster.name).write_html(
                str(html), include_plotlyjs=True
            )
            mlflow.log_artifact(str(html), artifact_path="importances")

        if store is not None and store.manifest_path.is_file():
            mlflow.log_artifact(str(store.manifest_path), artifact_path="data")

        native_uri = _log_native(forecaster, family, tmpdir)
        pickled = tmpdir / "forecaster.pkl"
        pickled.write_bytes(pickle.dumps(forecaster))
        mlflow.log_artifact(str(pickled), artifact_path="forecaster")

        mlflow.log_dict(feature_contract(forecaster), FEATURE_CONTRACT)
        signature = ModelSignature(
            inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, n_features), ONNX_INPUT)]),
            outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, len(QUANTILES)), ONNX_OUTPUT)]),
        )
        example = X_example[forecaster.feature_names].head(5).to_numpy(dtype=np.float32)
        info = mlflow.onnx.log_model(
            onnx_model,
            name=ONNX_MODEL,
            signature=signature,
            input_example={ONNX_INPUT: example},
            save_as_external_data=False,
            onnx_execution_providers=["CPUExecutionProvider"],
            pip_requirements=_pin("onnxruntime", "onnx", "numpy"),
            metadata={
                "feature_names": list(forecaster.feature_names),
                "edip_contract": CONTRACT_VERSION,
            },
        )
        mlflow.set_tag(ONNX_URI_TAG, info.model_uri)
        run_id = run.info.run_id
        experiment_id = run.info.experiment_id
    log.info("%s: logged MLflow run %s (ONNX %s)", forecaster.name, run_id, info.model_uri)
    return LoggedRun(run_id, experiment_id, info.model_uri, native_uri)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _log_native(forecaster: Forecaster, family: str, tmpdir: Path) -> str | None:
    """The native model in its MLflow flavour (baselines: a pickle artifact)."""
    import mlflow

    own = getattr(forecaster, "log_native", None)
    if callable(own):  # a plugin family logs its own native model (and training curves)
        uri: str | None = own(tmpdir)
        return uri
    model = native_estimator(forecaster)
    if family == "sklearn":
        # cloudpickle, not MLflow 3's default skops: skops refuses to reload tree models
        # (sklearn.tree._tree.Tree is not on its trusted list) and we wrote the file ourselves
        info = mlflow.sklearn.log_model(
            model,
            name=NATIVE_MODEL,
            pip_requirements=_pin("scikit-learn", "numpy"),
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        )
    elif family == "xgboost":
        info = mlflow.xgboost.log_model(
            model, name=NATIVE_MODEL, pip_requirements=_pin("xgboost-cpu", "numpy")
        )
    elif family == "lightgbm":
        info = mlflow.lightgbm.log_model(
            model, name=NATIVE_MODEL, pip_requirements=_pin("lightgbm", "numpy")
        )
    else:
        target = tmpdir / f"{forecaster.name}.pkl"
        target.write_bytes(pickle.dumps(forecaster))
        mlflow.log_artifact(str(target), artifact_path=NATIVE_MODEL)
        return None
    return str(info.model_uri)
