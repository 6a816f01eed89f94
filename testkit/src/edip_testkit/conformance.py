"""The forecaster conformance suite: what every registered model family must do.

Like scikit-learn's ``check_estimator``: the ML and DL tests run :func:`check_forecaster` over
every name of the model registry (``edip_ml.models.available_models``), so a new family is added
by writing one class and passing these checks — fit on a small synthetic frame, clone and
parameters as scikit-learn's, ordered quantiles, ONNX export with parity, log and load back from a
real MLflow registry, rebuild from the run's logged params, and, for an
:class:`~edip_ml.models.base.OnlineForecaster`, the round-trip of its online state.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

from edip_ml.export.onnx_export import PARITY_TOLERANCE_MW, parity_delta, to_onnx
from edip_ml.models.base import Forecaster, OnlineForecaster
from edip_pipeline.contract import QUANTILE_COLUMNS
from edip_testkit.synthetic import heating_rows

log = logging.getLogger(__name__)


def conformance_frame(days: int = 150, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Synthetic day-ahead rows (heating response, day shape, weekend dip) with the columns
    every family reads, ``load_last`` (the trees' reference load) included."""
    X, y = heating_rows(days=days, seed=seed)
    X = X.assign(load_last=X["load_lag_1d"])
    return X, y


def check_forecaster(
    make: Callable[[], Forecaster],
    X: pd.DataFrame,
    y: pd.Series,
    *,
    model_name: str | None = None,
) -> Forecaster:
    """Run every check on a fresh model from ``make`` (``model_name``: also through MLflow, the
    client pointed at a real server). Returns the fitted model."""
    n_test = 24 * 7
    X_fit, y_fit, X_test = X.iloc[:-n_test], y.iloc[:-n_test], X.iloc[-n_test:]
    model = make().fit(X_fit, y_fit)
    check_clone(model)
    check_quantiles(model, X_test)
    check_onnx_parity(model, X_test)
    if isinstance(model, OnlineForecaster):
        check_online_round_trip(model, X_test, y.iloc[-n_test:])
    if model_name is not None:
        check_mlflow_round_trip(model, X_test, model_name)
    return model


def check_clone(model: Forecaster) -> None:
    """``clone`` gives an unfitted twin with the same parameters; ``set_params`` changes them."""
    twin = model.clone()
    assert twin is not model
    assert type(twin) is type(model)
    assert twin.get_params() == model.get_params(), f"{model.name}: clone lost parameters"
    assert not twin.feature_names, f"{model.name}: a clone must be unfitted"
    twin.set_params(seed=model.seed + 1)
    assert twin.seed == model.seed + 1
    assert model.seed != twin.seed


def check_quantiles(model: Forecaster, X: pd.DataFrame) -> pd.DataFrame:
    """P10 ≤ P50 ≤ P90, finite, on the rows of ``X`` in their order, a band that is not flat."""
    out = model.predict(X)
    assert list(out.columns) == list(QUANTILE_COLUMNS), out.columns
    assert out.index.equals(X.index), f"{model.name}: predictions not on the rows of X"
    values = out.to_numpy(dtype=float)
    assert np.isfinite(values).all(), f"{model.name}: non-finite predictions"
    assert (out["p10"] <= out["p50"]).all(), f"{model.name}: P10 above P50"
    assert (out["p50"] <= out["p90"]).all(), f"{model.name}: P50 above P90"
    assert (out["p90"] - out["p10"]).gt(0).any(), f"{model.name}: a zero-width band everywhere"
    return out


def check_onnx_parity(model: Forecaster, X: pd.DataFrame) -> float:
    """Its own exporter's graph reproduces it under onnxruntime within the parity tolerance."""
    delta = parity_delta(model, to_onnx(model), X)
    assert delta <= PARITY_TOLERANCE_MW, f"{model.name}: ONNX differs by {delta:.4g} MW"
    return delta


def check_online_round_trip(model: OnlineForecaster, X: pd.DataFrame, y: pd.Series) -> None:
    """The state survives JSON; absorbing a day changes the forecast; loading the saved state
    gives the forecast back; the export carries the absorbed state (parity after absorbing)."""
    saved = json.loads(json.dumps(model.online_state()))
    first, later = X.iloc[:24], X.iloc[24:]
    before = model.predict(later)["p50"].to_numpy()
    skipped = model.absorb(first, y.iloc[:24])
    assert len(skipped) == 24, f"{model.name}: absorb must flag each row"
    moved = model.predict(later)["p50"].to_numpy()
    assert not np.allclose(before, moved), f"{model.name}: absorbing a day changed nothing"
    check_onnx_parity(model, later)
    model.load_online_state(saved)
    again = model.predict(later)["p50"].to_numpy()
    np.testing.assert_allclose(again, before, atol=1e-6, err_msg=f"{model.name}: state lost")


def check_mlflow_round_trip(model: Forecaster, X: pd.DataFrame, model_name: str) -> None:
    """Published (export, parity, run, registered version) then loaded back from the registry,
    the served graph forecasts what the native model does; the run's logged params rebuild the
    model (``get_params`` equal: scikit-learn's clone semantics through MLflow)."""
    import mlflow

    from edip_ml.registry.publish import publish
    from edip_ml.registry.versions import load_version

    published = publish(model, X_parity=X, model_name=model_name, experiment=model_name)
    assert published.version is not None
    run = mlflow.get_run(published.run.run_id)
    rebuilt = type(model).from_logged(run.data.params)
    assert run.data.tags["edip.model"] == model.name
    assert rebuilt.get_params() == model.get_params(), f"{model.name}: not rebuilt from its run"
    served = load_version(str(published.version.version), model_name=model_name)
    got = served.predict(X)[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    want = model.predict(X)[list(QUANTILE_COLUMNS)].to_numpy(dtype=float)
    np.testing.assert_allclose(got, want, atol=PARITY_TOLERANCE_MW, err_msg=model.name)
