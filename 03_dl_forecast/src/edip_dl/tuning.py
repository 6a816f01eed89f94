"""Optuna search per architecture: hidden size, layers, window length, dropout, learning rate,
batch size; pruned on the per-epoch validation loss.

Why per-epoch pruning: one DL trial is one (long) fit, so the intermediate values are its epochs'
validation pinball losses on the slice that precedes nothing it was trained on (see
:meth:`edip_dl.forecaster.SequenceForecaster.fit`). Storage is an RDB like ``edip_ml.training.tuning``
(SQLite by default, PostgreSQL for several workers sharing one study).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from edip_dl.config import DLParams
from edip_dl.forecaster import FORECASTERS
from edip_ml.training.tuning import DEFAULT_STORAGE, TuningError, make_storage

if TYPE_CHECKING:
    import optuna
    import pandas as pd

log = logging.getLogger(__name__)

#: TCN needs more dilation levels than a recurrent encoder needs layers (receptive field)
TCN_EXTRA_LAYERS = 5


def suggest(trial: optuna.Trial, arch: str, dl: DLParams) -> dict[str, Any]:
    """Sample one configuration of ``arch`` from ``dl.tuning``."""
    space = dl.tuning
    layers = [n + (TCN_EXTRA_LAYERS if arch == "tcn" else 0) for n in space.layers]
    windows = [w for w in space.window_hs if w <= dl.window_h] or [dl.window_h]
    return {
        "hidden_size": trial.suggest_categorical("hidden_size", space.hidden_sizes),
        "layers": trial.suggest_categorical("layers", layers),
        "window_h": trial.suggest_categorical("window_h", windows),
        "dropout": trial.suggest_float("dropout", *space.dropout),
        "learning_rate": trial.suggest_float("learning_rate", *space.learning_rate, log=True),
        "batch_size": trial.suggest_categorical("batch_size", space.batch_sizes),
    }


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
) -> dict[str, Any]:
    """Best sampled hyper-parameters of ``arch`` (minimum validation pinball loss)."""
    import optuna

    if arch not in FORECASTERS:
        raise TuningError(f"no DL architecture {arch!r} (have {sorted(FORECASTERS)})")
    if n_trials < 1:
        raise TuningError("n_trials must be at least 1")
    base = dl.section(arch).model_dump()
    cls = FORECASTERS[arch]

    def objective(trial: optuna.Trial) -> float:
        params = {**base, **suggest(trial, arch, dl), "epochs": dl.tuning.epochs, "refit": False}

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
