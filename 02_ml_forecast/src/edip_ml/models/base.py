"""One interface for every forecaster, and the serving contract of its ONNX export.

Quantiles: every model predicts the median (P50) and gets P10 / P90 by **split-conformal
calibration** on a slice of training data that follows its fitting slice in time: the empirical
10th and 90th percentiles of the calibration residuals, per horizon group, are added to P50. That
is uniform across families, never crosses (offsets are sorted: P10 ≤ P50 ≤ P90), has measured
coverage in the backtest, and exports to ONNX as a constant addition.

ONNX contract (what ``edip_api`` serves without knowing the family): see
:mod:`edip_pipeline.contract`.
"""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd

from edip_ml.hyperparams import ModelParams
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand
from edip_pipeline.contract import (  # noqa: F401  (re-exported: the contract lives there)
    CONTRACT_VERSION,
    HORIZON_GROUPS,
    HOUR_COLUMN,
    ONNX_INPUT,
    ONNX_OUTPUT,
    QUANTILE_COLUMNS,
    QUANTILES,
)
from edip_pipeline.online import LAST_DAY_KEY

if TYPE_CHECKING:
    import onnx

    from edip_ml.config import MLParams
    from edip_pipeline.store import Store


#: fits per model name in this process (every :meth:`Forecaster.fit`): training logs how many
#: fits each model had, and its test checks that each expert was fitted once per fold plus once
FIT_COUNTS: Counter[str] = Counter()


class ModelError(RuntimeError):
    """A forecaster cannot do what was asked (missing features, too little history, …)."""


def horizon_group(horizon_h: np.ndarray) -> np.ndarray:
    """Index of the horizon group of each row (last group catches anything longer)."""
    return np.minimum(
        np.searchsorted(np.asarray(HORIZON_GROUPS), horizon_h, side="left"), len(HORIZON_GROUPS) - 1
    )


class Forecaster(ABC):
    """Fit on a feature frame, predict P10/P50/P90.

    Subclasses implement :meth:`_fit_median` and :meth:`_predict_median`; calibration and the
    quantile assembly live here so that every family behaves the same.
    """

    name: ClassVar[str]
    #: how it is exported and logged (``sklearn``, ``xgboost``, ``lightgbm``, ``baseline``,
    #: ``gam``, ``combination``, ``torch``): an MLflow run tag, chosen by the class
    family: ClassVar[str] = "custom"
    #: whether the model accepts NaN features natively (else it imputes inside its pipeline)
    handles_nan: ClassVar[bool] = False
    #: its hyper-parameters (defaults, documentation, Optuna search space): one typed object
    params_class: ClassVar[type[ModelParams]] = ModelParams

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        #: every hyper-parameter, the class's defaults filled in (validated: a typo raises)
        self.params: dict[str, Any] = self.params_class.model_validate(params or {}).model_dump()
        self.seed = seed
        self.feature_names: list[str] = []
        #: the FeatureParams (dict) of the table it was fitted on: the API builds features with
        #: them (``feature_params`` in the ONNX metadata); None = the pipeline's params.yaml
        self.feature_params: dict[str, Any] | None = None
        #: conformal offsets, shape [n_horizon_groups, 2] (P10 - P50, P90 - P50)
        self.offsets = np.zeros((len(HORIZON_GROUPS), 2))

    @classmethod
    def from_params(cls, params: MLParams, seed: int) -> Forecaster:
        """An unfitted model with its section of ``params`` (params.yaml's ``ml:``)."""
        return cls(params.hyper(cls.name), seed=seed)

    @classmethod
    def from_logged(cls, run_params: Mapping[str, str]) -> Self:
        """The unfitted model an MLflow run logged, from the run's params (``model.*``, strings):
        what makes a registered version reproducible from its run."""
        from edip_ml.registry.tracking import logged_model_params

        params, seed = logged_model_params(run_params)
        return cls(cls.params_class.from_logged(params).model_dump(), seed=seed)

    def get_params(self) -> dict[str, Any]:
        """What rebuilds it unfitted (scikit-learn's semantics): its hyper-parameters and seed."""
        return {"params": copy.deepcopy(self.params), "seed": self.seed}

    def set_params(self, **params: Any) -> Self:
        """Change hyper-parameters (``seed`` too); the model is rebuilt, hence unfitted."""
        seed = int(params.pop("seed", self.seed))
        type(self).__init__(self, {**self.params, **params}, seed)
        return self

    def clone(self) -> Self:
        """An unfitted model with the same parameters (scikit-learn's ``clone``)."""
        return type(self)(**self.get_params())

    # -- to implement -------------------------------------------------------------------------
    @abstractmethod
    def _fit_median(self, X: np.ndarray, y: np.ndarray) -> None: ...

    @abstractmethod
    def _predict_median(self, X: np.ndarray) -> np.ndarray: ...

    # -- shared -------------------------------------------------------------------------------
    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names if c not in X.columns]
        if missing:
            raise ModelError(f"{self.name}: features missing at prediction time: {missing}")
        # float32 on both paths: the ONNX graph computes in float32, so trees split on the
        # same values natively and under onnxruntime
        return X[self.feature_names].to_numpy(dtype=np.float32)

    def fit(self, X: pd.DataFrame, y: pd.Series, calibration_fraction: float = 0.15) -> Forecaster:
        """Fit the median on the first part of the (time-ordered) rows, calibrate on the rest."""
        if y.isna().any():
            raise ModelError(f"{self.name}: NaN in the target ({int(y.isna().sum())} rows)")
        if len(X) < 100:
            raise ModelError(f"{self.name}: too little history to train ({len(X)} rows < 100)")
        FIT_COUNTS[self.name] += 1
        self.feature_names = list(X.columns)
        Xa = self._matrix(X)
        ya = y.to_numpy(dtype=float)
        n_cal = int(len(Xa) * calibration_fraction)
        if n_cal >= 50:
            self._fit_median(Xa[:-n_cal], ya[:-n_cal])
            resid = ya[-n_cal:] - self._predict_median(Xa[-n_cal:])
            hz = X["horizon_h"].to_numpy()[-n_cal:] if "horizon_h" in X else np.zeros(n_cal)
            self.offsets = conformal_offsets(resid, horizon_group(hz))
        self._fit_median(Xa, ya)  # refit on everything: calibration only sets the offsets
        return self

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """P10/P50/P90 (columns ``p10, p50, p90``), index of ``X``."""
        Xa = self._matrix(X)
        p50 = self._predict_median(Xa).astype(float)
        hz = X["horizon_h"].to_numpy() if "horizon_h" in X else np.zeros(len(X))
        off = self.offsets[horizon_group(hz)]
        return pd.DataFrame(
            {"p10": p50 + off[:, 0], "p50": p50, "p90": p50 + off[:, 1]}, index=X.index
        )

    # -- composition --------------------------------------------------------------------------
    def members(self) -> list[str]:
        """Names of the forecasters this one is made of (the combination's experts); [] else.

        Why: training a set fits and backtests each member once and hands the fitted members
        and their backtest forecasts to :meth:`from_members` instead of fitting them again.
        """
        return []

    def from_members(
        self, fitted: Sequence[Forecaster], forecasts: pd.DataFrame, step: pd.Timedelta
    ) -> pd.DataFrame:
        """Build this model from its fitted ``members`` and their backtest ``forecasts`` (frame
        of :func:`edip_ml.evaluation.backtest.backtest`); returns this model's backtest forecasts."""
        raise ModelError(f"{self.name} is not made of other forecasters")

    def store_inputs(
        self, store: Store, forecasts: pd.DataFrame, X: pd.DataFrame, step: pd.Timedelta
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The members' backtest ``forecasts`` and parity rows ``X`` with whatever else this
        composite reads from the store (``combination_rte``: RTE's D-1 forecast); unchanged here.
        """
        return forecasts, X

    # -- explanation --------------------------------------------------------------------------
    def contributions(self, X: pd.DataFrame) -> pd.DataFrame | None:
        """The P50 of each row split into the named contributions of
        :data:`edip_pipeline.contributions.CONTRIBUTIONS` (MW; a row adds up to its P50), or
        ``None`` when the family has no exact decomposition (the baselines, RF, a network).

        Why a method: each family decomposes with its own arithmetic (the GAM's effects, the
        trees' TreeSHAP values from their library, the combination's weighted experts)."""
        return None

    # -- serving ------------------------------------------------------------------------------
    def online_state(self) -> dict[str, Any] | None:
        """The state an online model adapts at serve time (JSON-able), None for a static one."""
        return None

    def median_graph(self) -> onnx.ModelProto:
        """``features [N, F] -> median [N, 1]``: each family says how (its converter)."""
        from edip_ml.export.onnx_wrap import ExportError

        raise ExportError(f"{self.name}: no ONNX converter for family {self.family!r}")

    def export_onnx(self) -> onnx.ModelProto:
        """This fitted model as one contract ONNX graph: its :meth:`median_graph` wrapped with
        the conformal offsets and metadata (:func:`edip_ml.export.onnx_export.contract_graph`); a
        family with outputs of its own (GAM effects, the combination, torch) overrides it."""
        from edip_ml.export.onnx_export import contract_graph

        return contract_graph(self, self.median_graph(), self.online_state())

    # -- tracking -----------------------------------------------------------------------------
    def log_native(self, tmpdir: Path) -> str | None:
        """Log the native model in the active MLflow run; its URI, None when only pickled."""
        from edip_ml.registry.tracking import log_pickle

        log_pickle(self, tmpdir)
        return None

    def importances(self) -> pd.Series | None:
        """Importance by feature (logged with the run), None when the family has none."""
        return None


def conformal_offsets(resid: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Per horizon group, the 10th and 90th residual percentiles, forced to straddle zero."""
    overall = np.nanquantile(resid, [QUANTILES[0], QUANTILES[2]]) if len(resid) else np.zeros(2)
    out = np.tile(overall, (len(HORIZON_GROUPS), 1))
    for g in range(len(HORIZON_GROUPS)):
        r = resid[groups == g]
        if len(r) >= 30:
            out[g] = np.nanquantile(r, [QUANTILES[0], QUANTILES[2]])
    out[:, 0] = np.minimum(out[:, 0], 0.0)
    out[:, 1] = np.maximum(out[:, 1], 0.0)
    return out


class OnlineForecaster(Forecaster):
    """A forecaster that adapts between refits: a JSON state, absorbing one day at a time.

    Why a class and not an attribute: the walk-forward engine steps such a model origin by origin
    (:mod:`edip_ml.models.walk_forward`), its export carries the state (``online_state``
    metadata) and the serving side applies it; all three ask ``isinstance(model,
    OnlineForecaster)``. :attr:`band` is the adaptive P10–P90 band the engine's walk ended with
    (set by training): carried in the state, applied by :meth:`predict` as the API applies it.
    """

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.band: ConformalBand | None = None
        #: the last Paris day (YYYY-MM-DD) the state absorbed (training: its last day), so that
        #: the live update continues the walk from the next one
        self.last_day: str | None = None

    @abstractmethod
    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
        """Assimilate known outcomes (rows in target order); a bool per row: True = skipped.
        The band is the engine's to update (it needs the P50 before the state moves)."""

    @abstractmethod
    def online_state(self) -> dict[str, Any] | None:
        """The current state (JSON-able); None before the first fit."""

    @abstractmethod
    def load_online_state(self, state: dict[str, Any]) -> None:
        """Continue from ``state`` (what :meth:`online_state` gave, maybe updated since)."""

    def stamped(self, state: dict[str, Any]) -> dict[str, Any]:
        """``state`` with the band and the last day absorbed (what the export carries)."""
        out = dict(state)
        if self.band is not None:
            out[CONFORMAL_KEY] = self.band.to_dict()
        if self.last_day is not None:
            out[LAST_DAY_KEY] = self.last_day
        return out

    def with_band(self, pred: pd.DataFrame, X: pd.DataFrame) -> pd.DataFrame:
        """``pred`` with P10/P90 from :attr:`band` where its hour has one (as served)."""
        if self.band is None or not len(pred):
            return pred
        hours = np.clip(np.nan_to_num(X[HOUR_COLUMN].to_numpy(dtype=float)), 0, 23).astype(int)
        aci = self.band.interval(pred["p50"].to_numpy(dtype=float), hours)
        q = np.where(np.isnan(aci), pred[list(QUANTILE_COLUMNS)].to_numpy(dtype=float), aci)
        return pd.DataFrame(q, index=pred.index, columns=list(QUANTILE_COLUMNS))
