"""Training entry point: tune, backtest, fit, then publish — per model, each fitted once.

Why one function per step and :func:`~edip_ml.registry.publish.publish` as the last one: a model reaches
the registry only through ``export → parity → MLflow run → register`` (:mod:`edip_ml.registry.publish`),
so a failure anywhere before the registration (bad data, a converter error, a parity miss, the
tracking server down) leaves the registry exactly as it was. Each model is trained in isolation:
one failing does not stop the others, and its error is reported in its :class:`TrainResult`.

A model made of others (the combination, :meth:`~edip_ml.models.base.Forecaster.members`) is
built from its members' fits and backtest forecasts: training the default set fits and backtests
each expert exactly once (the log says how many fits each model had), and the baselines of the
reports are backtested once for the whole set.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from edip_ml.data.evaluation_window import tag_training_period
from edip_ml.data.training_data import (
    TrainingData,
    TrainingTable,
    ensure_training_data,
    make_training_table,
    training_period,
)
from edip_ml.training.train_result import TrainResult, best_is_challenger
from edip_ml.training.train_steps import (
    Batch,
    Trained,
    backtest_model,
    continue_walk,
    fit_final,
    publish_trained,
    tuned_params,
)

if TYPE_CHECKING:
    from edip_ml.config import MLParams
    from edip_ml.models.base import Forecaster
    from edip_pipeline.features import WeatherMode
    from edip_pipeline.store import Store

__all__ = ["DEFAULT_BACKTEST_DAYS", "TrainResult", "train_models", "train_set"]

log = logging.getLogger(__name__)

#: days at the end of the period backtested for the report and the run's metrics
DEFAULT_BACKTEST_DAYS = 28


# ---------------------------------------------------------------------------------------------
# the batch
# ---------------------------------------------------------------------------------------------
def train_models(
    models: Sequence[str],
    start: str | None = None,
    end: str | None = None,
    tune: int = 0,
    *,
    store: Store | None = None,
    params: MLParams | None = None,
    model_params: Mapping[str, Mapping[str, Any]] | None = None,
    backtest_days: int | None = None,
    tuning_storage: str | None = None,
    report_dir: Path | None = None,
    register_models: bool = True,
    model_name: str | None = None,
    experiment: str | None = None,
    weather: WeatherMode | None = None,
    data: TrainingData | None = None,
) -> list[TrainResult]:
    """Train, evaluate, export, log and register each of ``models`` (errors isolated per model).

    ``data``: the training data when the caller built it already (DL tuning); it is reused when
    it matches ``params``, else loaded once here and shared by every model's backtest and fit.

    Per model: optional Optuna tuning (``tune`` trials over time-series folds), the backtest of
    the last ``backtest_days`` of the period (monthly retraining, the default baselines alongside
    for the report), a final fit on the whole period ``start``..``end`` (Paris days), the ONNX
    export with parity checked on the backtest period's rows, an MLflow run, and a registry
    version aliased ``challenger``. ``model_params`` override hyper-parameters per model
    (``{"xgboost": {"n_estimators": 50}}``); names and gates come from ``params`` (params.yaml).
    """
    from edip_ml.config import load_ml_params
    from edip_pipeline.store import Store

    store = store or Store()
    params = params or load_ml_params()
    overrides = {k: dict(v) for k, v in (model_params or {}).items()}
    if overrides:
        params = params.with_overrides(overrides)
    weather = weather or params.backtest.weather
    model_name = model_name or params.tracking.registered_model
    experiment = experiment or params.tracking.experiment_name

    try:
        data, table, period = _training_rows(
            data, store, params, weather, start, end, backtest_days
        )
    except Exception as exc:  # every model would fail the same way: say so on each
        log.exception("cannot build the training data")
        error = f"{type(exc).__name__}: {exc}"
        return [TrainResult(model=name, ok=False, error=error) for name in models]
    batch = Batch(
        data=data, table=table, store=store, params=params, period=period, tune=tune,
        tuning_storage=tuning_storage, report_dir=report_dir, register_models=register_models,
        model_name=model_name, experiment=experiment, weather=weather,
    )  # fmt: skip
    results = train_set(list(models), batch, overrides)
    if register_models:
        tag_training_period(results, model_name, period[0], period[1])
        best_is_challenger(results, model_name)
    return results


def _training_rows(
    data: TrainingData | None,
    store: Store,
    params: MLParams,
    weather: WeatherMode,
    start: str | None,
    end: str | None,
    backtest_days: int | None,
) -> tuple[TrainingData, TrainingTable, tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]]:
    """The data, the training rows, and the (start, end, backtest start) days of the batch."""
    data = ensure_training_data(data, store, params, weather, params.protocol)
    start_day, end_day = training_period(data, start, end)
    days = backtest_days or DEFAULT_BACKTEST_DAYS
    bt_start = end_day - pd.Timedelta(days=days - 1)
    return data, make_training_table(data, start_day, end_day), (start_day, end_day, bt_start)


# ---------------------------------------------------------------------------------------------
# the set: each model fitted and backtested once
# ---------------------------------------------------------------------------------------------
def train_set(
    names: list[str], batch: Batch, overrides: Mapping[str, dict[str, Any]]
) -> list[TrainResult]:
    """Fit and backtest every model ``names`` needs once (members first), then publish ``names``.

    A member not asked for (``--models combination``) is fitted but not published. Errors stay
    per model: a failed member leaves the composite with the others (two at least).
    """
    stages: dict[str, Trained | str] = {}
    for name in _fit_order(names, batch.params):
        t0 = time.perf_counter()
        try:
            stages[name] = _train_stage(name, batch, dict(overrides.get(name, {})), stages)
        except Exception as exc:
            log.exception("%s: training failed; the registry is unchanged", name)
            stages[name] = f"{type(exc).__name__}: {exc}"
        log.info("%s: fitted and backtested (%.1fs)", name, time.perf_counter() - t0)
    reference, baseline_fits = _baselines(batch)
    log.info("fits: %s%s", _fits_line(stages), baseline_fits)
    return [_publish_isolated(name, stages, batch, reference) for name in names]


def _fit_order(names: list[str], params: MLParams) -> list[str]:
    """``names`` with each composite's members before it, each once."""
    from edip_ml.models import make_model

    order: list[str] = []
    for name in names:
        try:
            members = make_model(name, params).members()
        except Exception:  # unknown: the stage reports it
            members = []
        order.extend(m for m in [*members, name] if m not in order)
    return order


def _fits_line(stages: Mapping[str, Trained | str]) -> str:
    """``lightgbm=1+6 folds, ..., combination=0 (reuses lightgbm, xgboost)``."""
    parts = []
    for name, stage in stages.items():
        if isinstance(stage, str):
            parts.append(f"{name}=failed")
            continue
        f = stage.fits
        reused = stage.forecaster.members()
        text = f"{name}={f['final']}+{f['backtest']} folds"
        if f.get("tuning"):
            text += f"+{f['tuning']} tuning"
        if reused:
            text += f" (reuses {', '.join(reused)})"
        parts.append(text)
    return ", ".join(parts)


def _train_stage(
    name: str, batch: Batch, fixed: dict[str, Any], stages: Mapping[str, Trained | str]
) -> Trained:
    """Tune, backtest and fit ``name`` — or, for a composite, build it from its members."""
    from edip_ml.models import available_models, make_model
    from edip_ml.models.base import FIT_COUNTS

    known = available_models()
    if name not in known:
        raise ValueError(f"unknown model {name!r}; known: {sorted(known)}")
    proto = make_model(name, batch.params)
    if proto.members():
        return _compose(proto, batch, stages)
    before = FIT_COUNTS[name]
    params = tuned_params(name, batch, fixed)
    tuned = FIT_COUNTS[name]
    forecasts = backtest_model(name, batch, params)
    backtested = FIT_COUNTS[name]
    forecaster, X_parity = fit_final(name, batch, params)
    continue_walk(forecaster, forecasts, batch.period[1])
    fits = {
        "final": FIT_COUNTS[name] - backtested,
        "backtest": backtested - tuned,
        "tuning": tuned - before,
    }
    return Trained(forecaster, params, forecasts, X_parity, fits)


def _compose(proto: Forecaster, batch: Batch, stages: Mapping[str, Trained | str]) -> Trained:
    """A composite from its members' fits and backtest forecasts (no fit of its own)."""
    from edip_ml.models.base import OnlineForecaster
    from edip_ml.models.walk_forward import ABSORB_ATTR

    members = [s for m in proto.members() if isinstance(s := stages.get(m), Trained)]
    forecasts = pd.concat([m.forecasts for m in members], ignore_index=True)
    fitted = [m.forecaster for m in members]
    step = pd.Timedelta(batch.params.step)
    forecasts, X_parity = proto.store_inputs(batch.store, forecasts, members[0].X_parity, step)
    if ABSORB_ATTR in members[0].forecasts.attrs:  # the replay absorbs as the members' walks
        forecasts.attrs[ABSORB_ATTR] = members[0].forecasts.attrs[ABSORB_ATTR]
    own = proto.from_members(fitted, forecasts, step)
    if isinstance(proto, OnlineForecaster):
        proto.last_day = str(batch.period[1].date())
    own.attrs = dict(members[0].forecasts.attrs)
    frame = pd.concat([own, forecasts], ignore_index=True)
    frame.attrs = dict(own.attrs)
    fits = {"final": 0, "backtest": 0}
    return Trained(proto, batch.params, frame, X_parity, fits)


def _baselines(batch: Batch) -> tuple[pd.DataFrame | None, str]:
    """The reports' reference rows (baselines, RTE's D-1), backtested once for the whole set,
    and their fits for the log (``; baselines: ridge=1 folds``)."""
    from edip_ml.evaluation.backtest import backtest
    from edip_ml.models.base import FIT_COUNTS

    names = list(batch.params.backtest.baselines)
    if not names:
        return None, ""
    start_day, end_day, bt_start = batch.period
    bt_params = batch.params.with_overrides({"backtest": {"train_start": str(start_day.date())}})
    before = {n: FIT_COUNTS[n] for n in names}
    try:
        frame = backtest(
            batch.store, names, bt_start, end_day, batch.params.protocol, bt_params,
            weather=batch.weather, baselines=[], progress=False, data=batch.data,
        ).forecasts  # fmt: skip
    except Exception:  # the reports lose their reference rows, the models are unaffected
        log.exception("baselines: backtest failed; the reports show the models alone")
        return None, ""
    fits = ", ".join(f"{n}={FIT_COUNTS[n] - before[n]} folds" for n in names)
    return frame, f"; report baselines: {fits}"


def _publish_isolated(
    name: str, stages: Mapping[str, Trained | str], batch: Batch, reference: pd.DataFrame | None
) -> TrainResult:
    """Publish one trained model; its failure becomes a failed :class:`TrainResult`."""
    stage = stages.get(name, "not trained")
    try:
        if isinstance(stage, str):
            raise RuntimeError(stage)
        result = publish_trained(name, stage, batch, reference)
    except Exception as exc:
        error = stage if isinstance(stage, str) else f"{type(exc).__name__}: {exc}"
        if not isinstance(stage, str):
            log.exception("%s: publishing failed; the registry is unchanged", name)
        result = TrainResult(model=name, ok=False, error=error)
    log.info("%s", result.summary())
    return result
