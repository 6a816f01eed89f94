"""ML parameters: the ``ml:`` section of ``params.yaml``.

Kept apart from :class:`edip_pipeline.config.Params` (which ignores unknown sections) so that the
pipeline does not depend on this package; DVC stages that train or backtest depend on ``ml``.
Every knob is documented by its ``Field(description=...)``; defaults train in seconds on 2 cores.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from edip_ml.hyperparams import ModelParams, Search
from edip_ml.intraday_params import IntradayParams
from edip_pipeline.config import get_settings
from edip_pipeline.registry_names import REGISTERED_MODEL

Protocol = Literal["day-ahead", "rolling-24h", "intraday"]
#: every protocol a backtest or a training run accepts
PROTOCOLS: tuple[str, ...] = ("day-ahead", "rolling-24h", "intraday")

#: the MLflow experiment a training run is recorded in unless one is named
DEFAULT_EXPERIMENT = REGISTERED_MODEL
#: the models that only read a feature column (no training, no hyper-parameters)
BASELINES: tuple[str, ...] = ("same_hour_last_week", "same_hour_yesterday")

#: target reference: the median is learnt as ``load / reference`` (first non-NaN of these columns)
DEFAULT_TARGET_REFERENCE: tuple[str, ...] = (
    "load_last",
    "load_roll_mean_24h",
    "load_roll_mean_168h",
)


def _reference() -> list[str]:
    return list(DEFAULT_TARGET_REFERENCE)


#: keys of a model section consumed by the forecaster wrapper, not passed to the estimator
WRAPPER_KEYS: frozenset[str] = frozenset({"target_reference", "lead_weight_h"})


class EstimatorParams(ModelParams):
    """Knobs every estimator-backed model shares; subclasses add the estimator's own."""

    target_reference: list[str] = Field(
        default_factory=_reference,
        description="Learn load / reference (first non-NaN of these columns); [] = raw MW.",
    )


class RandomForestParams(EstimatorParams):
    """``sklearn.ensemble.RandomForestRegressor`` after a median imputer."""

    n_estimators: Annotated[int, Search(low=100, high=400, step=50)] = Field(
        100, description="Number of trees."
    )
    max_depth: Annotated[int | None, Search(low=8, high=30)] = Field(
        14, description="Maximum tree depth (None = unlimited)."
    )
    min_samples_leaf: Annotated[int, Search(low=1, high=20, log=True)] = Field(
        2, description="Minimum rows per leaf."
    )
    max_features: Annotated[float, Search(low=0.3, high=1.0)] = Field(
        0.5, description="Share of features tried at each split (decorrelates the trees)."
    )
    n_jobs: int | None = Field(
        None,
        description="Parallel jobs for fitting and prediction (None = the process's threads, "
        "EDIP_THREADS or its CPUs: edip_pipeline.runtime).",
    )


class XGBoostParams(EstimatorParams):
    """``xgboost.XGBRegressor`` (``tree_method="hist"``, NaN handled natively)."""

    n_estimators: Annotated[int, Search(low=200, high=1200, step=100)] = Field(
        500, description="Boosting rounds."
    )
    learning_rate: Annotated[float, Search(low=0.01, high=0.2, log=True)] = Field(
        0.05, description="Shrinkage per round."
    )
    max_depth: Annotated[int, Search(low=3, high=10)] = Field(6, description="Maximum tree depth.")
    subsample: Annotated[float, Search(low=0.6, high=1.0)] = Field(
        0.8, description="Row subsampling per tree."
    )
    colsample_bytree: Annotated[float, Search(low=0.5, high=1.0)] = Field(
        0.8, description="Feature subsampling per tree."
    )
    min_child_weight: Annotated[float, Search(low=1.0, high=20.0, log=True)] = Field(
        1.0, description="Minimum hessian sum per leaf."
    )
    reg_lambda: Annotated[float, Search(low=1e-3, high=10.0, log=True)] = Field(
        1.0, description="L2 regularisation of leaf weights."
    )
    objective: str = Field(
        "reg:squarederror",
        description="Median objective: squared error (measured better and 10x faster than "
        "reg:absoluteerror on the ratio target); quantiles come from conformal offsets.",
    )
    n_jobs: int | None = Field(
        None,
        description="Threads per fit (None = the process's threads, EDIP_THREADS or its CPUs: "
        "edip_pipeline.runtime).",
    )


class LightGBMParams(EstimatorParams):
    """``lightgbm.LGBMRegressor`` (NaN handled natively, ``verbose=-1``)."""

    n_estimators: Annotated[int, Search(low=200, high=1200, step=100)] = Field(
        500, description="Boosting rounds."
    )
    learning_rate: Annotated[float, Search(low=0.01, high=0.2, log=True)] = Field(
        0.05, description="Shrinkage per round."
    )
    num_leaves: Annotated[int, Search(low=15, high=255, log=True)] = Field(
        31, description="Maximum leaves per tree."
    )
    min_child_samples: Annotated[int, Search(low=5, high=100, log=True)] = Field(
        20, description="Minimum rows per leaf."
    )
    subsample: Annotated[float, Search(low=0.6, high=1.0)] = Field(
        0.8, description="Row subsampling (bagging) fraction (searched: keep subsample_freq > 0)."
    )
    subsample_freq: int = Field(1, description="Bagging every k rounds (0 disables bagging).")
    colsample_bytree: Annotated[float, Search(low=0.5, high=1.0)] = Field(
        0.8, description="Feature subsampling per tree."
    )
    reg_lambda: Annotated[float, Search(low=1e-3, high=10.0, log=True)] = Field(
        0.0, description="L2 regularisation of leaf weights."
    )
    objective: str = Field(
        "l2",
        description="Median objective: squared error (measured better than 'l1' on the ratio "
        "target); quantiles come from conformal offsets.",
    )
    n_jobs: int | None = Field(
        None,
        description="Threads per fit (None = the process's threads, EDIP_THREADS or its CPUs: "
        "edip_pipeline.runtime).",
    )


class LightGBMIntradayParams(LightGBMParams):
    """The intraday re-issue model: LightGBM learning the load as a ratio to the day's profile."""

    target_reference: list[str] = Field(
        default_factory=lambda: ["load_profile_1d", *DEFAULT_TARGET_REFERENCE],
        description="Learn load / reference: first load_profile_1d (the last known load moved "
        "along yesterday's profile: needs FeatureParams.shape_features), else load_last, ….",
    )
    lead_weight_h: float | None = Field(
        0.5,
        description="Rows weighted 1 / (1 + horizon_h / this): short leads count more; "
        "None = equal weights. 0.5 won on the validation years 2017/2018 "
        "(python bench/intraday.py --validate), never chosen on the test years.",
    )


class RidgeParams(EstimatorParams):
    """``sklearn`` ridge after a median imputer and a standard scaler."""

    alpha: float = Field(1.0, description="L2 penalty.")


class GAMParams(ModelParams):
    """Spline + ridge GAM, one fit per hour of day (:mod:`edip_ml.models.gam`)."""

    knots: int = Field(
        8, description="Interior hinge knots per temperature column (at training quantiles)."
    )
    fourier: int = Field(4, description="Harmonics of the cyclic time-of-year effect.")
    alpha: float = Field(
        1.0, description="Ridge penalty on standardised basis columns (per 1000 rows)."
    )
    cold_knots: list[float] = Field(
        default_factory=list,
        description="Fixed hinge knots (°C) added to every temperature column's quantile knots, "
        "where enough training rows lie below them: the steeper response of electric heating "
        "in the cold (below 0 °C), which quantile knots rarely reach ([] = quantile knots only).",
    )


class GAMKalmanParams(GAMParams):
    """The GAM with a Kalman filter on its effects (:class:`~edip_ml.models.gam.GAMKalmanForecaster`)."""

    q: float = Field(
        4e-7,
        description="Random-walk variance of each effect multiplier per hourly observation "
        "(about 1e-5 a day: a level shift is absorbed within days to weeks).",
    )
    p0: float = Field(1e-4, description="Initial variance of each multiplier (θ starts at 1).")
    warmup_days: int = Field(
        60, description="Days of training targets the filter assimilates after each refit."
    )
    outlier_z: float = Field(
        6.0, description="Skip (flag) an outcome whose standardised innovation exceeds this."
    )


class GAMKalmanDynamicParams(GAMKalmanParams):
    """The GAM-Kalman whose noise variances are re-estimated by likelihood at each refit
    (:class:`~edip_ml.models.gam_dynamic.GAMKalmanDynamicForecaster`)."""

    tune_window_days: int = Field(
        120,
        ge=14,
        description="Most recent training days on which the random-walk variance q and the "
        "noise variance are chosen by maximum likelihood at each refit.",
    )
    q_grid: list[float] = Field(
        default_factory=lambda: [0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3],
        min_length=1,
        description="Candidate random-walk variances per hour, as a share of the residual "
        "variance by which each effect's contribution may drift; the one of highest day-ahead "
        "likelihood on the recent window is kept (0 = a frozen filter after its warm-up).",
    )
    p0_share: float = Field(
        1e-2,
        gt=0.0,
        description="Initial variance of each effect's contribution, as a share of the "
        "residual variance (the filter's P0, scaled per effect as Q is).",
    )


class CombinationParams(ModelParams):
    """Online expert aggregation (ML-Poly, gradient trick, per-hour weights)."""

    experts: list[str] = Field(
        default_factory=lambda: ["lightgbm", "xgboost", "gam", "gam_kalman"],
        description="Models combined (those trained in the run); RTE's D-1 is added as an "
        "extra expert in the 'combination_rte' variant when it is stored.",
    )
    enabled: bool = Field(True, description="Add the combination(s) to day-ahead backtests.")
    rte_source: Literal["auto", "odre", "entsoe"] = Field(
        "auto",
        description="Where the served 'combination_rte' (edip train ml --models "
        "combination_rte) reads RTE's D-1 forecast: 'auto' = the store's source covering most of "
        "its backtest (ODRÉ on a tie); the source is then fixed in its feature_params.",
    )
    interval_window_days: int = Field(
        56,
        description="Residuals per Paris hour (one a day: days) behind every model's P10/P90, "
        "in backtests and as served: the adaptive conformal band (edip_pipeline.conformal); "
        "0 = the refit's static conformal offsets in backtests (online models and "
        "combinations always use the adaptive band, with at least 7).",
    )
    interval_gamma: float = Field(
        0.01,
        ge=0.0,
        le=1.0,
        description="ACI step of the band: how fast its miscoverage level reacts to misses "
        "(0 = plain split conformal on the rolling residuals).",
    )
    forget: float = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="ML-Poly discount of each hour's past regrets per daily update, so the "
        "weights follow the expert that is right this week (0 = the whole history, opera's "
        "ML-Poly; 0.1 = about ten days of memory).",
    )
    bias_corrected_experts: list[str] = Field(
        [], description="Experts also combined as '<name>_bc': minus an EWMA (bias_alpha) of "
        "their daily mean error up to D-2 (edip_ml.models.bias_correction); backtests only.",
    )  # fmt: skip
    bias_alpha: float = Field(0.2, gt=0, le=1, description="EWMA weight of the newest day.")


class BacktestParams(BaseModel):
    """Rolling-origin backtest with an expanding window and periodic retraining."""

    start: str | None = Field(
        None,
        description="First target day (Paris) of the test period (None = the first day of the "
        "last test_months whole months of the stored load).",
    )
    end: str | None = Field(
        None,
        description="Last target day (Paris) of the test period (None = the last complete day "
        "of the stored load).",
    )
    test_months: int = Field(
        6, ge=1, description="Test period length when start is None (whole calendar months)."
    )
    train_start: str | None = Field(
        None,
        description="First target day used for training (None = first day with the full load "
        "look-back after the first stored load value).",
    )
    retrain: str = Field(
        "MS", description="Retraining frequency (pandas offset on Paris days; 'MS' = monthly)."
    )
    min_train_days: int = Field(
        90, description="A fold with fewer days of training targets is an error (too little)."
    )
    rolling_origin_every: str = Field(
        "6h", description="Spacing of origins for the rolling-24h protocol (train and test)."
    )
    rolling_horizon_h: int = Field(24, description="Horizon of the rolling protocol, hours.")
    weather: Literal["auto", "forecast", "observed", "none"] = Field(
        "auto", description="Weather mode of the feature table (auto: forecast, else observed)."
    )
    baselines: list[str] = Field(
        default_factory=lambda: [*BASELINES, "ridge"],
        description="Reference models run on the same harness as the models.",
    )


class PromotionParams(BaseModel):
    """Gates of ``edip promote`` (challenger vs champion on the same recent window)."""

    tolerance: float = Field(
        0.02, description="Challenger may be at most this much worse (relative MAPE) than champion."
    )
    max_mape: float = Field(0.05, description="Absolute gate: MAPE (fraction) ceiling.")
    eval_window_days: int = Field(28, description="Days of the recent evaluation window.")


class TrackingParams(BaseModel):
    """MLflow tracking and registry names (the aliases are fixed:
    :mod:`edip_pipeline.registry_names`, what the API serves)."""

    experiment_name: str = Field(DEFAULT_EXPERIMENT, description="MLflow experiment.")
    registered_model: str = Field(REGISTERED_MODEL, description="MLflow registered model.")


class MLParams(BaseModel):
    """Everything ``edip_ml`` reads from ``params.yaml`` (section ``ml``).

    Extra sections are allowed: a model family from another package (``edip.models`` entry
    points, e.g. ``edip_dl``'s ``lstm``) carries its hyper-parameters as a plain dict section,
    returned by :meth:`hyper` like the documented ones.
    """

    model_config = ConfigDict(extra="allow")

    models: list[str] = Field(
        default_factory=list,
        description="Model families trained and backtested by default, written only in "
        "params.yaml (ml.models; see edip_ml.models.MODELS); 'combination' is the online ML-Poly "
        "aggregation of combination.experts (edip_ml.models.combination); the slow "
        "RandomForest ('rf') is available but not default, and so is 'combination_rte' (RTE's D-1 "
        "forecast as an expert: edip_ml.models.combination_rte).",
    )
    step: str = Field("1h", description="Target step ('1h' or '30min'); overrides features.step.")
    protocol: Protocol = Field(
        "day-ahead", description="'day-ahead', 'rolling-24h' or 'intraday' (ml.intraday)."
    )
    calibration_fraction: float = Field(
        0.15, description="Last share of training rows used for the conformal P10/P90 offsets."
    )
    absorb_lag: str | None = Field("2h", pattern=r"^\d+ ?(d|h|min|s)$", description="Absorb a "
        "load at the 1st issuance >= this after its hour; null: whole days.")  # fmt: skip
    seed: int = Field(42, description="Random seed of every model.")
    feature_overrides: dict[str, Any] = Field(default_factory=dict, description="FeatureParams "
        "overrides of this family (e.g. {window_h: 168} for sequence models); after features:.")  # fmt: skip
    rf: RandomForestParams = Field(default_factory=RandomForestParams, description="RandomForest.")
    xgboost: XGBoostParams = Field(default_factory=XGBoostParams, description="XGBoost.")
    lightgbm: LightGBMParams = Field(default_factory=LightGBMParams, description="LightGBM.")
    lightgbm_intraday: LightGBMIntradayParams = Field(
        default_factory=LightGBMIntradayParams, description="LightGBM of the intraday re-issues."
    )
    ridge: RidgeParams = Field(default_factory=RidgeParams, description="Ridge baseline.")
    gam: GAMParams = Field(default_factory=GAMParams, description="GAM (splines + ridge).")
    gam_kalman: GAMKalmanParams = Field(
        default_factory=GAMKalmanParams, description="GAM with Kalman-adapted effects."
    )
    gam_kalman_dynamic: GAMKalmanDynamicParams = Field(
        default_factory=GAMKalmanDynamicParams,
        description="GAM-Kalman with variances re-estimated by likelihood at each refit.",
    )
    combination: CombinationParams = Field(
        default_factory=CombinationParams, description="Online expert aggregation."
    )
    backtest: BacktestParams = Field(default_factory=BacktestParams, description="Backtest.")
    intraday: IntradayParams = Field(
        default_factory=IntradayParams, description="The intraday re-issue model."
    )
    promotion: PromotionParams = Field(default_factory=PromotionParams, description="Promotion.")
    tracking: TrackingParams = Field(default_factory=TrackingParams, description="MLflow.")

    def hyper(self, family: str) -> dict[str, Any]:
        """Hyper-parameters of a family as a dict ({} for families without any)."""
        block = getattr(self, family, None)
        if isinstance(block, BaseModel):
            return block.model_dump()
        return dict(block) if isinstance(block, dict) else {}

    def with_overrides(self, overrides: dict[str, Any]) -> MLParams:
        """A copy with nested overrides, e.g. ``{"xgboost": {"n_estimators": 30}}``."""
        return MLParams.model_validate(_deep_merge(self.model_dump(), overrides))

    def for_intraday(self) -> MLParams:
        """The intraday model's params (``ml.intraday``): its protocol and feature columns."""
        overrides = {**self.feature_overrides, **self.intraday.feature_overrides}
        return self.with_overrides({"protocol": "intraday", "feature_overrides": overrides})


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = (
            _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


def load_ml_params(path: Path | None = None) -> MLParams:
    """Read the ``ml`` section of ``params.yaml`` (the pipeline's file); defaults if absent."""
    path = Path(path) if path else get_settings().params_file
    raw: dict[str, Any] = {}
    if path.is_file():
        raw = yaml.safe_load(path.read_text()) or {}
    return MLParams.model_validate(raw.get("ml") or {})
