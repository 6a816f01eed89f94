"""Training entry point: tune, backtest, fit, then publish — per model.

Why one function per step and :func:`~edip_ml.publish.publish` as the last one: a model reaches
the registry only through ``export → parity → MLflow run → register`` (:mod:`edip_ml.publish`),
so a failure anywhere before the registration (bad data, a converter error, a parity miss, the
tracking server down) leaves the registry exactly as it was. Each model is trained in isolation:
one failing does not stop the others, and its error is reported in its :class:`TrainResult`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edip_ml.backtest_files import backtest_figure, write_backtest_report
from edip_ml.evaluation_window import tag_training_period
from edip_ml.publish import Published, best_is_challenger, publish
from edip_ml.training_data import (
    TrainingData,
    TrainingTable,
    ensure_training_data,
    make_training_table,
    training_period,
)
from edip_pipeline.calendar import PARIS

if TYPE_CHECKING:
    from edip_ml.config import MLParams
    from edip_ml.models.base import Forecaster
    from edip_pipeline.features import WeatherMode
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: days at the end of the period backtested for the report and the run's metrics
DEFAULT_BACKTEST_DAYS = 28


@dataclass
class TrainResult:
    """Outcome of training one model (``ok`` False: ``error`` says why; registry untouched)."""

    model: str
    ok: bool
    run_id: str | None = None
    version: str | None = None
    parity_mw: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    report: Path | None = None
    challenger: bool = False

    @classmethod
    def of(
        cls, model: str, published: Published, metrics: dict[str, float], **extra: Any
    ) -> TrainResult:
        """The result of a model :func:`~edip_ml.publish.publish` logged (and maybe registered)."""
        version = published.version
        return cls(
            model=model,
            ok=True,
            run_id=published.run.run_id,
            version=str(version.version) if version is not None else None,
            parity_mw=published.parity_mw,
            metrics=metrics,
            **extra,
        )

    def summary(self) -> str:
        if not self.ok:
            return f"{self.model}: FAILED — {self.error}"
        mape = self.metrics.get("mape")
        figure = f"backtest MAPE {mape * 100:.2f} %, " if mape is not None else ""
        where = f"version {self.version}" if self.version else "not registered"
        if self.challenger:
            where += " (challenger)"
        return (
            f"{self.model}: {figure}ONNX parity {self.parity_mw:.3g} MW, run {self.run_id}, {where}"
        )


@dataclass(frozen=True)
class _Batch:
    """What every model of one :func:`train_models` call shares."""

    data: TrainingData
    table: TrainingTable
    store: Store
    params: MLParams
    period: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]  # start, end, backtest start
    tune: int
    tuning_storage: str | None
    report_dir: Path | None
    register_models: bool
    model_name: str
    experiment: str
    weather: WeatherMode


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
    batch = _Batch(
        data=data, table=table, store=store, params=params, period=period, tune=tune,
        tuning_storage=tuning_storage, report_dir=report_dir, register_models=register_models,
        model_name=model_name, experiment=experiment, weather=weather,
    )  # fmt: skip
    results = [_train_isolated(name, batch, overrides.get(name, {})) for name in models]
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


def _train_isolated(name: str, batch: _Batch, fixed: dict[str, Any]) -> TrainResult:
    """One model of the batch; its failure becomes a failed :class:`TrainResult`, not a raise."""
    t0 = time.perf_counter()
    try:
        if name == "combination":  # experts + ML-Poly state (edip_ml.combination)
            result = _train_combination(batch)
        else:
            result = _train_one(name, batch, fixed)
    except Exception as exc:
        log.exception("%s: training failed; the registry is unchanged", name)
        result = TrainResult(model=name, ok=False, error=f"{type(exc).__name__}: {exc}")
    log.info("%s (%.1fs)", result.summary(), time.perf_counter() - t0)
    return result


def _train_combination(batch: _Batch) -> TrainResult:
    from edip_ml.combination import train_combination

    result: TrainResult = train_combination(
        table=batch.table, data=batch.data, store=batch.store, params=batch.params,
        period=batch.period, register_models=batch.register_models,
        model_name=batch.model_name, experiment=batch.experiment, weather=batch.weather,
    )  # fmt: skip
    return result


# ---------------------------------------------------------------------------------------------
# one model
# ---------------------------------------------------------------------------------------------
def _train_one(name: str, batch: _Batch, fixed: dict[str, Any]) -> TrainResult:
    """Tune, backtest, fit, write the report files and publish one model."""
    from edip_ml.models import available_models

    known = available_models()
    if name not in known:
        raise ValueError(f"unknown model {name!r}; known: {sorted(known)}")
    params = _tuned_params(name, batch, fixed)
    forecasts, table_metrics, scores = _backtest_scores(name, batch, params)
    forecaster, X_parity = _fit(name, batch, params)
    with tempfile.TemporaryDirectory(prefix=f"edip-{name}-") as tmp:
        out_dir = (batch.report_dir / name) if batch.report_dir else Path(tmp) / "report"
        out_dir.mkdir(parents=True, exist_ok=True)
        files = _write_run_files(name, batch, params, forecasts, table_metrics, out_dir)
        published = publish(
            forecaster,
            X_parity=X_parity,
            register_model=batch.register_models,
            model_name=batch.model_name,
            **_run_record(name, batch, params, scores, known),
            report_files=files,
            figures={"backtest_forecasts": backtest_figure(forecasts, name)},
        )
        html = next((f for f in files if f.suffix == ".html"), None)
        report_path = html if batch.report_dir else None
    return TrainResult.of(name, published, scores, params=params.hyper(name), report=report_path)


def _tuned_params(name: str, batch: _Batch, fixed: dict[str, Any]) -> MLParams:
    """The batch's parameters, with the Optuna study's best for ``name`` when tuning is asked."""
    params = batch.params
    if batch.tune <= 0:
        return params
    from edip_ml.tuning import DEFAULT_STORAGE, SEARCH_SPACES
    from edip_ml.tuning import tune as run_tuning

    if name not in SEARCH_SPACES:
        log.info("%s: no search space, not tuned", name)
        return params
    best = run_tuning(
        name,
        batch.table.X,
        batch.table.y,
        n_trials=batch.tune,
        storage=batch.tuning_storage or DEFAULT_STORAGE,
        study_name=f"edip-ml-{name}-{batch.store.data_version()[:8]}",
        fixed=fixed,
        seed=params.seed,
        ml_params=params,
    )
    return params.with_overrides({name: best})


def _backtest_scores(
    name: str, batch: _Batch, params: MLParams
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """The backtest of the last days: forecasts, metrics table (baselines alongside), scores."""
    from edip_ml import metrics
    from edip_ml.backtest import backtest

    start_day, end_day, bt_start = batch.period
    bt_params = params.with_overrides({"backtest": {"train_start": str(start_day.date())}})
    result = backtest(
        batch.store,
        [name],
        bt_start,
        end_day,
        params.protocol,
        bt_params,
        weather=batch.weather,
        progress=False,
        data=batch.data,
    )
    forecasts = result.forecasts
    table_metrics = metrics.summary(forecasts)
    if name not in table_metrics.index:
        raise ValueError(f"{name}: the backtest {bt_start.date()}..{end_day.date()} gave no rows")
    row: dict[Any, Any] = dict(table_metrics.loc[name].to_dict())
    scores = {str(k): float(v) for k, v in row.items() if _is_number(v)}
    return forecasts, table_metrics, scores


def _fit(name: str, batch: _Batch, params: MLParams) -> tuple[Forecaster, pd.DataFrame]:
    """The final fit on the whole period, and the rows its ONNX parity is checked on."""
    from edip_ml.models import make_model

    X, y = batch.table.X, batch.table.y
    forecaster = make_model(name, params).fit(X, y, params.calibration_fraction)
    forecaster.feature_params = batch.data.feature_params.model_dump(mode="json")
    bt_start = batch.period[2]
    targets = pd.DatetimeIndex(X.index.get_level_values("target_time")).tz_convert(PARIS)
    in_bt = np.asarray(targets >= bt_start.tz_localize(PARIS))
    X_parity = X[in_bt] if in_bt.any() else X.tail(500)
    return forecaster, X_parity


def _write_run_files(
    name: str,
    batch: _Batch,
    params: MLParams,
    forecasts: pd.DataFrame,
    table_metrics: pd.DataFrame,
    out_dir: Path,
) -> list[Path]:
    """The report (HTML first, markdown), the forecasts parquet and the metrics CSV of the run."""
    from edip_ml.backtest import weather_label

    start_day, end_day, bt_start = batch.period
    files = write_backtest_report(
        forecasts,
        out_dir,
        title=f"{name}: {params.protocol} backtest {bt_start.date()}..{end_day.date()}",
        notes=[
            f"Model trained on target days {start_day.date()}..{end_day.date()}; the backtest "
            f"retrains it ({params.backtest.retrain}) on the history before each fold.",
            f"Weather of the test rows: {weather_label(forecasts.attrs['weather_shares'])}; "
            f"{100 * batch.table.weather_share:.1f} % of training rows had weather.",
        ],
    )
    parquet = out_dir / "forecasts.parquet"
    forecasts.to_parquet(parquet)
    summary_csv = out_dir / "summary.csv"
    table_metrics.to_csv(summary_csv)
    return [*files, parquet, summary_csv]


def _run_record(
    name: str, batch: _Batch, params: MLParams, scores: dict[str, float], known: Any
) -> dict[str, Any]:
    """What the MLflow run and the registry version record (kwargs of ``publish``)."""
    start_day, end_day, bt_start = batch.period
    table = batch.table
    return {
        "params": {
            "model_name": name,
            "train_start": str(start_day.date()),
            "train_end": str(end_day.date()),
            "backtest_start": str(bt_start.date()),
            "backtest_end": str(end_day.date()),
            "train_rows": len(table.X),
            "train_weather_share": round(table.weather_share, 4),
            "features_from": batch.data.origin,
            "feature_groups": ",".join(table.groups),
            "tuned_trials": batch.tune,
            "ml": params.model_dump(exclude=set(known)),
        },
        "metrics": {"backtest_rows" if k == "n" else k: v for k, v in scores.items()},
        "weather_source": table.weather_source,
        "store": batch.store,
        "experiment": batch.experiment,
        "run_name": f"{name} {start_day.date()}..{end_day.date()}",
        "tags": {"protocol": params.protocol, "feature_groups": ",".join(table.groups)},
        "version_tags": {
            "backtest_mape": f"{scores.get('mape', float('nan')):.6f}",
            "backtest_period": f"{bt_start.date()}..{end_day.date()}",
        },
    }


def _is_number(value: Any) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False
