"""Optuna search per architecture over the space its params class declares (hidden size, layers,
window length, dropout, learning rate, batch size: the ``Search`` fields of
:class:`edip_dl.config.SequenceParams`); pruned on the per-epoch validation loss.

Why per-epoch pruning: one DL trial is one (long) fit, so the intermediate values are its epochs'
validation pinball losses on the slice that precedes nothing it was trained on (see
:meth:`edip_dl.forecaster.SequenceForecaster.fit`). Storage is an RDB like ``edip_ml.training.tuning``
(SQLite by default, PostgreSQL for several workers sharing one study).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from edip_dl.config import DLParams
from edip_dl.forecaster import FORECASTERS
from edip_ml.hyperparams import Search
from edip_ml.training.tuning import DEFAULT_STORAGE, TuningError, make_storage

if TYPE_CHECKING:
    import optuna
    import pandas as pd

log = logging.getLogger(__name__)


def search_space(
    arch: str, dl: DLParams, space: Mapping[str, Search] | None = None
) -> dict[str, Search]:
    """``arch``'s declared space (or ``space``), its window never longer than the table's."""
    if arch not in FORECASTERS:
        raise TuningError(f"no DL architecture {arch!r} (have {sorted(FORECASTERS)})")
    searched = dict(FORECASTERS[arch].params_class.search_space() if space is None else space)
    if "window_h" in searched:
        searched["window_h"] = searched["window_h"].capped(dl.window_h)
    return searched


def suggest(
    trial: optuna.Trial, arch: str, dl: DLParams, space: Mapping[str, Search] | None = None
) -> dict[str, Any]:
    """Sample one configuration of ``arch`` (:func:`search_space`)."""
    return FORECASTERS[arch].params_class.suggest(trial, space=search_space(arch, dl, space))


def make_pruner(kind: str) -> optuna.pruners.BasePruner:
    import optuna

    if kind == "halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=2)
    return optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=1)


def tune_arch(
    arch: str,
    X: pd.DataFrame,
    y: pd.Series,
    *,
    n_trials: int,
    dl: DLParams,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int = 0,
    timeout_s: float | None = None,
    space: Mapping[str, Search] | None = None,
) -> dict[str, Any]:
    """Best sampled hyper-parameters of ``arch`` (minimum validation pinball loss); ``space``
    replaces the space ``arch``'s params class declares."""
    import optuna

    searched = search_space(arch, dl, space)
    if n_trials < 1:
        raise TuningError("n_trials must be at least 1")
    base = dl.section(arch).model_dump()
    cls = FORECASTERS[arch]

    def objective(trial: optuna.Trial) -> float:
        sampled = cls.params_class.suggest(trial, space=searched)
        params = {**base, **sampled, "epochs": dl.tuning.epochs, "refit": False}

        def report(epoch: int, val: float) -> None:
            trial.report(val, step=epoch)
            if trial.should_prune():
                log.info("trial %d pruned at epoch %d (val %.4f)", trial.number, epoch + 1, val)
                raise optuna.TrialPruned()

        model = cls(params, seed=seed).fit(X, y, on_epoch=report)
        return float(np.nanmin([h["val_loss"] for h in model.history]))

    name = study_name or f"edip-dl-{arch}"
    study = optuna.create_study(
        study_name=name,
        storage=make_storage(storage or dl.tuning.storage or DEFAULT_STORAGE),
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=make_pruner(dl.tuning.pruner),
        load_if_exists=True,
    )
    study.set_user_attr("model", arch)
    study.optimize(objective, n_trials=n_trials, timeout=timeout_s, gc_after_trial=True)
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise TuningError(f"study {name}: no trial completed")
    best = study.best_trial
    log.info(
        "study %s: best validation pinball %.4f (trial %d) %s",
        name,
        best.value,
        best.number,
        best.params,
    )
    return dict(best.params)
