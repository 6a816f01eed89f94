"""Optuna tuning: leak-free expanding folds, pruning reports, SQLite and PostgreSQL storages."""

from __future__ import annotations

import itertools
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pandas as pd
import pytest

from edip_ml.config import MLParams, XGBoostParams
from edip_ml.hyperparams import Search
from edip_ml.models.base import Forecaster
from edip_ml.training.tuning import (
    TuningError,
    make_storage,
    params_class,
    suggest,
    time_series_folds,
    tunable_models,
    tune,
)

from ..mlflow_server import EstimatorForecaster, synthetic_xy

POSTGRES_URLS = (
    "postgresql+psycopg2://postgres@127.0.0.1:5432/test",
    "postgresql+psycopg2://root@127.0.0.1:5432/test",
)


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.Series]:
    return synthetic_xy(24 * 120, seed=2)  # 120 days hourly


def test_folds_are_expanding_and_leak_free(data: tuple[pd.DataFrame, pd.Series]) -> None:
    X, _ = data
    folds = time_series_folds(X, n_folds=3, fold_days=20)
    origins = X.index.get_level_values("origin")
    targets = X.index.get_level_values("target_time")
    sizes = [int(f.train.sum()) for f in folds]
    assert sizes == sorted(sizes)
    assert sizes[0] > 100
    for fold in folds:
        first_origin = origins[fold.valid].min()
        assert targets[fold.train].max() < first_origin  # every label known at the origin
        assert not (fold.train & fold.valid).any()
        assert fold.valid.sum() > 0
    assert folds[-1].valid[-1]  # the last rows are validated
    ends = [f.end for f in folds]
    assert all(b - a == pd.Timedelta(days=20) for a, b in itertools.pairwise(ends))
    with pytest.raises(TuningError, match="training rows"):
        time_series_folds(X.iloc[: 24 * 10], n_folds=3, fold_days=3)


def test_search_spaces_come_from_the_params_classes() -> None:
    """The tuned families are those whose params declare ``Search`` fields; fixed values stay."""
    assert {"rf", "xgboost", "lightgbm"} <= set(tunable_models())
    assert not {"ridge", "gam", "combination", "same_hour_last_week"} & set(tunable_models())
    assert params_class("xgboost") is XGBoostParams
    study = optuna.create_study()
    for name in ("rf", "xgboost", "lightgbm"):
        trial = study.ask()
        params = suggest(trial, name, fixed={"n_estimators": 7})
        assert params["n_estimators"] == 7
        assert "n_estimators" not in trial.params
        assert set(params_class(name).search_space()) <= set(params)
    lr = XGBoostParams.search_space()["learning_rate"]
    trial = study.ask()
    suggest(trial, "xgboost")
    dist = trial.distributions["learning_rate"]
    assert isinstance(dist, optuna.distributions.FloatDistribution)
    assert (dist.low, dist.high, dist.log) == (lr.low, lr.high, True)
    narrowed = suggest(study.ask(), "xgboost", space={"max_depth": Search(low=2, high=2)})
    assert narrowed == {"max_depth": 2}  # a given space replaces the declared one
    with pytest.raises(TuningError, match="no search space"):
        suggest(study.ask(), "ridge")
    with pytest.raises(TuningError, match="unknown model"):
        suggest(study.ask(), "nope")


def _tiny_tune(data: tuple[pd.DataFrame, pd.Series], storage: str, study: str) -> dict[str, Any]:
    X, y = data
    return tune(
        "xgboost",
        X,
        y,
        n_trials=2,
        storage=storage,
        study_name=study,
        n_folds=2,
        fold_days=15,
        fixed={"n_estimators": 15, "max_depth": 3},
        ml_params=MLParams().with_overrides({"xgboost": {"n_jobs": 1}}),
    )  # the default factory: edip_ml.models.make_model


def test_tune_with_sqlite_storage(data: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    best = _tiny_tune(data, storage, "edip-ml-xgboost-test")
    assert best["n_estimators"] == 15
    assert best["max_depth"] == 3
    assert 0.01 <= best["learning_rate"] <= 0.2
    study = optuna.load_study(study_name="edip-ml-xgboost-test", storage=storage)
    assert len(study.trials) == 2
    for trial in study.trials:  # one intermediate MAPE per fold (what the pruner compares)
        assert sorted(trial.intermediate_values) == [0, 1]
        assert all(0 < v < 0.5 for v in trial.intermediate_values.values())
        assert trial.value == pytest.approx(np.mean(list(trial.intermediate_values.values())))
    # the same study name continues the study (how parallel workers share it)
    _tiny_tune(data, storage, "edip-ml-xgboost-test")
    assert len(optuna.load_study(study_name="edip-ml-xgboost-test", storage=storage).trials) == 4


def test_pruning_stops_bad_trials(data: tuple[pd.DataFrame, pd.Series], tmp_path: Path) -> None:
    """After the startup trials, a trial worse than the median at fold 0 is pruned."""
    X, y = data
    calls = {"n": 0}

    def factory(params: dict[str, Any], seed: int) -> Forecaster:
        import xgboost as xgb

        calls["n"] += 1
        # trials after the first two are hopeless: almost no trees
        trees = 20 if calls["n"] <= 4 else 1
        return EstimatorForecaster(
            "xgboost", lambda: xgb.XGBRegressor(n_estimators=trees, max_depth=3, n_jobs=1)
        )

    tune(
        "xgboost",
        X,
        y,
        n_trials=3,
        storage=f"sqlite:///{tmp_path / 'p.db'}",
        n_folds=2,
        fold_days=15,
        factory=factory,
    )
    study = optuna.load_study(
        study_name="edip-ml-xgboost", storage=f"sqlite:///{tmp_path / 'p.db'}"
    )
    states = [t.state for t in study.trials]
    assert states[:2] == [optuna.trial.TrialState.COMPLETE] * 2
    assert states[2] == optuna.trial.TrialState.PRUNED


def _postgres_url() -> str:
    import sqlalchemy

    errors = []
    for url in POSTGRES_URLS:
        try:
            engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("select 1"))
            engine.dispose()
            return url
        except Exception as exc:
            errors.append(f"{url}: {type(exc).__name__}")
    pytest.skip(f"no PostgreSQL server answers at 127.0.0.1:5432 ({'; '.join(errors)})")


@pytest.mark.postgres
def test_tune_with_postgresql_storage(data: tuple[pd.DataFrame, pd.Series]) -> None:
    url = _postgres_url()
    name = f"edip-ml-xgboost-test-{uuid.uuid4().hex[:8]}"
    try:
        best = _tiny_tune(data, url, name)
        assert best["n_estimators"] == 15
        study = optuna.load_study(study_name=name, storage=make_storage(url))
        assert len(study.trials) == 2
        assert study.user_attrs["model"] == "xgboost"
    finally:
        optuna.delete_study(study_name=name, storage=make_storage(url))
