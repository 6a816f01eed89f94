"""GAM temperature-response model (EDF/RTE tradition) as splines + ridge, one fit per hour of day.

Pierrot & Goude (2011): load at each hour is a sum of smooth effects. Here each effect is a fixed
basis of the pipeline's features and the smooth is a ridge fit per Paris hour of day (24 models,
closed form, seconds on 10 years):

* ``temperature`` — piecewise-linear splines (hinges ``max(0, T − k)`` at training quantiles, plus
  the fixed ``cold_knots`` the training data reaches: the steeper response below 0 °C) of the
  instantaneous and every exponentially smoothed temperature (building inertia);
* ``calendar`` — day type (Monday … Sunday, public holidays as Sunday) and the bridge, eve/after
  holiday, school, Christmas, August and clock-change flags present;
* ``season`` — cyclic time of year, Fourier harmonics of ``doy_sin``/``doy_cos`` (order ``fourier``);
* ``lag_1d`` / ``lag_7d`` — linear terms in the last same-hour loads known at the origin;
* ``level`` — the intercept.

Why this form: linear in a fixed basis, it exports to a small ONNX graph (Gather, Relu, MatMul:
:mod:`edip_ml.models.gam_onnx`) and its per-effect contributions are the regressors of the Kalman
adaptation (:class:`GAMKalmanForecaster`, :mod:`edip_ml.models.online`). Rows without temperature (weather
missing at a target) use the documented fallback: the same model fitted without the temperature
effect (``fallback_rows`` counts them in :meth:`predict`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from edip_ml.config import GAMKalmanParams, GAMParams
from edip_ml.hyperparams import ModelParams
from edip_ml.models.base import Forecaster, ModelError, OnlineForecaster
from edip_ml.models.gam_terms import CALENDAR_FLAGS, EFFECTS, LAGS, temperature_columns
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand
from edip_pipeline.contributions import BASELINE, ONLINE_CORRECTION, grouped
from edip_pipeline.online import LAST_DAY_KEY, KalmanEffects

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

#: training rows a fixed cold knot needs below it to be kept (ten days of hours)
COLD_MIN_ROWS = 240

__all__ = ["EFFECTS", "GAMForecaster", "GAMKalmanForecaster", "temperature_columns"]


class GAMForecaster(Forecaster):
    """Additive temperature-response model; see the module doc."""

    name: ClassVar[str] = "gam"
    handles_nan: ClassVar[bool] = True
    family: ClassVar[str] = "gam"
    params_class: ClassVar[type[ModelParams]] = GAMParams

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.config = GAMParams.model_validate(
            {k: v for k, v in self.params.items() if k in GAMParams.model_fields}
        )
        self.knots: dict[str, list[float]] = {}
        #: per hour coefficients [24, P] with and without the temperature effect
        self.coef = np.zeros((0, 0))
        self.coef_fallback = np.zeros((0, 0))
        self.groups: list[int] = []  # effect index of each basis column
        self.uses_temperature = False

    # -- basis --------------------------------------------------------------------------------
    def _col(self, X: np.ndarray, name: str) -> np.ndarray:
        return X[:, self.feature_names.index(name)].astype(float)

    def basis(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Design matrix [N, P] (NaN where an input is) and each column's effect index."""
        B, groups, _ = self.named_basis(X)
        return B, groups

    def named_basis(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """:meth:`basis` and the feature each column is made of (``baseline`` for the level):
        what :meth:`contributions` groups into named contributions."""
        cols: list[np.ndarray] = [np.ones(len(X))]
        groups = [0]
        names = [BASELINE]
        for c, knots in self.knots.items():
            v = self._col(X, c)
            cols += [v, *(np.maximum(v - k, 0.0) for k in knots)]
            groups += [1] * (1 + len(knots))
            names += [c] * (1 + len(knots))
        features = self.feature_names
        if "dow" in features:
            dow = self._col(X, "dow")
            hol = self._col(X, "is_holiday") if "is_holiday" in features else np.zeros(len(X))
            dtype = np.where(hol > 0, 6.0, dow)
            for d in range(1, 7):
                cols.append(np.where(np.isnan(dtype), np.nan, (dtype == d).astype(float)))
                groups.append(2)
                names.append("dow")
        for c in CALENDAR_FLAGS:
            if c in features:
                cols.append(self._col(X, c))
                groups.append(2)
                names.append(c)
        if "doy_sin" in features and "doy_cos" in features:
            sin1, cos1 = self._col(X, "doy_sin"), self._col(X, "doy_cos")
            sk = sin1
            ck = cos1
            for k in range(self.config.fourier):
                if k:
                    sk, ck = sk * cos1 + ck * sin1, ck * cos1 - sk * sin1
                cols += [sk, ck]
                groups += [3, 3]
                names += ["doy_sin", "doy_cos"]
        for effect, c in LAGS.items():
            if c in features:
                cols.append(self._col(X, c))
                groups.append(EFFECTS.index(effect))
                names.append(c)
        return np.column_stack(cols), np.asarray(groups), names

    def _hours(self, X: np.ndarray) -> np.ndarray:
        if "hour" not in self.feature_names:
            raise ModelError(f"{self.name}: the calendar feature 'hour' is needed")
        return np.clip(np.nan_to_num(self._col(X, "hour")), 0, 23).astype(int)

    # -- fit / predict ------------------------------------------------------------------------
    def _ridge(self, B: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Ridge on standardised columns (intercept unpenalised), coefficients in raw units."""
        mu, sd = B[:, 1:].mean(0), B[:, 1:].std(0)
        sd = np.where(sd > 1e-9, sd, 1.0)
        Z = (B[:, 1:] - mu) / sd
        yc = y - y.mean()
        A = Z.T @ Z + self.config.alpha * len(y) / 1000.0 * np.eye(Z.shape[1])
        w = np.linalg.solve(A, Z.T @ yc) / sd
        return np.r_[y.mean() - mu @ w, w]

    def _fit_median(self, X: np.ndarray, y: np.ndarray) -> None:
        temps = temperature_columns(self.feature_names)
        self.knots = {}
        for c in temps:
            v = self._col(X, c)
            v = v[np.isfinite(v)]
            if len(v) >= 100:
                qs = np.linspace(0, 1, self.config.knots + 2)[1:-1]
                cold = [k for k in self.config.cold_knots if (v < k).sum() >= COLD_MIN_ROWS]
                knots = np.round(np.quantile(v, qs), 2).tolist() + cold
                self.knots[c] = sorted(set(knots))
        B, groups = self.basis(X)
        self.groups = groups.tolist()
        hours = self._hours(X)
        is_temp = groups == 1
        base_ok = np.isfinite(np.where(is_temp, 0.0, B)).all(1) & np.isfinite(y)
        full_ok = base_ok & np.isfinite(B).all(1)
        self.uses_temperature = bool(is_temp.any() and full_ok.sum() >= 24 * 50)
        P = B.shape[1]
        self.coef, self.coef_fallback = np.zeros((24, P)), np.zeros((24, P))
        keep = ~is_temp
        for h in range(24):
            m = hours == h
            if (base_ok & m).sum() < 20:
                raise ModelError(f"{self.name}: too few training rows at hour {h}")
            self.coef_fallback[h, keep] = self._ridge(B[base_ok & m][:, keep], y[base_ok & m])
            if self.uses_temperature:
                self.coef[h] = self._ridge(B[full_ok & m], y[full_ok & m])
            else:
                self.coef[h] = self.coef_fallback[h]

    def _column_contributions(self, Xa: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Per row, each basis column's term [N, P] (its effect index and feature too)."""
        B, groups, names = self.named_basis(Xa)
        hours = self._hours(Xa)
        W = self.coef[hours]
        if self.uses_temperature and (groups == 1).any():
            # weather missing at the target: the no-temperature fallback fit, temperature zeroed
            no_temp = ~np.isfinite(B[:, groups == 1]).all(1)
            W = np.where(no_temp[:, None], self.coef_fallback[hours], W)
            B = np.where(no_temp[:, None] & (groups == 1)[None, :], 0.0, B)
        return np.where(W == 0.0, 0.0, B * W), groups, names  # an unused NaN input: 0

    def effects(self, X: np.ndarray | pd.DataFrame) -> np.ndarray:
        """Per-row contribution of each effect of :data:`EFFECTS`, [N, J] (sums to the median)."""
        Xa = self._matrix(X) if isinstance(X, pd.DataFrame) else X
        contrib, groups, _ = self._column_contributions(Xa)
        G = np.eye(len(EFFECTS))[groups]
        return contrib @ G

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame | None:
        """The fitted effects, term by term, grouped by the feature each term reads."""
        contrib, _, names = self._column_contributions(self._matrix(X))
        return grouped(contrib, names, X.index)

    def fallback_rows(self, X: pd.DataFrame) -> int:
        """Rows that would be served by the no-temperature fallback (weather missing)."""
        if not self.knots:
            return 0
        cols = list(self.knots)
        return int(X[cols].isna().any(axis=1).sum()) if self.uses_temperature else len(X)

    def _predict_median(self, X: np.ndarray) -> np.ndarray:
        if not len(self.coef):
            raise ModelError(f"{self.name}: predict called before fit")
        return self.effects(X).sum(axis=1)

    def export_onnx(self) -> onnx.ModelProto:
        """The GAM's own graph (:mod:`edip_ml.models.gam_onnx`): basis, per-hour coefficients,
        effects (the output ``effects`` the Kalman state re-weights at serve time)."""
        from edip_ml.export.onnx_export import contract_graph
        from edip_ml.models.gam_onnx import gam_graph

        return contract_graph(self, gam_graph(self, self.theta()), self.online_state())

    def theta(self) -> np.ndarray | None:
        """The effects' weights applied at export (None: all 1, the static GAM)."""
        return None


class GAMKalmanForecaster(GAMForecaster, OnlineForecaster):
    """The GAM with its effects re-weighted online by a Kalman filter (see :mod:`edip_ml.models.walk_forward`).

    After each (re)fit the filter starts at θ = 1 and assimilates the last ``warmup_days`` of
    training targets (known at the fold's origin), then :meth:`absorb` takes each day's outcomes.
    """

    name: ClassVar[str] = "gam_kalman"
    params_class: ClassVar[type[ModelParams]] = GAMKalmanParams

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.kalman_config = GAMKalmanParams.model_validate(
            {k: v for k, v in self.params.items() if k in GAMKalmanParams.model_fields}
        )
        self.state: KalmanEffects | None = None

    def fit(self, X: pd.DataFrame, y: pd.Series, calibration_fraction: float = 0.15) -> Forecaster:
        self.state = None
        self.band = None
        self.last_day = None
        super().fit(X, y, calibration_fraction)
        cfg = self.kalman_config
        F = self.effects(X)
        resid = y.to_numpy(dtype=float) - F.sum(axis=1)
        sigma2 = float(np.nanvar(resid)) if np.isfinite(resid).any() else 1.0
        self.state = KalmanEffects.start(len(EFFECTS), sigma2, cfg.q, cfg.p0, cfg.outlier_z)
        t = pd.DatetimeIndex(X.index.get_level_values("target_time"))
        warm = np.asarray(t >= t.max() - pd.Timedelta(days=cfg.warmup_days))
        order = np.argsort(np.asarray(t[warm]), kind="stable")
        self.state.update(F[warm][order], y.to_numpy(dtype=float)[warm][order])
        return self

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
        """Assimilate outcomes (rows in target order); returns the skipped (gap/outlier) flags."""
        if self.state is None:
            raise ModelError(f"{self.name}: absorb called before fit")
        return self.state.update(self.effects(X), y.to_numpy(dtype=float))

    def load_online_state(self, state: dict[str, Any]) -> None:
        self.state = KalmanEffects.from_dict(state)
        if CONFORMAL_KEY in state:
            self.band = ConformalBand.from_dict(state[CONFORMAL_KEY])
        self.last_day = state.get(LAST_DAY_KEY)

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame | None:
        """The fitted GAM's terms, plus ``online_correction`` = Σ (θ_j − 1) · effect_j."""
        static = super().contributions(X)
        if static is None or self.state is None:
            return static
        correction = self.effects(X) @ (self.state.theta - 1.0)
        static[ONLINE_CORRECTION] += np.nan_to_num(correction)
        return static

    def theta(self) -> np.ndarray | None:
        return None if self.state is None else self.state.theta

    def online_state(self) -> dict[str, Any] | None:
        if self.state is None:
            return None
        return self.stamped(self.state.to_dict())

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.with_band(super().predict(X), X)

    def _predict_median(self, X: np.ndarray) -> np.ndarray:
        if self.state is None:
            return super()._predict_median(X)
        return self.state.predict(self.effects(X))
