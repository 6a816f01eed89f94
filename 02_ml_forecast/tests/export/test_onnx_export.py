"""ONNX export: parity per family, the serving contract, onnxruntime-only inference."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edip_ml.config import MLParams
from edip_ml.export.onnx_export import (
    ExportError,
    FeatureContractError,
    OnnxForecaster,
    ParityError,
    check_parity,
    save_onnx,
    to_onnx,
)
from edip_ml.models import MODELS, base, make_model

from ..mlflow_server import (
    EstimatorForecaster,
    rf_forecaster,
    ridge_forecaster,
    synthetic_xy,
    xgboost_forecaster,
)

log = logging.getLogger(__name__)
pytestmark = pytest.mark.filterwarnings("ignore:Skipping features without any observed values")

#: the registry's models, small and single-threaded (OpenMP threads crawl on a busy 2-core box)
SMALL = MLParams().with_overrides(
    {
        "rf": {"n_estimators": 60},
        "xgboost": {"n_estimators": 300, "n_jobs": 1},
        "lightgbm": {"n_estimators": 300, "n_jobs": 1},
        "lightgbm_intraday": {"n_estimators": 300, "n_jobs": 1},
    }
)
#: the same families learning raw MW (no reference ratio), and sklearn's default imputer, which
#: drops all-NaN columns (the exporter selects the kept ones)
RAW = SMALL.with_overrides(
    {f: {"target_reference": []} for f in ("rf", "xgboost", "lightgbm", "ridge")}
)
FAMILIES: dict[str, Callable[[], base.Forecaster]] = {
    # combination_rte takes RTE's forecast as an input column: its parity, in both variants, is
    # tests/models/test_combination_rte.py's
    **{
        name: (lambda name=name: make_model(name, SMALL, seed=0))
        for name in MODELS
        if name != "combination_rte"
    },
    "xgboost-raw": lambda: make_model("xgboost", RAW, seed=0),
    "lightgbm-raw": lambda: make_model("lightgbm", RAW, seed=0),
    "ridge-raw": lambda: make_model("ridge", RAW, seed=0),
    "rf-dropping-imputer": rf_forecaster,
    "ridge-dropping-imputer": ridge_forecaster,
}


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return synthetic_xy(2600, seed=1)


@pytest.fixture(scope="module")
def fitted(data: tuple[pd.DataFrame, pd.Series]) -> dict[str, base.Forecaster]:
    X, y = data
    return {name: make().fit(X.iloc[:2000], y.iloc[:2000]) for name, make in FAMILIES.items()}


@pytest.mark.parametrize("family", list(FAMILIES))
def test_parity_within_1_mw(
    family: str, fitted: dict[str, base.Forecaster], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = data
    forecaster = fitted[family]
    model = to_onnx(forecaster)
    rows = X.iloc[600:2600]  # 2000 rows: in- and out-of-sample, NaN in several features
    assert rows.isna().any().any()
    delta = check_parity(forecaster, model, rows)
    log.info("parity %s: %.4f MW", family, delta)
    assert delta <= 1.0
    native = forecaster.predict(rows)
    assert native["p50"].between(25_000, 100_000).mean() > 0.9  # realistic magnitude


def test_quantiles_never_cross(
    fitted: dict[str, base.Forecaster], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, _ = data
    out = OnnxForecaster(to_onnx(fitted["lightgbm"])).predict(X.iloc[2000:])
    assert out.notna().all().all()  # the reference load always has a fallback here
    assert (out["p10"] <= out["p50"]).all()
    assert (out["p50"] <= out["p90"]).all()


def test_tampered_offsets_fail_parity(
    fitted: dict[str, base.Forecaster], data: tuple[pd.DataFrame, pd.Series]
) -> None:
    X, y = data
    f = xgboost_forecaster(n_estimators=30).fit(X.iloc[:1500], y.iloc[:1500])
    model = to_onnx(f)
    f.offsets = f.offsets + np.array([[-50.0, 0.0]])  # native now disagrees with the export
    with pytest.raises(ParityError, match="differs from the native model") as err:
        check_parity(f, model, X.iloc[:500])
    assert err.value.max_abs_diff == pytest.approx(50.0, abs=0.5)
    with pytest.raises(ParityError, match="no rows"):
        check_parity(f, model, X.iloc[:0])


def test_missing_features_error_names_them(fitted: dict[str, base.Forecaster]) -> None:
    f = fitted["ridge"]
    X, _ = synthetic_xy(50, seed=3)
    model = OnnxForecaster(to_onnx(f))
    with pytest.raises(FeatureContractError, match=r"temperature_c.*cloud_cover_pct"):
        model.predict(X.drop(columns=["temperature_c", "cloud_cover_pct"]))
    # extra columns and another column order are fine: the contract order is applied
    shuffled = X[list(reversed(X.columns))].assign(extra=1.0)
    np.testing.assert_allclose(
        model.predict(shuffled).to_numpy(), model.predict(X).to_numpy(), rtol=0, atol=0
    )
    assert model.predict(X.iloc[:0]).shape == (0, 3)


def test_not_a_contract_model_is_refused() -> None:
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["x"], ["y"])],
        "plain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 2])],
    )
    with pytest.raises(FeatureContractError, match="not an EDIP contract"):
        OnnxForecaster(helper.make_model(graph))


def test_export_errors() -> None:
    with pytest.raises(ExportError, match="not fitted"):
        to_onnx(xgboost_forecaster())
    X, y = synthetic_xy(300)
    odd = EstimatorForecaster("odd", lambda: _Mean())
    odd.fit(X, y)
    with pytest.raises(ExportError, match="no ONNX converter"):
        to_onnx(odd)


class _Mean:
    def fit(self, X: np.ndarray, y: np.ndarray) -> _Mean:
        self.mean = float(np.mean(y))
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), self.mean)


def test_onnxruntime_alone_in_a_subprocess(
    fitted: dict[str, base.Forecaster], data: tuple[pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    """The exported file is served by onnxruntime without any training library imported."""
    X, _ = data
    rows = X.iloc[2000:2100]
    results = {}
    for family in ("rf", "xgboost", "lightgbm"):
        path = save_onnx(to_onnx(fitted[family]), tmp_path / f"{family}.onnx")
        results[family] = (path, fitted[family].predict(rows))
    rows.reset_index(drop=True).to_parquet(tmp_path / "rows.parquet")
    script = textwrap.dedent(
        f"""
        import json, sys
        import pandas as pd
        from edip_ml.export.onnx_export import OnnxForecaster
        rows = pd.read_parquet({str(tmp_path / "rows.parquet")!r})
        out = {{}}
        for family in ("rf", "xgboost", "lightgbm"):
            model = OnnxForecaster({str(tmp_path)!r} + "/" + family + ".onnx")
            out[family] = model.predict(rows).to_numpy().tolist()
        heavy = ["sklearn", "xgboost", "lightgbm", "skl2onnx", "onnxmltools", "onnx", "mlflow"]
        out["imported"] = [m for m in heavy if m in sys.modules]
        print(json.dumps(out))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["imported"] == []
    for family, (_, native) in results.items():
        np.testing.assert_allclose(np.asarray(out[family]), native.to_numpy(), atol=1.0)
