"""The dynamic GAM-Kalman: noise variances chosen by likelihood on a recent window at each refit.

de Vilmarest & Goude (2022) call "dynamic" the state-space model whose variances (the random walk
of the effect multipliers, ``Q``, and the observation noise ``σ²``) are not fixed a priori but
estimated by maximum likelihood; re-estimated on a recent window they let the filter move fast
after a level shift (a lockdown, a sobriety winter) and slowly when the model is right.

Here, at each refit, for every candidate ``q`` of ``gam_kalman_dynamic.q_grid`` (``Q`` diagonal,
each effect's multiplier scaled by the effect's size so that every contribution may drift by
``q·σ²`` per hour: with ``Q = q·I`` the ~50 GW level would drift and the ~1 GW effects not)
the filter is run on the GAM's effects over the last ``tune_window_days`` of training targets, out of sample (a GAM
fitted before that window), scored on its day-ahead innovations with ``σ²`` profiled out
(:func:`profile_loglik`); the ``(q, σ̂²)`` of highest likelihood start the usual :class:`~edip_pipeline.online.KalmanEffects`
state, which the backtest and the API then update exactly as ``gam_kalman``'s (so serving needs
nothing new). Between refits the variances stay fixed: the live loop's weekly retrain
re-estimates them.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from edip_ml.config import GAMKalmanDynamicParams
from edip_ml.hyperparams import ModelParams
from edip_ml.models.base import Forecaster
from edip_ml.models.gam import GAMForecaster, GAMKalmanForecaster
from edip_ml.models.gam_terms import EFFECTS
from edip_pipeline.online import KalmanEffects

log = logging.getLogger(__name__)


def profile_loglik(
    F: np.ndarray,
    y: np.ndarray,
    origins: np.ndarray,
    ends: np.ndarray,
    q_rel: np.ndarray | float,
    p0_rel: np.ndarray | float,
) -> tuple[float, float]:
    """(log-likelihood, σ̂²) of the day-ahead innovations of the random-walk filter on effects
    ``F`` [N, J] (rows in target order, ``ends`` their target ends and ``origins`` their origins,
    int ns) with ``Q = diag(q_rel)·σ²`` and ``P₀ = diag(p0_rel)·σ²``, θ starting at ones.

    Day-ahead and not one-step: the filter is served 12–36 h ahead, after absorbing the outcomes
    known at the origin, and the one-step likelihood of hourly, autocorrelated residuals would
    favour a filter that chases the last hour. So, origin by origin (as the backtest walks), the
    rows known by then are absorbed and the origin's rows are scored with the state then. The
    innovations are Gaussian with one variance σ² (profiled out: σ̂² is their mean square), not
    the filter's own ``fᵀPf + σ²``, which grows with the lead and would reward a frozen filter
    (the day-ahead lead is not the one-step model's). Rows with a non-finite input are skipped.
    """
    J = F.shape[1]
    theta, P, Q = (
        np.ones(J),
        np.diag(np.broadcast_to(p0_rel, J)),
        np.diag(np.broadcast_to(q_rel, J)),
    )
    ok = np.isfinite(y) & np.isfinite(F).all(axis=1)
    ss, m, fed = 0.0, 0, 0
    for origin in np.unique(origins):
        known = int(np.searchsorted(ends, origin, side="right"))
        for i in range(fed, known):
            P = P + Q
            if ok[i]:
                Pf = P @ F[i]
                gain = Pf / (float(F[i] @ Pf) + 1.0)
                theta = theta + gain * float(y[i] - theta @ F[i])
                P = P - np.outer(gain, Pf)
        fed = max(fed, known)
        at = np.flatnonzero((origins == origin) & ok)
        v = y[at] - F[at] @ theta
        ss += float(v @ v)
        m += len(at)
    if m == 0:
        return -np.inf, 1.0
    sigma2 = max(ss / m, 1e-9)
    return -0.5 * m * (np.log(2 * np.pi * sigma2) + 1.0), sigma2


class GAMKalmanDynamicForecaster(GAMKalmanForecaster):
    """``gam_kalman`` with ``q`` and ``σ²`` re-estimated by likelihood at each refit (module doc)."""

    name: ClassVar[str] = "gam_kalman_dynamic"
    params_class: ClassVar[type[ModelParams]] = GAMKalmanDynamicParams

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.dynamic_config = GAMKalmanDynamicParams.model_validate(self.params)
        #: q, Q, P0 and σ² chosen at the last fit
        self.tuned: dict[str, Any] = {}

    def fit(self, X: pd.DataFrame, y: pd.Series, calibration_fraction: float = 0.15) -> Forecaster:
        self.state = None
        cfg = self.dynamic_config
        values = y.to_numpy(dtype=float)
        t = pd.DatetimeIndex(X.index.get_level_values("target_time")).as_unit("ns")
        o = pd.DatetimeIndex(X.index.get_level_values("origin")).as_unit("ns")
        # the variances are chosen out of sample: a GAM fitted before the window, whose
        # effects on the window make the errors the filter will have to correct when served
        days = min(cfg.tune_window_days, max((t.max() - t.min()).days // 2, 1))
        recent = np.asarray(t >= t.max() - pd.Timedelta(days=days))
        GAMForecaster.fit(self, X[~recent], y[~recent], 0.0)
        w = np.flatnonzero(recent)
        w = w[np.argsort(np.asarray(t.asi8[w]), kind="stable")]
        self.tuned = self._tune(self.effects(X.iloc[w]), values[w], o.asi8[w], t.asi8[w])
        GAMForecaster.fit(self, X, y, calibration_fraction)  # the served GAM: every row
        F = self.effects(X)
        tuned = self.tuned
        self.state = KalmanEffects(
            np.ones(len(EFFECTS)), tuned["P0"], tuned["Q"], tuned["sigma2"], cfg.outlier_z
        )
        warm = np.flatnonzero(t >= t.max() - pd.Timedelta(days=cfg.warmup_days))
        warm = warm[np.argsort(np.asarray(t.asi8[warm]), kind="stable")]
        self.state.update(F[warm], values[warm])
        return self

    def _tune(
        self, F: np.ndarray, y: np.ndarray, origins: np.ndarray, targets: np.ndarray
    ) -> dict[str, Any]:
        """The candidate ``q`` of highest day-ahead likelihood (:func:`profile_loglik`) on the
        window's effects ``F`` and targets ``y``, with ``Q`` and ``P₀`` (absolute units, diagonal)
        and ``σ²`` of the served state: each effect's multiplier walks with a variance scaled by
        that effect's size, so every effect's contribution drifts by ``q·σ²`` per hour."""
        cfg = self.dynamic_config
        resid = y - F.sum(axis=1)
        sigma2 = max(float(np.nanvar(resid)) if np.isfinite(resid).sum() > 1 else 1.0, 1e-9)
        size = 1.0 / np.maximum(np.nanmean(F * F, axis=0), 1e-9)  # 1 / mean f_j² per effect
        size = np.where(np.isfinite(size), size, 0.0)
        ends = np.asarray(targets) + pd.Timedelta(hours=1).value
        fits = [
            (q, *profile_loglik(F, y, np.asarray(origins), ends, q * size, cfg.p0_share * size))
            for q in cfg.q_grid
        ]
        q, loglik, mse = max(fits, key=lambda fit: fit[1])
        log.info("%s: q=%.3g (day-ahead RMSE %.0f MW, log-likelihood %.1f on %d rows)",
                 self.name, q, np.sqrt(mse), loglik, len(y))  # fmt: skip
        # the gain depends on Q/σ² and P/σ² only: the relative values times the served σ²
        return {
            "q": float(q),
            "Q": np.diag(q * size * sigma2),
            "P0": np.diag(cfg.p0_share * size * sigma2),
            "sigma2": sigma2,
        }
