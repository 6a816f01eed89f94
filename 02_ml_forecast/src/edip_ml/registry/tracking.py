"""What a training run records in MLflow (the server: :mod:`edip_ml.registry.tracking_server`).

Why: a registered model must be traceable to the exact code (git commit), data (store manifest
hash), parameters, evaluation (report, metrics, plots) and artifacts (native model, ONNX model with
its feature contract) that produced it, so that ``edip promote`` and the API can trust it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import pickle
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edip_ml.config import DEFAULT_EXPERIMENT
from edip_ml.export.onnx_export import Forecaster
from edip_pipeline.contract import (
    CONTRACT_VERSION,
    HORIZON_GROUPS,
    ONNX_INPUT,
    ONNX_OUTPUT,
    QUANTILES,
)

if TYPE_CHECKING:
    import onnx

    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: artifact names inside a run
NATIVE_MODEL = "model"
ONNX_MODEL = "onnx"
FEATURE_CONTRACT = "feature_contract.json"
#: run params ``model.<name>``: the forecaster's own hyper-parameters (and ``model.seed``), what
#: :meth:`edip_ml.models.base.Forecaster.from_logged` rebuilds it from
MODEL_PARAMS_PREFIX = "model."
#: run tag holding the ONNX logged-model URI (what :func:`edip_ml.registry.versions.register` registers)
ONNX_URI_TAG = "edip.onnx_model_uri"


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


def estimator_importances(model: Any, names: list[str]) -> pd.Series | None:
    """Importances by feature of a fitted estimator (trees: their own; linear: |coef| on scaled
    inputs); what :meth:`edip_ml.models.linear.EstimatorForecaster.importances` returns."""
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


def flat_params(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested params as MLflow stores them: dotted names, strings as is, the rest as JSON."""
    out: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flat_params(value, f"{name}."))
        else:
            text = value if isinstance(value, str) else json.dumps(value, default=str)
            out[name] = text[:6000]
    return out


def logged_model_params(run_params: Mapping[str, str]) -> tuple[dict[str, str], int]:
    """The forecaster's hyper-parameters (prefix removed) and seed among a run's params."""
    own = {
        k.removeprefix(MODEL_PARAMS_PREFIX): v
        for k, v in run_params.items()
        if k.startswith(MODEL_PARAMS_PREFIX)
    }
    seed = own.pop("seed", None) or run_params.get("seed") or "0"
    return own, int(seed)


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

    mlflow.set_experiment(experiment)
    family = forecaster.family
    data_version = store.data_version() if store is not None else None
    all_tags = _run_tags(forecaster, family, weather_source, parity_mw, data_version, tags)

    with (
        mlflow.start_run(run_name=run_name or forecaster.name) as run,
        tempfile.TemporaryDirectory() as tmp,
    ):
        tmpdir = Path(tmp)
        mlflow.set_tags(all_tags)
        _log_params_and_metrics(forecaster, params, metrics, parity_mw, data_version)
        _log_files(report_files, plot_files, figures, tmpdir)
        _log_importances(forecaster, tmpdir)
        if store is not None and store.manifest_path.is_file():
            mlflow.log_artifact(str(store.manifest_path), artifact_path="data")
        native_uri = forecaster.log_native(tmpdir)
        pickled = tmpdir / "forecaster.pkl"
        pickled.write_bytes(pickle.dumps(forecaster))
        mlflow.log_artifact(str(pickled), artifact_path="forecaster")
        onnx_uri = _log_onnx(forecaster, onnx_model, X_example)
        run_id = run.info.run_id
        experiment_id = run.info.experiment_id
    log.info("%s: logged MLflow run %s (ONNX %s)", forecaster.name, run_id, onnx_uri)
    return LoggedRun(run_id, experiment_id, onnx_uri, native_uri)


def _run_tags(
    forecaster: Forecaster,
    family: str,
    weather_source: str,
    parity_mw: float | None,
    data_version: str | None,
    tags: Mapping[str, str] | None,
) -> dict[str, str]:
    """The run's provenance tags (the caller's ``tags`` last: they may override)."""
    all_tags = {
        "edip.model": forecaster.name,
        "edip.family": family,
        "edip.contract": CONTRACT_VERSION,
        "weather_source": weather_source,
        "git_commit": git_commit() or "unknown",
    }
    if parity_mw is not None:
        all_tags["edip.onnx_parity_mw"] = f"{parity_mw:.6g}"
    if data_version:
        all_tags["data_version"] = data_version
    all_tags.update(tags or {})
    return all_tags


def _log_params_and_metrics(
    forecaster: Forecaster,
    params: Mapping[str, Any] | None,
    metrics: Mapping[str, float] | None,
    parity_mw: float | None,
    data_version: str | None,
) -> None:
    """Flattened parameters (``model.*``: the forecaster's own) and the finite metrics."""
    import mlflow

    logged_params = flat_params(params or {})
    own = {**forecaster.params, "seed": forecaster.seed}
    logged_params.update(flat_params(own, MODEL_PARAMS_PREFIX))
    logged_params.setdefault("seed", str(forecaster.seed))
    logged_params.setdefault("n_features", str(len(forecaster.feature_names)))
    if data_version:
        logged_params.setdefault("data_version", data_version)
    if logged_params:
        mlflow.log_params(logged_params)
    finite = {k: float(v) for k, v in (metrics or {}).items() if _finite(v)}
    if parity_mw is not None and _finite(parity_mw):
        finite["onnx_parity_max_abs_mw"] = float(parity_mw)
    if finite:
        mlflow.log_metrics(finite)


def _log_files(
    report_files: Iterable[Path],
    plot_files: Iterable[Path],
    figures: Mapping[str, Any] | None,
    tmpdir: Path,
) -> None:
    """Report files under ``report/``; plot files and plotly figures (as HTML) under ``plots/``."""
    import mlflow

    for path in report_files:
        mlflow.log_artifact(str(path), artifact_path="report")
    for path in plot_files:
        mlflow.log_artifact(str(path), artifact_path="plots")
    for name, fig in (figures or {}).items():
        target = tmpdir / f"{name}.html"
        fig.write_html(str(target), include_plotlyjs=True, full_html=True)
        mlflow.log_artifact(str(target), artifact_path="plots")


def _log_importances(forecaster: Forecaster, tmpdir: Path) -> None:
    """Feature importances (CSV and bar chart) under ``importances/``, when the model has some."""
    import mlflow

    importances = forecaster.importances()
    if importances is None:
        return
    csv = tmpdir / "feature_importances.csv"
    importances.rename_axis("feature").reset_index().to_csv(csv, index=False)
    mlflow.log_artifact(str(csv), artifact_path="importances")
    html = tmpdir / "feature_importances.html"
    _importance_figure(importances, forecaster.name).write_html(str(html), include_plotlyjs=True)
    mlflow.log_artifact(str(html), artifact_path="importances")


def _log_onnx(forecaster: Forecaster, onnx_model: onnx.ModelProto, X_example: pd.DataFrame) -> str:
    """The feature contract and the ONNX model (signature, input example); its model URI."""
    import mlflow
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Schema, TensorSpec

    n_features = len(forecaster.feature_names)
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
    return str(info.model_uri)


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def log_estimator(family: str, model: Any) -> str:
    """A fitted estimator in its MLflow flavour (``family`` named by the forecaster class)."""
    import mlflow

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
        raise ValueError(f"no MLflow flavour for estimator family {family!r}")
    return str(info.model_uri)


def log_pickle(forecaster: Forecaster, tmpdir: Path) -> None:
    """The forecaster pickled under the native-model artifact (families without a flavour)."""
    import mlflow

    target = tmpdir / f"{forecaster.name}.pkl"
    target.write_bytes(pickle.dumps(forecaster))
    mlflow.log_artifact(str(target), artifact_path=NATIVE_MODEL)
