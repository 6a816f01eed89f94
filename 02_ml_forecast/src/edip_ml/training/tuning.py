"""Optuna hyper-parameter search over time-series folds, with pruning and RDB storage.

Why: a random K-fold on load data leaks the future (tomorrow's load is in the training folds),
so every fold here is an expanding window: train on everything whose label is known before the
fold's first forecast origin, validate on the ``fold_days`` of origins that follow. The last
``n_folds`` periods of the table are the folds. Each fold's MAPE is reported as an intermediate
value so that :class:`optuna.pruners.MedianPruner` stops hopeless trials after one fold.

The space searched is the one the model's params class declares (``Search`` metadata on its
fields, :mod:`edip_ml.hyperparams`): e.g. :class:`edip_ml.config.XGBoostParams`.

Studies live in an RDB storage: SQLite (``sqlite:///optuna.db``) by default; a PostgreSQL URL
(``postgresql+psycopg2://user@host:5432/db``) lets several ``edip train ml --tune N`` workers
share one study (same study name → ``load_if_exists``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import optuna

    from edip_ml.config import MLParams
    from edip_ml.hyperparams import ModelParams, Search
    from edip_ml.models.base import Forecaster

log = logging.getLogger(__name__)

DEFAULT_STORAGE = "sqlite:///optuna.db"

ModelFactory = Callable[[dict[str, Any], int], "Forecaster"]


class TuningError(RuntimeError):
    """Tuning cannot run (unknown model, too little data for the folds, …)."""


@dataclass(frozen=True)
class Fold:
    """One expanding-window split: boolean row masks and the validation origins' period."""

    train: np.ndarray
    valid: np.ndarray
    start: pd.Timestamp
    end: pd.Timestamp


def _times(X: pd.DataFrame) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    """(origin, target_time) per row, from the index levels or columns of a training table."""
    out: list[pd.DatetimeIndex] = []
    for name in ("origin", "target_time"):
        values: Any
        if isinstance(X.index, pd.MultiIndex) and name in X.index.names:
            values = X.index.get_level_values(name)
        elif name in X.columns:
            values = X[name]
        else:
            raise TuningError(f"the training table has no {name!r} (index level or column)")
        out.append(pd.DatetimeIndex(values))
    return out[0], out[1]


def time_series_folds(X: pd.DataFrame, n_folds: int = 3, fold_days: int = 30) -> list[Fold]:
    """The last ``n_folds`` periods of ``fold_days`` of origins, each with its expanding window.

    Training rows of a fold are those whose target is before the fold's first origin, so no label
    the forecaster could not have known is used.
    """
    if n_folds < 1 or fold_days < 1:
        raise TuningError("n_folds and fold_days must be at least 1")
    origins, targets = _times(X)
    if not len(origins):
        raise TuningError("no rows to tune on")
    last = origins.max()
    span = pd.Timedelta(days=fold_days)
    folds = []
    for k in range(n_folds):
        start = last - span * (n_folds - k) + pd.Timedelta(microseconds=1)
        end = start + span
        valid = np.asarray((origins >= start) & (origins < end))
        if not valid.any():
            raise TuningError(f"fold {k}: no forecast origin in [{start}, {end})")
        first_origin = origins[valid].min()
        train = np.asarray(targets < first_origin)
        if train.sum() < 100:
            raise TuningError(
                f"fold {k}: only {int(train.sum())} training rows before {first_origin} "
                f"(need ≥ 100): shorten fold_days/n_folds or give more history"
            )
        folds.append(Fold(train, valid, start, end))
    return folds


def params_class(model_name: str) -> type[ModelParams]:
    """The params class of ``model_name`` (raises when it declares no search space)."""
    from edip_ml.models import available_models

    models = available_models()
    if model_name not in models:
        raise TuningError(f"unknown model {model_name!r} (have {sorted(models)})")
    cls = models[model_name].params_class
    if not cls.search_space():
        tuned = sorted(n for n, m in models.items() if m.params_class.search_space())
        raise TuningError(f"no search space for {model_name!r} (have {tuned})")
    return cls


def tunable_models() -> list[str]:
    """The model families whose params declare a search space."""
    from edip_ml.models import available_models

    return sorted(n for n, m in available_models().items() if m.params_class.search_space())


def suggest(
    trial: optuna.Trial,
    model_name: str,
    fixed: Mapping[str, Any] | None = None,
    space: Mapping[str, Search] | None = None,
) -> dict[str, Any]:
    """Sample the model's search space (``space`` replaces the declared one); ``fixed`` values
    are kept as given and not sampled."""
    return params_class(model_name).suggest(trial, fixed, space)


def make_storage(url: str = DEFAULT_STORAGE) -> optuna.storages.RDBStorage:
    """An RDB storage: SQLite for one worker, PostgreSQL (psycopg2) for parallel workers."""
    import optuna

    engine_kwargs: dict[str, Any] = {}
    if url.startswith("postgresql"):
        engine_kwargs = {"pool_pre_ping": True, "connect_args": {"connect_timeout": 10}}
    elif url.startswith("sqlite"):
        engine_kwargs = {"connect_args": {"timeout": 60}}
    return optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs)


def _mape(y: np.ndarray, p: np.ndarray) -> float:
    from edip_ml.evaluation.metrics import mape

    return mape(y, p)


def default_factory(model_name: str, base: MLParams | None = None) -> ModelFactory:
    """Forecasters from :func:`edip_ml.models.make_model`, sampled params over ``base``."""
    from edip_ml.config import MLParams
    from edip_ml.models import make_model

    params = base or MLParams()

    def factory(sampled: dict[str, Any], seed: int) -> Forecaster:
        return make_model(model_name, params.with_overrides({model_name: sampled}), seed)

    return factory


def tune(
    model_name: str,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    n_trials: int,
    storage: str = DEFAULT_STORAGE,
    study_name: str | None = None,
    n_folds: int = 3,
    fold_days: int = 30,
    fixed: Mapping[str, Any] | None = None,
    seed: int = 0,
    timeout_s: float | None = None,
    factory: ModelFactory | None = None,
    ml_params: MLParams | None = None,
    space: Mapping[str, Search] | None = None,
) -> dict[str, Any]:
    """Best hyper-parameters of ``model_name`` (sampled space merged with ``fixed``; ``space``
    replaces the space its params class declares).

    Minimises the mean MAPE (fraction) of the median over :func:`time_series_folds`.
    ``factory(params, seed)`` builds the forecaster (default: :func:`edip_ml.models.make_model`
    with the sampled params over ``ml_params``).
    Re-running with the same ``study_name`` and ``storage`` continues the study (that is also how
    parallel workers share it).
    """
    params_class(model_name)  # raises when the model has no search space
    if n_trials < 1:
        raise TuningError("n_trials must be at least 1")
    folds = time_series_folds(X, n_folds, fold_days)
    build = factory or default_factory(model_name, ml_params)
    objective = _objective(model_name, X, y, folds, build, fixed, seed, space)
    name = study_name or f"edip-ml-{model_name}"
    study = _open_study(name, storage, seed)
    study.set_user_attr("model", model_name)
    study.set_user_attr("n_folds", n_folds)
    study.set_user_attr("fold_days", fold_days)
    study.optimize(objective, n_trials=n_trials, timeout=timeout_s, gc_after_trial=True)
    return _best_params(study, name, fixed)


def _objective(
    model_name: str,
    X: pd.DataFrame,
    y: pd.Series,
    folds: list[Fold],
    build: ModelFactory,
    fixed: Mapping[str, Any] | None,
    seed: int,
    space: Mapping[str, Search] | None = None,
) -> Callable[[optuna.Trial], float]:
    """Mean validation MAPE over the folds, reported per fold so the pruner can stop early."""
    import optuna

    y_all = y.to_numpy(dtype=float)

    def objective(trial: optuna.Trial) -> float:
        params = suggest(trial, model_name, fixed, space)
        scores: list[float] = []
        for k, fold in enumerate(folds):
            model = build(dict(params), seed)
            # calibration_fraction=0: only the median matters for the search (one fit per fold)
            model.fit(X[fold.train], y[fold.train], calibration_fraction=0.0)
            pred = model.predict(X[fold.valid])["p50"].to_numpy(dtype=float)
            score = _mape(y_all[fold.valid], pred)
            scores.append(score)
            trial.report(score, step=k)
            if trial.should_prune():
                log.info("trial %d pruned after fold %d (MAPE %.4f)", trial.number, k, score)
                raise optuna.TrialPruned()
        return float(np.mean(scores))

    return objective


def _open_study(name: str, storage: str, seed: int) -> optuna.Study:
    """Create the study, or continue it when ``name`` exists in ``storage`` (parallel workers)."""
    import optuna

    return optuna.create_study(
        study_name=name,
        storage=make_storage(storage),
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=0),
        load_if_exists=True,
    )


def _best_params(study: optuna.Study, name: str, fixed: Mapping[str, Any] | None) -> dict[str, Any]:
    """The best trial's params with the ``fixed`` values merged in."""
    import optuna

    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise TuningError(f"study {name}: no trial completed")
    best = study.best_trial
    params = dict(best.params)
    params.update(fixed or {})
    log.info(
        "study %s: best MAPE %.4f (trial %d of %d) %s",
        name,
        best.value,
        best.number,
        len(study.trials),
        params,
    )
    return params
