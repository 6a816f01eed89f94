"""The sequence forecasters on real sample rows: accuracy sanity, quantiles, scaling, stopping,
ONNX parity under onnxruntime alone, and the clear errors on bad input."""

from __future__ import annotations

import numpy as np
import onnx
import pandas as pd
import pytest
import torch

from edip_dl.config import ARCHITECTURES
from edip_dl.forecaster import FORECASTERS, SequenceForecaster
from edip_ml.config import MLParams
from edip_ml.data.dataset import feature_params, make_xy, protocol_pairs
from edip_ml.evaluation.metrics import mape
from edip_ml.export.onnx_export import check_parity, to_onnx
from edip_ml.models import available_models, make_model
from edip_ml.models.base import ModelError
from edip_pipeline.contract import OnnxForecaster
from edip_pipeline.store import Store

from .conftest import TINY

Data = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]
_FITTED: dict[str, SequenceForecaster] = {}


def fitted(arch: str, params: MLParams, data: Data) -> SequenceForecaster:
    if arch not in _FITTED:
        model = make_model(arch, params)
        assert isinstance(model, SequenceForecaster)
        _FITTED[arch] = model.fit(data[0], data[1])
    return _FITTED[arch]


def test_plugins_are_registered_models(dl_ml_params: MLParams) -> None:
    models = available_models()
    for arch in ARCHITECTURES:
        assert models[arch] is FORECASTERS[arch]
        assert dl_ml_params.hyper(arch)["hidden_size"] == 16


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_fits_beats_last_week_and_quantiles_never_cross(
    arch: str, dl_ml_params: MLParams, train_test: Data
) -> None:
    _, _, Xt, yt = train_test
    model = fitted(arch, dl_ml_params, train_test)
    pred = model.predict(Xt)
    assert pred.notna().all().all()
    assert (pred["p10"] <= pred["p50"]).all()
    assert (pred["p50"] <= pred["p90"]).all()
    assert (pred["p90"] - pred["p10"]).mean() > 100  # a real band, in MW
    naive = mape(yt, Xt["load_same_hour_last_week"])
    assert mape(yt, pred["p50"]) < naive, (arch, mape(yt, pred["p50"]), naive)
    assert np.allclose(model.offsets, 0.0)  # quantiles come from the heads
    assert model.history
    assert all(np.isfinite(h["val_loss"]) for h in model.history)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_onnx_parity_and_onnxruntime_only(
    arch: str, dl_ml_params: MLParams, train_test: Data
) -> None:
    _, _, Xt, _ = train_test
    model = fitted(arch, dl_ml_params, train_test)
    model.feature_params = {"window_h": 48}
    onx = to_onnx(model)
    assert {o.domain for o in onx.opset_import} <= {"", "ai.onnx"}
    assert max(o.version for o in onx.opset_import) >= 17
    delta = check_parity(model, onx, Xt)
    assert delta <= 1.0
    runner = OnnxForecaster(onx.SerializeToString())
    assert runner.feature_names == model.feature_names
    assert runner.feature_params == {"window_h": 48}
    assert runner.metadata["edip_family"] == "torch"
    # dynamic batch axis: 1 row and many rows give the same numbers as one call
    one = runner.predict(Xt.iloc[:1])
    many = runner.predict(Xt)
    np.testing.assert_allclose(one.to_numpy(), many.iloc[:1].to_numpy(), rtol=1e-5)
    graph_inputs = [i.name for i in onnx.load_from_string(onx.SerializeToString()).graph.input]
    assert graph_inputs == ["features"]


def test_missing_and_nan_covariates_at_prediction(dl_ml_params: MLParams, train_test: Data) -> None:
    _, _, Xt, _ = train_test
    model = fitted("tcn", dl_ml_params, train_test)
    with pytest.raises(ModelError, match="features missing at prediction time"):
        model.predict(Xt.drop(columns=["hour_sin"]))
    holes = Xt.copy()
    holes.iloc[:5, holes.columns.get_loc("hour_sin")] = np.nan  # imputed in-graph
    assert holes.pipe(model.predict).notna().all().all()
    bad = Xt.copy()
    bad.iloc[0, 0] = np.inf
    with pytest.raises(ModelError, match="infinite"):
        model.predict(bad)
    gone = Xt.copy()
    gone[[c for c in Xt.columns if c.startswith("load_window_")]] = np.nan
    with pytest.raises(ModelError, match="window is longer than the load history"):
        model.predict(gone)


def test_scaling_is_fitted_on_training_rows_only(dl_ml_params: MLParams, train_test: Data) -> None:
    X, y, _, _ = train_test
    params = {**TINY, "epochs": 1, "refit": True}
    a = FORECASTERS["tcn"](params, seed=1).fit(X, y)
    # early stopping picked the epoch count, then the net was refitted on every row for it
    assert a.best_epoch == 1
    assert [h.get("refit", 0.0) for h in a.history] == [0.0, 1.0]
    # change every label of the validation slice: the scaling constants must not move
    val_start = pd.Timestamp(a.split["validation_start"])
    in_val = np.asarray(X.index.get_level_values("origin") >= val_start)
    assert 0 < in_val.sum() < len(X)
    y2 = y.copy()
    y2[in_val] = y2[in_val] * 3.0
    b = FORECASTERS["tcn"](params, seed=1).fit(X, y2)
    assert a.net is not None
    assert b.net is not None
    for name in ("t_mean", "t_std", "w_mean", "w_std", "cov_mean", "cov_std", "fallback_ref"):
        assert torch.equal(getattr(a.net, name), getattr(b.net, name)), name
    assert a.history[0]["val_loss"] != b.history[0]["val_loss"]  # the slice is used: to stop


def test_early_stopping_slice_precedes_the_test_period(
    dl_ml_params: MLParams, train_test: Data
) -> None:
    _, _, Xt, _ = train_test
    model = fitted("lstm", dl_ml_params, train_test)
    split = {k: pd.Timestamp(v) for k, v in model.split.items()}
    assert split["train_end"] <= split["validation_start"] < split["validation_end"]
    assert split["validation_end"] <= Xt.index.get_level_values("origin").min()
    assert model.best_epoch is not None
    assert 1 <= model.best_epoch <= len(model.history)


def test_deterministic_with_a_seed(train_test: Data) -> None:
    X, y, Xt, _ = train_test
    params = {**TINY, "epochs": 1, "batch_size": 32}
    a = FORECASTERS["gru"](params, seed=3).fit(X, y).predict(Xt.iloc[:48])
    b = FORECASTERS["gru"](params, seed=3).fit(X, y).predict(Xt.iloc[:48])
    pd.testing.assert_frame_equal(a, b)


def test_nan_target_and_window_longer_than_history(
    sample_store: Store, dl_ml_params: MLParams, train_test: Data
) -> None:
    X, y, _, _ = train_test
    y2 = y.copy()
    y2.iloc[3] = np.nan
    with pytest.raises(ModelError, match="NaN or inf in the target"):
        FORECASTERS["gru"](TINY).fit(X, y2)
    with pytest.raises(ModelError, match="longer than the 48-step window"):
        FORECASTERS["gru"]({**TINY, "window_h": 96}).fit(X, y)
    # a 30-day window right after the store's first day: the history is shorter than the window
    long_window = dl_ml_params.with_overrides({"feature_overrides": {"window_h": 24 * 30}})
    fp = feature_params(sample_store, long_window)
    pairs = protocol_pairs("2019-01-03", "2019-01-20", "day-ahead", long_window, fp)
    Xs, ys, _ = make_xy(sample_store, pairs, long_window)
    with pytest.raises(ModelError, match="window is longer than the load history"):
        FORECASTERS["gru"](TINY).fit(Xs, ys)
    with pytest.raises(ModelError, match="window columns"):
        FORECASTERS["gru"](TINY).fit(X.drop(columns=[c for c in X if "window" in c]), y)
