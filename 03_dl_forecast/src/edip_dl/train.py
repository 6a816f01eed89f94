"""``edip train dl`` and ``edip backtest --family dl``: edip_ml's harness with the DL sections.

Why no training loop of its own here: the sequence models are ``edip.models`` plugins, so
:func:`edip_ml.training.train.train_models` backtests, fits, exports (``export_onnx``), checks parity,
logs and registers them exactly like the trees; this module only folds ``dl:`` into the ML
parameters and runs the DL-specific Optuna search first.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from edip_dl.config import ARCHITECTURES, DLParams, load_dl_params, to_ml_params
from edip_dl.device import resolve_device

if TYPE_CHECKING:
    from edip_ml.config import MLParams
    from edip_ml.data.training_data import TrainingData
    from edip_ml.training.train import TrainResult
    from edip_pipeline.features import WeatherMode
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)


def check_models(models: Sequence[str]) -> list[str]:
    """The architectures asked for, refusing unknown names with the known ones."""
    names = list(models)
    unknown = [m for m in names if m not in ARCHITECTURES]
    if unknown or not names:
        raise ValueError(f"unknown DL model(s) {unknown}; known: {list(ARCHITECTURES)}")
    return names


def train_dl(
    models: Sequence[str],
    start: str | None = None,
    end: str | None = None,
    *,
    tune: int = 0,
    epochs: int | None = None,
    device: str | None = None,
    store: Store | None = None,
    dl_params: DLParams | None = None,
    ml_params: MLParams | None = None,
    backtest_days: int | None = None,
    tuning_storage: str | None = None,
    report_dir: Path | None = None,
    register_models: bool = True,
    model_name: str | None = None,
    experiment: str | None = None,
    weather: WeatherMode | None = None,
) -> list[TrainResult]:
    """Tune (optional), backtest, fit, export, check parity, log and register each architecture."""
    from edip_ml.data.training_data import load_training_data
    from edip_ml.training.train import train_models
    from edip_pipeline.store import Store

    names = check_models(models)
    if device is not None:
        resolve_device(device)  # a CUDA request without a GPU fails here, before any work
    store = store or Store()
    dl = (dl_params or load_dl_params()).for_all(epochs=epochs, device=device)
    ml = to_ml_params(dl, ml_params)
    data: TrainingData | None = None
    if tune > 0:
        # built once: the tuning reads it and train_models reuses it (the tuned knobs are model
        # sections, not feature parameters, so ``data.matches`` still holds)
        data = load_training_data(store, ml, weather=weather or ml.backtest.weather)
        dl = tune_sections(
            names, data, start, end, dl, n_trials=tune, storage=tuning_storage, seed=ml.seed
        )
        ml = to_ml_params(dl, ml)
    return train_models(
        names,
        start,
        end,
        0,
        store=store,
        params=ml,
        backtest_days=backtest_days,
        report_dir=report_dir,
        register_models=register_models,
        model_name=model_name,
        experiment=experiment,
        weather=weather,
        data=data,
    )


def tune_sections(
    names: Sequence[str],
    data: TrainingData,
    start: str | None,
    end: str | None,
    dl: DLParams,
    *,
    n_trials: int,
    storage: str | None,
    seed: int,
) -> DLParams:
    """``dl`` with each architecture's section replaced by its best Optuna trial (one study per
    architecture and data version) on the training rows of ``start``..``end``."""
    from edip_dl.tuning import tune_arch
    from edip_ml.data.training_data import make_training_table, training_period

    start_day, end_day = training_period(data, start, end)
    table = make_training_table(data, start_day, end_day)
    for name in names:
        best = tune_arch(
            name,
            table.X,
            table.y,
            n_trials=n_trials,
            dl=dl,
            storage=storage,
            study_name=f"edip-dl-{name}-{data.data_version[:8]}",
            seed=seed,
        )
        dl = dl.with_overrides({name: best})
    return dl


def backtest_dl_to_files(
    models: Sequence[str],
    start: str | None,
    end: str | None,
    *,
    protocol: str = "day-ahead",
    out: Path = Path("forecasts.parquet"),
    report_dir: Path | None = None,
    store: Store | None = None,
    dl_params: DLParams | None = None,
) -> list[Path]:
    """``edip backtest --family dl``: edip_ml's backtest files with the DL parameters."""
    from edip_ml.evaluation.backtest_files import backtest_to_files

    names = check_models(models)
    ml = to_ml_params(dl_params or load_dl_params())
    return backtest_to_files(
        names, start, end, protocol=protocol, out=out, report_dir=report_dir, store=store, params=ml
    )
