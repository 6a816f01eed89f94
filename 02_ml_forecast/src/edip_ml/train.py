"""Training entry point: tune, backtest, fit, export, check parity, log, register — per model.

Why one function per step and :func:`publish` as the last one: a model reaches the registry only
through ``export → parity → MLflow run → register``, in that order, so a failure anywhere before
the registration (bad data, a converter error, a parity miss, the tracking server down) leaves the
registry exactly as it was. Each model is trained in isolation: one failing does not stop the
others, and its error is reported in its :class:`TrainResult`.
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

from edip_ml.onnx_export import check_parity, to_onnx
from edip_ml.registry import REGISTERED_MODEL, register
from edip_ml.tracking import LoggedRun, log_training_run
from edip_ml.training_data import (
    TrainingData,
    TrainingTable,
    ensure_training_data,
    make_training_table,
    training_period,
)
from edip_pipeline.calendar import PARIS

if TYPE_CHECKING:
    import onnx
    from mlflow.entities.model_registry import ModelVersion

    from edip_ml.config import MLParams
    from edip_ml.models.base import Forecaster
    from edip_pipeline.features import WeatherMode
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)


@dataclass
class Published:
    """A forecaster that went through export, parity, logging and (optionally) registration."""

    run: LoggedRun
    parity_mw: float
    version: ModelVersion | None = None


def publish(
    forecaster: Forecaster,
    *,
    X_parity: pd.DataFrame,
    X_example: pd.DataFrame | None = None,
    onnx_model: onnx.ModelProto | None = None,
    register_model: bool = True,
    model_name: str = REGISTERED_MODEL,
    version_tags: Mapping[str, str] | None = None,
    **log_kwargs: Any,
) -> Published:
    """Export ``forecaster`` to ONNX, check parity on ``X_parity``, log the run, register it.

    Raises :class:`~edip_ml.onnx_export.ParityError` (nothing logged, nothing registered) when the
    export differs from the native model by more than 1 MW. ``onnx_model`` skips the export (an
    already exported graph). ``log_kwargs`` go to :func:`~edip_ml.tracking.log_training_run`.
    """
    model = onnx_model if onnx_model is not None else to_onnx(forecaster)
    parity = check_parity(forecaster, model, X_parity)
    example = X_example if X_example is not None else X_parity
    run = log_training_run(forecaster, model, X_example=example, parity_mw=parity, **log_kwargs)
    version = (
        register(run.run_id, model_name=model_name, tags=dict(version_tags or {}))
        if register_model
        else None
    )
    return Published(run=run, parity_mw=parity, version=version)


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


# ---------------------------------------------------------------------------------------------
# the training table and the period
# ---------------------------------------------------------------------------------------------
#: days at the end of the period backtested for the report and the run's metrics
DEFAULT_BACKTEST_DAYS = 28


def _write_report(
    forecasts: pd.DataFrame, out_dir: Path, *, title: str, notes: Sequence[str] = ()
) -> list[Path]:
    """The backtest report (self-contained Plotly HTML + markdown) of :mod:`edip_ml.report`."""
    from edip_ml.report import write_report

    html, md = write_report(forecasts, out_dir, title, list(notes))
    return [html, md]


def backtest_figure(forecasts: pd.DataFrame, model: str) -> Any:
    """Actual load against the model's P50 and P10–P90 band over the backtest (Paris time)."""
    import plotly.graph_objects as go

    f = forecasts[forecasts["model"] == model].sort_values("target_time")
    t = pd.DatetimeIndex(pd.to_datetime(f["target_time"], utc=True)).tz_convert(PARIS)
    fig = go.Figure(
        [
            go.Scatter(x=t, y=f["p90"], line={"width": 0}, showlegend=False, hoverinfo="skip"),
            go.Scatter(
                x=t,
                y=f["p10"],
                fill="tonexty",
                line={"width": 0},
                fillcolor="rgba(31,119,180,0.2)",
                name="P10–P90",
            ),
            go.Scatter(x=t, y=f["p50"], name=f"{model} P50", line={"color": "#1f77b4"}),
            go.Scatter(x=t, y=f["actual"], name="actual", line={"color": "black"}),
        ]
    )
    fig.update_layout(
        title=f"{model}: backtest forecasts vs actual load (MW, Paris time)",
        yaxis_title="MW",
        hovermode="x unified",
    )
    return fig


# ---------------------------------------------------------------------------------------------
# train
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

    results: list[TrainResult] = []
    table: TrainingTable | None = None
    try:
        data = ensure_training_data(data, store, params, weather, params.protocol)
        start_day, end_day = training_period(data, start, end)
        days = backtest_days or DEFAULT_BACKTEST_DAYS
        bt_start = end_day - pd.Timedelta(days=days - 1)
        table = make_training_table(data, start_day, end_day)
    except Exception as exc:  # every model would fail the same way: say so on each
        log.exception("cannot build the training data")
        error = f"{type(exc).__name__}: {exc}"
        return [TrainResult(model=name, ok=False, error=error) for name in models]

    for name in models:
        t0 = time.perf_counter()
        try:
            if name == "combination":  # experts + ML-Poly state (edip_ml.combination)
                from edip_ml.combination import train_combination

                result = train_combination(
                    table=table, data=data, store=store, params=params,
                    period=(start_day, end_day, bt_start), register_models=register_models,
                    model_name=model_name, experiment=experiment, weather=weather,
                )  # fmt: skip
                log.info("%s (%.1fs)", result.summary(), time.perf_counter() - t0)
                results.append(result)
                continue
            result = _train_one(
                name,
                table,
                data=data,
                store=store,
                params=params,
                fixed=overrides.get(name, {}),
                period=(start_day, end_day, bt_start),
                tune=tune,
                tuning_storage=tuning_storage,
                report_dir=report_dir,
                register_models=register_models,
                model_name=model_name,
                experiment=experiment,
                weather=weather,
            )
        except Exception as exc:
            log.exception("%s: training failed; the registry is unchanged", name)
            result = TrainResult(model=name, ok=False, error=f"{type(exc).__name__}: {exc}")
        log.info("%s (%.1fs)", result.summary(), time.perf_counter() - t0)
        results.append(result)
    if register_models:
        _best_is_challenger(results, model_name)
    return results


def _best_is_challenger(results: list[TrainResult], model_name: str) -> None:
    """Of the versions registered by this batch, the best backtest MAPE keeps ``challenger``.

    Each registration moved the alias to its own version; for a batch (``rf,xgboost,lightgbm``)
    the one ``edip promote`` should judge is the best, not the last trained.
    """
    from mlflow import MlflowClient

    from edip_ml.registry import CHALLENGER

    registered = [r for r in results if r.ok and r.version is not None]
    if not registered:
        return
    best = min(registered, key=lambda r: r.metrics.get("mape", float("inf")))
    if len(registered) > 1:
        MlflowClient().set_registered_model_alias(model_name, CHALLENGER, str(best.version))
        log.info(
            "%s v%s (%s) is the challenger of this batch", model_name, best.version, best.model
        )
    best.challenger = True


def _train_one(
    name: str,
    table: TrainingTable,
    *,
    data: TrainingData,
    store: Store,
    params: MLParams,
    fixed: dict[str, Any],
    period: tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp],
    tune: int,
    tuning_storage: str | None,
    report_dir: Path | None,
    register_models: bool,
    model_name: str,
    experiment: str,
    weather: WeatherMode,
) -> TrainResult:
    from edip_ml import metrics
    from edip_ml.backtest import backtest, weather_label
    from edip_ml.models import available_models, make_model

    known = available_models()
    if name not in known:
        raise ValueError(f"unknown model {name!r}; known: {sorted(known)}")
    start_day, end_day, bt_start = period
    X, y = table.X, table.y
    if tune > 0:
        from edip_ml.tuning import DEFAULT_STORAGE, SEARCH_SPACES
        from edip_ml.tuning import tune as run_tuning

        if name in SEARCH_SPACES:
            best = run_tuning(
                name,
                X,
                y,
                n_trials=tune,
                storage=tuning_storage or DEFAULT_STORAGE,
                study_name=f"edip-ml-{name}-{store.data_version()[:8]}",
                fixed=fixed,
                seed=params.seed,
                ml_params=params,
            )
            params = params.with_overrides({name: best})
        else:
            log.info("%s: no search space, not tuned", name)

    # the backtest of the last days: the run's metrics and report (baselines alongside)
    bt_params = params.with_overrides({"backtest": {"train_start": str(start_day.date())}})
    result = backtest(
        store,
        [name],
        bt_start,
        end_day,
        params.protocol,
        bt_params,
        weather=weather,
        progress=False,
        data=data,
    )
    forecasts = result.forecasts
    table_metrics = metrics.summary(forecasts)
    if name not in table_metrics.index:
        raise ValueError(f"{name}: the backtest {bt_start.date()}..{end_day.date()} gave no rows")
    row: dict[Any, Any] = dict(table_metrics.loc[name].to_dict())
    scores = {str(k): float(v) for k, v in row.items() if _is_number(v)}

    forecaster = make_model(name, params).fit(X, y, params.calibration_fraction)
    forecaster.feature_params = data.feature_params.model_dump(mode="json")
    targets = pd.DatetimeIndex(X.index.get_level_values("target_time")).tz_convert(PARIS)
    in_bt = np.asarray(targets >= bt_start.tz_localize(PARIS))
    X_parity = X[in_bt] if in_bt.any() else X.tail(500)

    with tempfile.TemporaryDirectory(prefix=f"edip-{name}-") as tmp:
        out_dir = (report_dir / name) if report_dir else Path(tmp) / "report"
        out_dir.mkdir(parents=True, exist_ok=True)
        files = _write_report(
            forecasts,
            out_dir,
            title=f"{name}: {params.protocol} backtest {bt_start.date()}..{end_day.date()}",
            notes=[
                f"Model trained on target days {start_day.date()}..{end_day.date()}; the backtest "
                f"retrains it ({params.backtest.retrain}) on the history before each fold.",
                f"Weather of the test rows: {weather_label(forecasts.attrs['weather_shares'])}; "
                f"{100 * table.weather_share:.1f} % of training rows had weather.",
            ],
        )
        parquet = out_dir / "forecasts.parquet"
        forecasts.to_parquet(parquet)
        summary_csv = out_dir / "summary.csv"
        table_metrics.to_csv(summary_csv)
        ml = params.model_dump(exclude=set(known))
        published = publish(
            forecaster,
            X_parity=X_parity,
            register_model=register_models,
            model_name=model_name,
            params={
                "model_name": name,
                "train_start": str(start_day.date()),
                "train_end": str(end_day.date()),
                "backtest_start": str(bt_start.date()),
                "backtest_end": str(end_day.date()),
                "train_rows": len(X),
                "train_weather_share": round(table.weather_share, 4),
                "features_from": data.origin,
                "feature_groups": ",".join(table.groups),
                "tuned_trials": tune,
                "ml": ml,
            },
            metrics={"backtest_rows" if k == "n" else k: v for k, v in scores.items()},
            weather_source=table.weather_source,
            store=store,
            report_files=[*files, parquet, summary_csv],
            figures={"backtest_forecasts": backtest_figure(forecasts, name)},
            experiment=experiment,
            run_name=f"{name} {start_day.date()}..{end_day.date()}",
            tags={"protocol": params.protocol, "feature_groups": ",".join(table.groups)},
            version_tags={
                "backtest_mape": f"{scores.get('mape', float('nan')):.6f}",
                "backtest_period": f"{bt_start.date()}..{end_day.date()}",
            },
        )
        report_path = next((f for f in files if f.suffix == ".html"), None) if report_dir else None
    version = published.version
    return TrainResult(
        model=name,
        ok=True,
        run_id=published.run.run_id,
        version=str(version.version) if version is not None else None,
        parity_mw=published.parity_mw,
        metrics=scores,
        params=params.hyper(name),
        report=report_path,
    )


def _is_number(value: Any) -> bool:
    try:
        return bool(np.isfinite(float(value)))
    except (TypeError, ValueError):
        return False


# ---------------------------------------------------------------------------------------------
# backtest command
# ---------------------------------------------------------------------------------------------
def backtest_to_files(
    models: Sequence[str],
    start: str | None,
    end: str | None,
    *,
    protocol: str = "day-ahead",
    out: Path = Path("forecasts.parquet"),
    report_dir: Path | None = None,
    store: Store | None = None,
    params: MLParams | None = None,
    train_start: str | None = None,
    weather: WeatherMode | None = None,
    baselines: list[str] | None = None,
    n_jobs: int | None = None,
) -> list[Path]:
    """``edip backtest --family ml``: the forecasts parquet (and the report when asked).

    ``train_start``, ``baselines`` and ``n_jobs`` (threads of rf/xgboost/lightgbm) override
    params.yaml; ``weather`` the backtest's weather mode.
    """
    from edip_ml.backtest import run_backtest, write_forecasts
    from edip_ml.config import load_ml_params
    from edip_pipeline.store import Store

    store = store or Store()
    params = params or load_ml_params()
    if protocol not in ("day-ahead", "rolling-24h"):
        raise ValueError(f"protocol must be 'day-ahead' or 'rolling-24h', got {protocol!r}")
    overrides: dict[str, Any] = {}
    if train_start is not None:
        overrides["backtest"] = {"train_start": train_start}
    if n_jobs is not None:
        overrides.update({m: {"n_jobs": n_jobs} for m in ("rf", "xgboost", "lightgbm")})
    if overrides:
        params = params.with_overrides(overrides)
    forecasts = run_backtest(
        store,
        list(models),
        start,
        end,
        "day-ahead" if protocol == "day-ahead" else "rolling-24h",
        params,
        weather=weather,
        baselines=baselines,
        progress=None,
    )
    from edip_ml.backtest import weather_label

    share = forecasts.attrs.get("train_weather_share")
    notes = [
        f"Weather of the test rows: {weather_label(forecasts.attrs.get('weather_shares', {}))}; "
        f"{'-' if share is None else f'{100 * share:.1f} %'} of training rows had weather "
        f"(source {forecasts.attrs.get('weather_source')})."
    ]
    log.info("%s", notes[0])
    paths = [write_forecasts(forecasts, out)]
    if report_dir is not None:
        paths += _write_report(
            forecasts,
            report_dir,
            title=f"EDIP {protocol} backtest: {', '.join(models)}",
            notes=notes,
        )
    return paths
