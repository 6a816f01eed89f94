"""Fixtures and helpers for the tracking/registry/ONNX tests: a REAL MLflow server, stores, models.

Import the fixtures into a test module (``from .mlflow_server import mlflow_server, tracking``).
The server is one per pytest process (a module-level singleton: several test modules importing the
fixture share it), started on a free port with a SQLite backend and a temporary artifact root, and
stopped when the session ends.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ConfigDict

from edip_ml.export.onnx_export import estimator_graph
from edip_ml.export.onnx_wrap import column_graph
from edip_ml.hyperparams import ModelParams
from edip_ml.models.base import Forecaster
from edip_ml.registry.tracking import estimator_importances, log_estimator
from edip_ml.registry.tracking_server import MlflowServer, configure, start_server
from edip_pipeline.config import Settings, get_settings, load_params, reset_settings_cache
from edip_pipeline.sources.sample import sample_frame
from edip_pipeline.store import Store
from edip_testkit import mlflow_schema

if TYPE_CHECKING:
    import onnx

REPO_ROOT = Path(__file__).resolve().parents[2]
_SERVER: MlflowServer | None = None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def mlflow_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> MlflowServer:
    """The real ``mlflow server`` (SQLite + proxied artifacts in a temp dir), once per session."""
    global _SERVER
    if _SERVER is None or _SERVER.process.poll() is not None:
        root = tmp_path_factory.mktemp("mlflow")
        db = root / "mlflow.db"
        created = not mlflow_schema.prepare(db)  # a copy of a migrated one: ~2.6 CPU-s less
        _SERVER = start_server(
            "127.0.0.1",
            free_port(),
            backend_store_uri=f"sqlite:///{db}",
            artifacts_destination=str(root / "artifacts"),
            log_file=root / "server.log",
            timeout_s=180,
        )
        if created:
            mlflow_schema.keep(db)
        request.config.add_cleanup(_SERVER.stop)
    return _SERVER


@pytest.fixture
def tracking(mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the MLflow client (and in-process CLI runs) at the test server."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.url)
    return configure(mlflow_server.url)


@pytest.fixture
def model_name() -> str:
    """A registered-model name of its own per test (the server is shared)."""
    return f"edip-load-fr-test-{uuid.uuid4().hex[:8]}"


# -- a store with the bundled sample ----------------------------------------------------------
@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the sample's national load (written once per session)."""
    root = tmp_path_factory.mktemp("edip-data")
    settings = Settings(data_dir=root, params_file=REPO_ROOT / "params.yaml")
    store = Store(root, load_params(REPO_ROOT / "params.yaml"), settings)
    frame = sample_frame()
    store.write(
        "load_national", frame[frame["variable"] == "consumption_mw"].reset_index(drop=True)
    )
    return root


@pytest.fixture
def sample_store(sample_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """The session's sample store; ``EDIP_DATA_DIR`` points at it so ``Store()`` finds it too."""
    monkeypatch.setenv("EDIP_DATA_DIR", str(sample_data_dir))
    monkeypatch.setenv("EDIP_PARAMS_FILE", str(REPO_ROOT / "params.yaml"))
    reset_settings_cache()
    settings = get_settings()
    yield Store(settings.data_dir, load_params(settings.params_file), settings)
    reset_settings_cache()


def sample_xy(store: Store, start: str, end: str) -> tuple[pd.DataFrame, pd.Series]:
    """Day-ahead features and actuals of the sample between two Paris days (inclusive)."""
    from edip_pipeline.features import build_feature_table, day_ahead_pairs, load_target

    ft = build_feature_table(store, day_ahead_pairs(start, end))
    X = ft.frame[ft.columns_of(*ft.available_groups)]
    y = load_target(store, pd.DatetimeIndex(X.index.get_level_values("target_time")))
    y.index = X.index
    keep = y.notna().to_numpy()
    return X[keep], y[keep]


# -- synthetic data of realistic magnitude ------------------------------------------------------
def synthetic_xy(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Hourly rows with 30–90 GW loads, day-ahead horizons, calendar and NaN-holed features."""
    rng = np.random.default_rng(seed)
    t = pd.date_range("2020-01-01", periods=n, freq="h", tz="UTC")
    hour = t.hour.to_numpy().astype(float)
    daily = np.sin((hour - 6) / 24 * 2 * np.pi)
    season = np.cos(np.arange(n) / (24 * 365) * 2 * np.pi)
    temp = 12 - 8 * season + 4 * daily + rng.normal(0, 2, n)
    load = 58_000 + 9_000 * daily - 900 * (temp - 12) + rng.normal(0, 800, n)
    load = np.clip(load, 30_000, 90_000)
    X = pd.DataFrame(
        {
            "horizon_h": (np.arange(n) % 24) + 12.0,
            "hour": hour,
            "dow": t.day_of_week.to_numpy().astype(float),
            "is_holiday": (rng.random(n) < 0.03).astype(float),
            "load_lag_1d": load + rng.normal(0, 1_500, n),
            "load_same_hour_last_week": load + rng.normal(0, 2_500, n),
            "load_last": load + rng.normal(0, 4_000, n),
            "load_roll_mean_24h": load + rng.normal(0, 3_000, n),
            "load_roll_mean_168h": load + rng.normal(0, 5_000, n),
            "temperature_c": temp,
            "cloud_cover_pct": np.full(n, np.nan),  # a group without data
        },
        index=pd.MultiIndex.from_arrays(
            [t - pd.Timedelta(hours=24), t], names=["origin", "target_time"]
        ),
    )
    holes = (
        ("load_lag_1d", 0.03),
        ("temperature_c", 0.08),
        ("load_last", 0.05),  # the reference falls back to the rolling means …
        ("load_roll_mean_24h", 0.3),  # … and sometimes to the weekly one
    )
    for col, share in holes:
        X.loc[rng.random(n) < share, col] = np.nan
    y = pd.Series(load, index=X.index, name="load_mw")
    return X, y


# -- minimal forecasters of every family (independent of edip_ml.models' registry) -------------
#: the estimator family of each helper's name (the class names its exporter, never guessed)
FAMILIES = {"rf": "sklearn", "ridge": "sklearn", "xgboost": "xgboost", "lightgbm": "lightgbm"}


class WrappedParams(ModelParams):
    """The wrapped estimator's own keyword arguments, whatever they are (logged as given)."""

    model_config = ConfigDict(extra="allow")


class EstimatorForecaster(Forecaster):
    """Wraps any estimator factory: the median is ``self.model.predict``."""

    name = "estimator"
    params_class = WrappedParams

    def __init__(
        self, name: str, factory: Callable[[], Any], params: dict[str, Any] | None = None
    ) -> None:
        super().__init__(params)
        self.name = name  # type: ignore[misc]
        self.family = FAMILIES.get(name, "custom")  # type: ignore[misc]
        self.factory = factory
        self.model: Any = None

    def median_graph(self) -> onnx.ModelProto:
        if self.family == "custom":
            return super().median_graph()
        return estimator_graph(self.family, self.model, list(self.feature_names), [])

    def log_native(self, tmpdir: Path) -> str | None:
        return log_estimator(self.family, self.model)

    def importances(self) -> pd.Series | None:
        return estimator_importances(self.model, list(self.feature_names))

    def _fit_median(self, X: np.ndarray, y: np.ndarray) -> None:
        self.model = self.factory()
        self.model.fit(X, y)

    def _predict_median(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model.predict(X), dtype=float)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["factory"] = None  # lambdas do not pickle; the fitted model is what matters
        return state


class ColumnForecaster(Forecaster):
    """Baseline: one input column is the median (any column: a bad one makes a bad model)."""

    name = "same_hour_last_week"
    family = "baseline"

    def __init__(self, column: str = "load_same_hour_last_week") -> None:
        super().__init__()
        self.column = column

    def _fit_median(self, X: np.ndarray, y: np.ndarray) -> None:
        return None

    def _predict_median(self, X: np.ndarray) -> np.ndarray:
        return X[:, self.feature_names.index(self.column)].astype(float)

    def median_graph(self) -> onnx.ModelProto:
        return column_graph(self.feature_names.index(self.column), len(self.feature_names))


def rf_forecaster() -> EstimatorForecaster:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline

    return EstimatorForecaster(
        "rf",
        lambda: Pipeline(
            [
                ("impute", SimpleImputer()),
                ("rf", RandomForestRegressor(60, max_depth=14, n_jobs=2, random_state=0)),
            ]
        ),
    )


def ridge_forecaster() -> EstimatorForecaster:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return EstimatorForecaster(
        "ridge",
        lambda: Pipeline(
            [("impute", SimpleImputer()), ("scale", StandardScaler()), ("ridge", Ridge())]
        ),
    )


def xgboost_forecaster(n_estimators: int = 300, **kw: Any) -> EstimatorForecaster:
    import xgboost as xgb

    params = {"n_estimators": n_estimators, "max_depth": 6, "learning_rate": 0.05, **kw}
    return EstimatorForecaster(
        "xgboost", lambda: xgb.XGBRegressor(**params, n_jobs=1, random_state=0), params
    )


def lightgbm_forecaster(n_estimators: int = 300) -> EstimatorForecaster:
    import lightgbm as lgb

    params = {"n_estimators": n_estimators, "learning_rate": 0.05, "num_leaves": 31}
    return EstimatorForecaster(
        "lightgbm",
        lambda: lgb.LGBMRegressor(**params, n_jobs=1, random_state=0, verbose=-1),
        params,
    )
