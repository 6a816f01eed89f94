"""Online states applied and updated with numpy alone: shared by the backtest and the serving side.

Why here: ``edip_ml`` evaluates these states in its backtest and ``edip_api`` must apply (and
later update) exactly the same arithmetic with nothing but the pipeline, numpy and onnxruntime.
Both states serialise to JSON (:meth:`to_dict`), stored in the ONNX ``metadata_props``.

* :class:`KalmanEffects` — Obst, de Vilmarest & Goude (2021): a fitted additive model's effects
  ``f(x_t)`` (one column per effect) are the regressors of ``y_t = θ_tᵀ f(x_t) + ε_t`` with θ a
  random walk (``θ_t = θ_{t-1} + η_t``, ``η ~ N(0, Q)``, ``ε ~ N(0, σ²)``); θ starts at ones (the
  fitted model). An observation whose target or effects are not finite (a gap) or whose
  standardised innovation exceeds ``outlier_z`` is skipped and counted, the state untouched.
* :class:`MLPoly` — Gaillard, Stoltz & van Erven (2014), as in the R package ``opera``: per group
  (hour of day), weights ∝ η_k (R_k)₊ over the cumulative regrets R_k, η_k = 1 / Σ r_k², with the
  gradient trick on the square loss (r_k = 2(ŷ − y)(ŷ − x_k)), so the convex combination can beat
  the best expert. An expert missing at an instant (NaN) gets no weight there and no regret.
  ``forget`` (0 = opera's ML-Poly) discounts a group's past regrets by ``1 − forget`` at each of
  its updates, so its learning rates follow the expert that is right *this* week (one update a
  day per hour: 0.1 ≈ a ten-day memory) instead of the whole history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: key of the Paris day (YYYY-MM-DD) a state absorbed last (the loop posts it to the API)
LAST_DAY_KEY = "last_day"


@dataclass
class KalmanEffects:
    """Random-walk Kalman filter on the multipliers θ of a model's effects."""

    theta: np.ndarray
    P: np.ndarray
    Q: np.ndarray
    sigma2: float
    outlier_z: float = 6.0
    n_updates: int = 0
    n_skipped: int = 0

    @classmethod
    def start(
        cls, n_effects: int, sigma2: float, q: float, p0: float, outlier_z: float = 6.0
    ) -> KalmanEffects:
        """θ = 1 (the fitted model as is), ``P = p0·I``, ``Q = q·I`` (per observation)."""
        eye = np.eye(n_effects)
        return cls(np.ones(n_effects), p0 * eye, q * eye, float(sigma2), outlier_z)

    def predict(self, F: np.ndarray) -> np.ndarray:
        """θᵀ f per row (``F`` [N, J])."""
        return np.asarray(F, dtype=float) @ self.theta

    def update(self, F: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Assimilate rows in order; returns a bool flag per row: True = skipped (gap/outlier)."""
        F = np.atleast_2d(np.asarray(F, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        skipped = np.zeros(len(y), dtype=bool)
        for i in range(len(y)):
            f = F[i]
            self.P = self.P + self.Q
            if not (np.isfinite(y[i]) and np.isfinite(f).all()):
                skipped[i] = True
                continue
            Pf = self.P @ f
            s = float(f @ Pf) + self.sigma2
            innovation = y[i] - float(self.theta @ f)
            if abs(innovation) > self.outlier_z * np.sqrt(s):
                skipped[i] = True
                continue
            gain = Pf / s
            self.theta = self.theta + gain * innovation
            self.P = self.P - np.outer(gain, Pf)
        self.n_updates += int((~skipped).sum())
        self.n_skipped += int(skipped.sum())
        return skipped

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "kalman",
            "theta": self.theta.tolist(),
            "P": self.P.tolist(),
            "Q": self.Q.tolist(),
            "sigma2": self.sigma2,
            "outlier_z": self.outlier_z,
            "n_updates": self.n_updates,
            "n_skipped": self.n_skipped,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> KalmanEffects:
        return cls(
            np.asarray(d["theta"], dtype=float),
            np.asarray(d["P"], dtype=float),
            np.asarray(d["Q"], dtype=float),
            float(d["sigma2"]),
            float(d.get("outlier_z", 6.0)),
            int(d.get("n_updates", 0)),
            int(d.get("n_skipped", 0)),
        )


@dataclass
class MLPoly:
    """ML-Poly expert aggregation with one weight vector per group (e.g. hour of day)."""

    n_experts: int
    n_groups: int = 24
    regret: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sq_regret: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_updates: int = 0
    forget: float = 0.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.forget < 1.0:
            raise ValueError(f"forget must be in [0, 1), got {self.forget}")
        shape = (self.n_groups, self.n_experts)
        if self.regret.shape != shape:
            self.regret = np.zeros(shape)
        if self.sq_regret.shape != shape:
            self.sq_regret = np.zeros(shape)

    def weights(self) -> np.ndarray:
        """``[G, K]`` weights ∝ (R)₊ / Σr² (uniform where no positive regret yet)."""
        eta = np.where(self.sq_regret > 0, 1.0 / np.where(self.sq_regret > 0, self.sq_regret, 1), 0)
        raw = eta * np.maximum(self.regret, 0.0)
        total = raw.sum(axis=1, keepdims=True)
        uniform = np.full_like(raw, 1.0 / self.n_experts)
        return np.where(total > 0, raw / np.where(total > 0, total, 1.0), uniform)

    def combine(self, E: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """Weighted mean of the experts ``E`` [N, K] (NaN experts dropped, weights renormalised)."""
        return combine(E, self.weights(), groups)

    def update(self, E: np.ndarray, y: np.ndarray, groups: np.ndarray) -> None:
        """One step per row (rows of the same group in time order); NaN targets are skipped."""
        E = np.atleast_2d(np.asarray(E, dtype=float))
        for i in range(len(E)):
            g = int(groups[i])
            avail = np.isfinite(E[i])
            if not np.isfinite(y[i]) or not avail.any():
                continue
            pred = combine(E[i : i + 1], self.weights()[g : g + 1], np.zeros(1, dtype=int))[0]
            r = np.zeros(self.n_experts)
            r[avail] = 2.0 * (pred - y[i]) * (pred - E[i, avail])
            if self.forget:
                self.regret[g] *= 1.0 - self.forget
                self.sq_regret[g] *= 1.0 - self.forget
            self.regret[g] += r
            self.sq_regret[g] += r**2
            self.n_updates += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "mlpoly",
            "n_experts": self.n_experts,
            "n_groups": self.n_groups,
            "regret": self.regret.tolist(),
            "sq_regret": self.sq_regret.tolist(),
            "n_updates": self.n_updates,
            "forget": self.forget,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MLPoly:
        return cls(
            int(d["n_experts"]),
            int(d["n_groups"]),
            np.asarray(d["regret"], dtype=float),
            np.asarray(d["sq_regret"], dtype=float),
            int(d.get("n_updates", 0)),
            float(d.get("forget", 0.0)),
        )


def combine(E: np.ndarray, weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Σ_k w[g, k] x_k over the finite experts of each row, weights renormalised (NaN if none)."""
    E = np.asarray(E, dtype=float)
    w = np.asarray(weights, dtype=float)[np.asarray(groups, dtype=int)]
    avail = np.isfinite(E)
    w = np.where(avail, w, 0.0)
    total = w.sum(axis=1)
    n_avail = avail.sum(axis=1)
    # all weight on missing experts: fall back to the plain mean of those present
    w = np.where((total > 0)[:, None], w, avail.astype(float))
    total = np.where(total > 0, total, np.maximum(n_avail, 1))
    out = (np.where(avail, E, 0.0) * w).sum(axis=1) / total
    return np.where(n_avail > 0, out, np.nan)


def state_from_dict(d: dict[str, Any]) -> KalmanEffects | MLPoly:
    """The state a metadata JSON describes (``kind``: ``kalman`` or ``mlpoly``)."""
    kind = d.get("kind")
    if kind == "kalman":
        return KalmanEffects.from_dict(d)
    if kind == "mlpoly":
        return MLPoly.from_dict(d)
    raise ValueError(f"unknown online state kind {kind!r}")
