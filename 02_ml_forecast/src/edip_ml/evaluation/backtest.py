"""Leak-free rolling-origin backtest: expanding window, periodic retraining.

Protocol
--------
* The feature table is built **once** for training history + test period (vectorised, one store
  read) and sliced per fold; the pipeline's availability rule already keeps every row's features
  to what was known at its own origin.
* Test rows are grouped into folds by retraining date (``backtest.retrain``, monthly by default,
  on Paris days: the target day for day-ahead, the origin day for rolling-24h).
* Each fold retrains every model on **all** rows (expanding window) of the Paris days over by the
  fold's first test origin (``data.folds``). So no label the forecaster could not have known when
  issuing the fold's first forecast is used; the fold records ``train_end`` (end of the last
  training target) to prove it.
* Each model is walked forward over its test rows by the one engine
  (:mod:`edip_ml.models.walk_forward`, the live loop's too): before each origin the outcomes
  published by it (``ml.absorb_lag``) are absorbed (online state, adaptive P10–P90 band), then the
  origin is forecast.
* Baselines run on the same harness; RTE's D-1 forecast (``load_national.forecast_d1_mw``) is
  added as pseudo-model ``rte_d1`` (day-ahead protocol only; no quantiles).

Weather: the source actually used is recorded (``weather_source`` in the result and in the
frame's ``attrs``); ``"observed-as-forecast"`` means observations stood in for forecasts — an
optimistic backtest, and reports say so.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from edip_ml.config import PROTOCOLS, MLParams, Protocol, load_ml_params
from edip_ml.data.dataset import check_history
from edip_ml.data.folds import (
    Fold,
    FoldPlan,
    Window,
    fold_keys,
    fold_rows,
    plan_folds,
    resolve_window,
)
from edip_ml.data.training_data import TrainingData, ensure_training_data
from edip_ml.evaluation.forecast_frame import assemble_forecasts, forecast_frame
from edip_ml.models import OnlineForecaster, make_model
from edip_ml.models.aggregation import COMBINATION, COMBINATION_RTE, aggregate
from edip_ml.models.base import Forecaster
from edip_ml.models.bias_correction import SUFFIX, bias_corrected
from edip_ml.models.walk_forward import AbsorbRule, Static, Stepping, WalkForward, new_band
from edip_pipeline.conformal import CONFORMAL_KEY
from edip_pipeline.features import WeatherMode
from edip_pipeline.rte_forecast import rte_d1
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

RTE_D1 = "rte_d1"
#: ``attrs`` key of each model's end of walk (:func:`_end_of_walks`)
WALKS_KEY = "walks"


@dataclass
class BacktestResult:
    """The forecasts frame and how it was made."""

    forecasts: pd.DataFrame
    folds: list[Fold]
    protocol: str
    step: str
    weather_source: str
    groups: list[str]
    models: list[str]
    data_version: str | None
    fit_seconds: dict[str, float]
    seconds: float

    def attrs(self) -> dict[str, Any]:
        """Provenance stored in ``forecasts.attrs`` (and the parquet metadata)."""
        return {
            "protocol": self.protocol,
            "step": self.step,
            "weather_source": self.weather_source,
            "groups": list(self.groups),
            "models": list(self.models),
            "data_version": self.data_version,
            "fit_seconds": {k: round(v, 3) for k, v in self.fit_seconds.items()},
            "seconds": round(self.seconds, 3),
            "folds": [f.as_dict() for f in self.folds],
        }


def weather_label(shares: dict[str, float]) -> str:
    """``{"forecast": 0.4, "observed": 0.6}`` → ``"forecast 40.0 %, observed 60.0 % (oracle)"``."""
    if not shares:
        return "unknown"
    oracle = {"observed", "observed-daily"}
    parts = [
        f"{k} {100 * v:.1f} %{' (oracle)' if k in oracle else ''}"
        for k, v in sorted(shares.items(), key=lambda kv: -kv[1])
    ]
    return ", ".join(parts)


def _rte_d1(
    store: Store, test: pd.DataFrame, actual: pd.Series, step: pd.Timedelta
) -> pd.DataFrame:
    """RTE's own D-1 forecast at the test targets, averaged to ``step`` (empty if not stored),
    from ODRÉ or ENTSO-E and scored against that source's actual (:func:`rte_d1`)."""
    targets = pd.DatetimeIndex(test.index.get_level_values("target_time"))
    d1 = rte_d1(store, targets, step, origins=pd.DatetimeIndex(test.index.get_level_values(0)))
    scored = actual if d1.source == "odre" else pd.Series(d1.actual, index=actual.index)
    out = forecast_frame(
        test.index, RTE_D1, np.full(len(test), np.nan), d1.forecast, np.nan, scored
    )
    return out[out["p50"].notna()]


def _combinations(
    frames: list[pd.DataFrame], names: list[str], params: MLParams, rule: AbsorbRule
) -> tuple[list[pd.DataFrame], list[str]]:
    """Append the online aggregations (without and, when stored, with RTE's D-1 as expert)."""
    cfg = params.combination
    if not cfg.enabled:
        return frames, names
    merged = pd.concat(frames, ignore_index=True)
    experts = list(cfg.experts)
    for model in cfg.bias_corrected_experts:
        corrected = bias_corrected(merged, model, cfg.bias_alpha)
        if len(corrected):  # reported as a model too, and combined as one more expert
            frames.append(corrected)
            names.append(model + SUFFIX)
            experts.append(model + SUFFIX)
    if len(experts) > len(cfg.experts):
        merged = pd.concat(frames, ignore_index=True)
    variants = [(COMBINATION, experts)]
    if RTE_D1 in names:
        variants.append((COMBINATION_RTE, [*experts, RTE_D1]))
    for label, experts in variants:
        frame, _ = aggregate(merged, experts, label, cfg.interval_window_days,
                             cfg.interval_gamma, cfg.forget, rule=rule)  # fmt: skip
        if len(frame):
            frames.append(frame)
            names.append(label)
    return frames, names


def backtest(
    store: Store,
    models: list[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    protocol: Protocol | None = None,
    params: MLParams | None = None,
    *,
    weather: WeatherMode | None = None,
    baselines: list[str] | None = None,
    progress: bool | None = None,
    data: TrainingData | None = None,
) -> BacktestResult:
    """Run the backtest (see the module doc) and return forecasts with fold metadata.

    ``models`` defaults to ``params.models``; ``baselines`` (default
    ``params.backtest.baselines``, ``[]`` for none) are appended. ``start``/``end`` are Paris
    days (inclusive), defaulting to ``params.backtest`` and, when those are null, to the last
    ``backtest.test_months`` whole months of the stored load. ``data`` (built once by the caller)
    is used when it matches ``params``/``weather``/``protocol``, else loaded here.
    ``progress=None`` shows a bar on a TTY (each fold is logged either way).
    """
    t_start = time.perf_counter()
    params = params or load_ml_params()
    protocol = protocol or params.protocol
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    bt, step = params.backtest, pd.Timedelta(params.step)
    names = _model_names(params, models, baselines)
    data = ensure_training_data(data, store, params, weather or bt.weather, protocol)
    window = resolve_window(bt, data, start, end)
    X, y, ft = data.xy(window.train_day, window.end_day, drop_missing_target=False)
    train_rows = np.asarray(fold_keys(X, protocol) < window.start_day)
    weather_share = data.weather_share(X[train_rows])
    test_weather = ft.weather_shares(~train_rows)  # per-row source of the test rows' weather
    _log_weather(window, weather_share, ft.weather_source, test_weather)

    plan = plan_folds(X, y, protocol, window, bt.retrain, data)
    rule = AbsorbRule.of(params.absorb_lag, data.feature_params.origin_hour_local)
    frames, folds, fit_seconds, walks = _run_folds(plan, X, y, names, params, progress, rule)
    if protocol == "day-ahead":
        frames, names = _benchmark_and_combinations(
            frames, names, store, X[plan.is_test], y[plan.is_test], params, step, rule
        )
    result = BacktestResult(
        forecasts=assemble_forecasts(frames),
        folds=folds,
        protocol=protocol,
        step=params.step,
        weather_source=ft.weather_source,
        groups=list(ft.available_groups),
        models=names,
        data_version=ft.data_version,
        fit_seconds=fit_seconds,
        seconds=time.perf_counter() - t_start,
    )
    _annotate(result, window, weather_share, test_weather, data.origin)
    result.forecasts.attrs[WALKS_KEY] = walks
    rule.stamp(result.forecasts)  # the combinations replayed over it in training absorb alike
    return result


def _annotate(
    result: BacktestResult,
    window: Window,
    weather_share: float,
    test_weather: dict[str, float],
    features_from: str,
) -> None:
    """Store the provenance in the forecasts' ``attrs`` and log the run's one-line summary."""
    attrs = result.forecasts.attrs
    attrs.update(result.attrs())
    attrs["train_weather_share"] = round(weather_share, 4)
    attrs["weather_shares"] = test_weather
    attrs["features_from"] = features_from
    log.info(
        "backtest %s %s..%s: %d folds, %d rows, models %s, weather %s, %.1fs",
        result.protocol,
        window.start_day.date(),
        window.end_day.date(),
        len(result.folds),
        len(result.forecasts),
        result.models,
        result.weather_source,
        result.seconds,
    )


def _model_names(
    params: MLParams, models: list[str] | None, baselines: list[str] | None
) -> list[str]:
    """Models then baselines, de-duplicated; the combinations are not fitted (built at the end)."""
    bt = params.backtest
    names = list(
        dict.fromkeys(
            [*(models or params.models), *(bt.baselines if baselines is None else baselines)]
        )
    )
    # the combinations are computed from the experts' forecasts at the end, not fitted
    return [n for n in names if n not in (COMBINATION, COMBINATION_RTE)]


def _log_weather(
    window: Window, weather_share: float, weather_source: str, test_weather: dict[str, float]
) -> None:
    log.info(
        "backtest data: training from %s, %.1f %% of training rows with weather (%s); test rows' "
        "weather: %s",
        window.train_day.date(),
        100 * weather_share,
        weather_source,
        weather_label(test_weather),
    )
    if weather_source == "observed-as-forecast":
        log.warning(
            "weather: observed-as-forecast (observations stand in for forecasts: optimistic)"
        )


def _run_folds(
    plan: FoldPlan,
    X: pd.DataFrame,
    y: pd.Series,
    names: list[str],
    params: MLParams,
    progress: bool | None,
    rule: AbsorbRule,
) -> tuple[list[pd.DataFrame], list[Fold], dict[str, float], dict[str, dict[str, Any]]]:
    """Retrain every model per fold and walk it forward over the fold's test rows, one engine
    per model across the folds (its band runs on, the refit replaces the model); returns the
    frames, the folds, the fit seconds and each model's band at the end of the walk."""
    frames: list[pd.DataFrame] = []
    folds: list[Fold] = []
    fit_seconds: dict[str, float] = dict.fromkeys(names, 0.0)
    walks: dict[str, WalkForward] = {}
    bar = tqdm(
        total=len(plan.fold_ids) * len(names),
        desc=f"backtest {params.protocol}",
        unit="fit",
        disable=None if progress is None else not progress,
    )
    try:
        for k in plan.fold_ids:
            fold, te, tr = fold_rows(plan, k, pd.Timedelta(params.step))
            label = f"fold {k} ({plan.bounds[k].date()})"
            check_history(y[tr], params.backtest.min_train_days, label)
            if fold.train_end > fold.first_origin:  # structural; kept as a loud guard
                raise AssertionError(f"{label}: training target after the first test origin")
            for name in names:
                bar.set_postfix_str(f"{label} {name}")
                frames.append(_fit_walk(name, params, fold, (X, y), tr, te, walks, rule))
                fit_seconds[name] += fold.fit_seconds[name]
                bar.update(1)
            log.info(
                "%s: train %d rows (targets %s .. %s), test %d rows from origin %s",
                label,
                fold.n_train,
                fold.train_first_target,
                fold.train_last_target,
                fold.n_test,
                fold.first_origin,
            )
            folds.append(fold)
    finally:
        bar.close()
    return frames, folds, fit_seconds, _end_of_walks(walks)


def _end_of_walks(walks: dict[str, WalkForward]) -> dict[str, dict[str, Any]]:
    """Per model, ``state``: its online state and band at the last origin (what a version
    deployed then would serve), ``band``: the band once every outcome is in (what training
    hands to the final model: :func:`edip_ml.training.train_steps.serve_band`)."""
    out: dict[str, dict[str, Any]] = {}
    for name, walk in walks.items():
        end: dict[str, Any] = {}
        model = walk.model
        if isinstance(model, OnlineForecaster) and (state := model.online_state()):
            end["state"] = {**state, **({CONFORMAL_KEY: walk.band.to_dict()} if walk.band else {})}
        walk.finish()
        if walk.band is not None:
            end["band"] = walk.band.to_dict()
        out[name] = end
    return out


def _stepping(model: Forecaster) -> Stepping:
    return model if isinstance(model, OnlineForecaster) else Static(model)


def _fit_walk(
    name: str,
    params: MLParams,
    fold: Fold,
    Xy: tuple[pd.DataFrame, pd.Series],
    tr: np.ndarray,
    te: np.ndarray,
    walks: dict[str, WalkForward],
    rule: AbsorbRule,
) -> pd.DataFrame:
    """Fit ``name`` on the fold's training rows and walk it over its test rows (the engine of
    :mod:`edip_ml.models.walk_forward`: the rows known by each origin absorbed by ``rule``, the
    band adapting); records the fold's fit time.

    The band: the adaptive conformal band, the rule the served models apply. Why for static
    models too: a refit's calibration slice (its last months) misses the season being forecast,
    so static offsets under-cover in winter and over-cover in summer.
    ``combination.interval_window_days = 0`` keeps the static offsets of models not online.
    """
    X, y = Xy
    Xte = X[te]
    t0 = time.perf_counter()
    model = make_model(name, params).fit(X[tr], y[tr], params.calibration_fraction)
    walk = walks.get(name)
    if walk is None:
        cfg = params.combination
        online = isinstance(model, OnlineForecaster)
        band = new_band(cfg.interval_window_days, cfg.interval_gamma)
        walks[name] = walk = WalkForward(
            _stepping(model), band if cfg.interval_window_days > 0 or online else None, rule
        )
    else:  # a refit: the rows it was trained on, known by its first origin, absorbed with the
        # model before it; the later ones known by then with the refit (as the live loop does)
        walk.advance(fold.first_origin, through=fold.train_end)
        walk.model = _stepping(model)
    pred = walk.run(Xte, y[te])
    fold.fit_seconds[name] = round(time.perf_counter() - t0, 3)
    return forecast_frame(
        Xte.index,
        name,
        pred["p10"].to_numpy(),
        pred["p50"].to_numpy(),
        pred["p90"].to_numpy(),
        y[te],
    )


def _benchmark_and_combinations(
    frames: list[pd.DataFrame],
    names: list[str],
    store: Store,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    params: MLParams,
    step: pd.Timedelta,
    rule: AbsorbRule,
) -> tuple[list[pd.DataFrame], list[str]]:
    """Day-ahead only: RTE's D-1 forecast (when stored), then the online combinations."""
    rte = _rte_d1(store, X_test, y_test, step)
    if len(rte):
        frames.append(rte)
        names.append(RTE_D1)
    return _combinations(frames, names, params, rule)


def run_backtest(
    store: Store,
    models: list[str] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    protocol: Protocol | None = None,
    params: MLParams | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """The forecasts frame of :func:`backtest` (one row per origin, target_time, model).

    ``attrs`` carry the provenance: protocol, step, ``weather_source``, groups, per-fold
    ``train_end`` / ``first_origin``, timings.
    """
    return backtest(store, models, start, end, protocol, params, **kwargs).forecasts
