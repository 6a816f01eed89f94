"""Optuna tuning of a DL architecture: 2 trials with pruning on SQLite, and on a shared
PostgreSQL study when 127.0.0.1:5432 answers."""

from __future__ import annotations

import uuid
from pathlib import Path

import optuna
import pandas as pd
import pytest

from edip_dl.config import SequenceParams, TCNParams
from edip_dl.tuning import make_pruner, search_space, suggest, tune_arch
from edip_ml.hyperparams import Search
from edip_ml.training.tuning import TuningError

from .conftest import tiny_dl

Data = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]
#: the TCN's declared space, narrowed to small encoders (the search machinery is under test)
SMALL_SPACE = {
    **TCNParams.search_space(),
    "hidden_size": Search(choices=(8, 16)),
    "window_h": Search(choices=(24, 48, 96)),
}


def _check(storage: str, data: Data, pruner: str = "median") -> None:
    X, y, _, _ = data
    recent = X.index.get_level_values("origin") >= pd.Timestamp("2020-01-01", tz="UTC")
    X, y = X[recent], y[recent]  # a short table: the search machinery is under test
    dl = tiny_dl().with_overrides({"tuning": {"pruner": pruner}})
    name = f"dl-test-{uuid.uuid4().hex[:6]}"
    best = tune_arch(
        "tcn", X, y, n_trials=2, dl=dl, storage=storage, study_name=name, seed=0, space=SMALL_SPACE
    )
    assert set(best) == {
        "hidden_size",
        "layers",
        "window_h",
        "dropout",
        "learning_rate",
        "batch_size",
    }
    assert best["window_h"] in (24, 48)
    assert best["layers"] in (6, 7)
    study = optuna.load_study(study_name=name, storage=storage)
    assert len(study.trials) == 2
    # the intermediate values are the per-epoch validation losses the pruner judges
    assert all(len(t.intermediate_values) >= 1 for t in study.trials)


def test_tune_on_sqlite(train_test: Data, tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'optuna.db'}", train_test, pruner="halving")
    assert isinstance(make_pruner("median"), optuna.pruners.MedianPruner)
    with pytest.raises(TuningError, match="no DL architecture"):
        tune_arch("rnn", *train_test[:2], n_trials=1, dl=tiny_dl())


def _choices(trial: optuna.Trial, name: str) -> tuple[object, ...]:
    dist = trial.distributions[name]
    assert isinstance(dist, optuna.distributions.CategoricalDistribution)
    return tuple(dist.choices)


def test_search_space_is_the_params_class_s_capped_to_the_table() -> None:
    dl = tiny_dl()  # a 48 h feature table
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    trial = study.ask()
    params = suggest(trial, "tcn", dl, space=SMALL_SPACE)
    assert _choices(trial, "window_h") == (24, 48)  # never longer than the table's 48 h window
    assert _choices(trial, "layers") == TCNParams.search_space()["layers"].choices == (6, 7)
    lr = trial.distributions["learning_rate"]
    assert isinstance(lr, optuna.distributions.FloatDistribution)
    assert lr.log
    assert 0.0 <= params["dropout"] <= 0.3
    gru = optuna.create_study().ask()  # the declared space: its windows (72, 168) do not fit
    suggest(gru, "gru", dl)
    assert _choices(gru, "layers") == SequenceParams.search_space()["layers"].choices
    assert _choices(gru, "window_h") == (48,)  # none fits: the table's window
    assert set(search_space("lstm", dl)) == set(SequenceParams.search_space())
    assert isinstance(make_pruner("halving"), optuna.pruners.SuccessiveHalvingPruner)


def test_tune_on_postgresql(train_test: Data) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    admin_url = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
    try:
        engine = sqlalchemy.create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text("select 1"))
    except Exception as exc:
        pytest.skip(f"no PostgreSQL on 127.0.0.1:5432 ({type(exc).__name__})")
    db = f"edip_dl_tune_{uuid.uuid4().hex[:8]}"
    with engine.connect() as conn:
        conn.execute(sqlalchemy.text(f"create database {db}"))
    try:
        _check(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{db}", train_test)
    finally:
        with engine.connect() as conn:
            conn.execute(sqlalchemy.text(f"drop database if exists {db} with (force)"))
        engine.dispose()
