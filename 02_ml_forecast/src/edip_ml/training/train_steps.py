"""The steps of training one model: tune, backtest, final fit, report files, publish.

Why apart from :mod:`edip_ml.training.train`: that module decides what is fitted once and in which order
(members before the combination made of them); these are the steps each model goes through.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edip_ml.evaluation.backtest_files import backtest_figure, write_backtest_report
from edip_ml.registry.publish import publish
from edip_ml.training.train_result import TrainResult
from edip_pipeline.calendar import PARIS

if TYPE_CHECKING:
    from edip_ml.config import MLParams
    from edip_ml.data.training_data import TrainingData, TrainingTable
    from edip_ml.models.base import Forecaster
    from edip_pipeline.features import WeatherMode
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
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


@dataclass
class Trained:
    """A model of the set, fitted and backtested once; a composite reuses it."""

    forecaster: Forecaster
    params: MLParams
    forecasts: pd.DataFrame  # its own backtest forecasts (members' too for a composite)
    X_parity: pd.DataFrame
    fits: dict[str, int]


def publish_trained(
    name: str, stage: Trained, batch: Batch, reference: pd.DataFrame | None
) -> TrainResult:
    """Write the report files of one trained model and publish it."""
    from edip_ml.evaluation import metrics

    frames = [stage.forecasts]
    if reference is not None:
        frames.append(reference[~reference["model"].isin(set(stage.forecasts["model"]))])
    forecasts = pd.concat(frames, ignore_index=True)
    forecasts.attrs = dict(stage.forecasts.attrs)
    table_metrics = metrics.summary(forecasts)
    _, end_day, bt_start = batch.period
    if name not in table_metrics.index:
        raise ValueError(f"{name}: the backtest {bt_start.date()}..{end_day.date()} gave no rows")
    row: dict[Any, Any] = dict(table_metrics.loc[name].to_dict())
    scores = {str(k): float(v) for k, v in row.items() if _is_number(v)}
    params = stage.params
    with tempfile.TemporaryDirectory(prefix=f"edip-{name}-") as tmp:
        out_dir = (batch.report_dir / name) if batch.report_dir else Path(tmp) / "report"
        out_dir.mkdir(parents=True, exist_ok=True)
        files = _write_run_files(name, batch, params, forecasts, table_metrics, out_dir)
        published = publish(
            stage.forecaster,
            X_parity=stage.X_parity,
            register_model=batch.register_models,
            model_name=batch.model_name,
            **_run_record(name, batch, params, scores, stage.fits),
            report_files=files,
            figures={"backtest_forecasts": backtest_figure(forecasts, name)},
        )
        html = next((f for f in files if f.suffix == ".html"), None)
        report_path = html if batch.report_dir else None
    return TrainResult.of(
        name, published, scores, params=params.hyper(name), report=report_path, fits=stage.fits
    )


def tuned_params(name: str, batch: Batch, fixed: dict[str, Any]) -> MLParams:
    """The batch's parameters, with the Optuna study's best for ``name`` when tuning is asked."""
    params = batch.params
    if batch.tune <= 0:
        return params
    from edip_ml.training.tuning import DEFAULT_STORAGE, tunable_models
    from edip_ml.training.tuning import tune as run_tuning

    if name not in tunable_models():
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


def backtest_model(name: str, batch: Batch, params: MLParams) -> pd.DataFrame:
    """The backtest of the last days of the period: ``name``'s forecasts (refitted per fold)."""
    from edip_ml.evaluation.backtest import backtest

    start_day, end_day, bt_start = batch.period
    bt_params = params.with_overrides({"backtest": {"train_start": str(start_day.date())}})
    result = backtest(
        batch.store, [name], bt_start, end_day, params.protocol, bt_params,
        weather=batch.weather, baselines=[], progress=False, data=batch.data,
    )  # fmt: skip
    forecasts = result.forecasts
    own = forecasts[forecasts["model"] == name].reset_index(drop=True)
    own.attrs = dict(forecasts.attrs)
    return own


def fit_final(name: str, batch: Batch, params: MLParams) -> tuple[Forecaster, pd.DataFrame]:
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


def continue_walk(forecaster: Forecaster, forecasts: pd.DataFrame, last_day: pd.Timestamp) -> None:
    """An online model serves the band its backtest's walk ended with (every outcome in) and
    says it absorbed up to ``last_day`` (its last training day), so that the live loop's update
    continues the walk the backtest evaluated (:mod:`edip_ml.models.walk_forward`)."""
    from edip_ml.evaluation.backtest import WALKS_KEY
    from edip_ml.models.base import OnlineForecaster
    from edip_pipeline.conformal import ConformalBand

    if not isinstance(forecaster, OnlineForecaster):
        return
    band = ((forecasts.attrs.get(WALKS_KEY) or {}).get(forecaster.name) or {}).get("band")
    if band:
        forecaster.band = ConformalBand.from_dict(band)
    forecaster.last_day = str(last_day.date())


def _write_run_files(
    name: str,
    batch: Batch,
    params: MLParams,
    forecasts: pd.DataFrame,
    table_metrics: pd.DataFrame,
    out_dir: Path,
) -> list[Path]:
    """The report (HTML first, markdown), the forecasts parquet and the metrics CSV of the run."""
    from edip_ml.evaluation.backtest import weather_label

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
    name: str, batch: Batch, params: MLParams, scores: dict[str, float], fits: dict[str, int]
) -> dict[str, Any]:
    """What the MLflow run and the registry version record (kwargs of ``publish``)."""
    from edip_ml.models import available_models

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
            "fits": ",".join(f"{k}={v}" for k, v in fits.items()),
            "ml": params.model_dump(exclude=set(available_models())),
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
