"""The P10–P90 band of every EDIP forecast: adaptive conformal inference (ACI) per hour of day.

Why one class, here: the backtest (``edip_ml``) evaluates the band and the API (``edip_api``,
numpy and onnxruntime only) serves it, so both run this arithmetic and the exported model carries
its state (JSON, :meth:`ConformalBand.to_dict`) — what is served is what was evaluated.

The rule is MAPIE's time-series ACI (Gibbs & Candès 2021; ``mapie.regression.TimeSeriesRegressor``
with ``method="aci"``, ``GammaConformityScore``, its conformity scores rolled by ``update``),
written in numpy because MAPIE's ACI works on its own regressors while ours are fitted elsewhere
(LightGBM, GAM, ML-Poly) and served as ONNX; ``tests/test_conformal.py`` checks it against MAPIE
on the same residuals. Per group (the Paris hour of the target):

* scores: the last ``window`` relative residuals ``(y − P50) / P50`` (errors grow with the load);
* band: ``P50 · (1 + q_lo)`` .. ``P50 · (1 + q_hi)`` with ``q_lo``/``q_hi`` MAPIE's finite-sample
  quantiles of the scores at ``α_t / 2`` and ``1 − α_t / 2``;
* after each outcome: ``α_t ← clip(α_t + γ (α − miss), 0, 1)`` — a miss narrows ``α_t``, i.e.
  widens the band, so the band widens when errors grow (a regime shift) and narrows back.

Differences from MAPIE, on purpose: a level beyond the scores (MAPIE: an infinite bound) takes
the extreme score, and the served band always contains P50 (P10 ≤ P50 ≤ P90); misses are counted
on the unclipped band, as MAPIE does. A group with fewer than ``min_count`` scores has no band
(NaN: the caller falls back to the model's own offsets) and its ``α_t`` does not move.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: key of the band's state inside an online state (and of its metadata for other models)
CONFORMAL_KEY = "conformal"


@dataclass
class ConformalBand:
    """ACI per group over rolling relative residuals (see the module doc)."""

    alpha: float = 0.2  # target miscoverage: P10–P90
    gamma: float = 0.01
    window: int = 56
    min_count: int = 14
    n_groups: int = 24
    alpha_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    scores: list[list[float]] = field(default_factory=list)
    n_updates: int = 0
    n_missed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1 or not 0 <= self.gamma <= 1:
            raise ValueError(f"need 0 < alpha < 1 and 0 <= gamma <= 1: {self.alpha}, {self.gamma}")
        if self.window < 1 or self.n_groups < 1:
            raise ValueError("window and n_groups must be at least 1")
        if self.alpha_t.shape != (self.n_groups,):
            self.alpha_t = np.full(self.n_groups, float(self.alpha))
        if len(self.scores) != self.n_groups:
            self.scores = [[] for _ in range(self.n_groups)]

    # -- the band ------------------------------------------------------------------------------
    def relative_offsets(self, groups: np.ndarray) -> np.ndarray:
        """``[N, 2]`` relative (lower, upper) bounds per row's group, before any clipping."""
        g = self._groups(groups)
        table = np.array([self._group_bounds(k) for k in range(self.n_groups)], dtype=float)
        return table[g] if len(g) else np.zeros((0, 2))

    def interval(self, p50: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """``[N, 3]`` P10/P50/P90 around ``p50`` (NaN bounds where a group has no band yet)."""
        p50 = np.asarray(p50, dtype=float)
        rel = self.relative_offsets(groups)
        lo = p50 * (1.0 + np.minimum(rel[:, 0], 0.0))
        hi = p50 * (1.0 + np.maximum(rel[:, 1], 0.0))
        return np.column_stack([np.minimum(lo, p50), p50, np.maximum(hi, p50)])

    def _group_bounds(self, k: int) -> tuple[float, float]:
        s = np.asarray(self.scores[k], dtype=float)
        if len(s) < self.min_count:
            return (np.nan, np.nan)
        a = float(self.alpha_t[k])
        beta = a / 2  # MAPIE's levels, written as MAPIE computes them (same float rounding)
        lower_level, upper_level = (1 - 2 * beta) + beta, 1 - a + beta
        return (-conformal_quantile(-s, lower_level), conformal_quantile(s, upper_level))

    def _groups(self, groups: np.ndarray) -> np.ndarray:
        g = np.nan_to_num(np.asarray(groups, dtype=float), nan=0.0)
        return np.clip(g, 0, self.n_groups - 1).astype(int)

    # -- learning from outcomes ----------------------------------------------------------------
    def update(self, p50: np.ndarray, y: np.ndarray, groups: np.ndarray) -> int:
        """Absorb outcomes in time order (band, miss, ``α_t`` step, scores rolled); returns how
        many rows were skipped (a missing actual or P50, or P50 ≤ 0)."""
        p50 = np.atleast_1d(np.asarray(p50, dtype=float))
        y = np.atleast_1d(np.asarray(y, dtype=float))
        g = self._groups(np.atleast_1d(groups))
        skipped = 0
        for i in range(len(y)):
            if not (np.isfinite(y[i]) and np.isfinite(p50[i]) and p50[i] > 0):
                skipped += 1
                continue
            k = int(g[i])
            score = (y[i] - p50[i]) / p50[i]
            lo, hi = self._group_bounds(k)
            if np.isfinite(lo) and np.isfinite(hi):
                miss = float(score < lo or score > hi)
                step = self.alpha_t[k] + self.gamma * (self.alpha - miss)
                self.alpha_t[k] = float(np.clip(step, 0.0, 1.0))
                self.n_updates += 1
                self.n_missed += int(miss)
            self.scores[k] = [*self.scores[k], float(score)][-self.window :]
        return skipped

    # -- persistence ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "aci",
            "alpha": self.alpha,
            "gamma": self.gamma,
            "window": self.window,
            "min_count": self.min_count,
            "n_groups": self.n_groups,
            "alpha_t": [round(float(a), 6) for a in self.alpha_t],
            "scores": [[round(s, 6) for s in group] for group in self.scores],
            "n_updates": self.n_updates,
            "n_missed": self.n_missed,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ConformalBand:
        if d.get("kind") != "aci":
            raise ValueError(f"not a conformal band state: kind {d.get('kind')!r}")
        return cls(
            alpha=float(d["alpha"]),
            gamma=float(d["gamma"]),
            window=int(d["window"]),
            min_count=int(d["min_count"]),
            n_groups=int(d["n_groups"]),
            alpha_t=np.asarray(d["alpha_t"], dtype=float),
            scores=[[float(s) for s in group] for group in d["scores"]],
            n_updates=int(d.get("n_updates", 0)),
            n_missed=int(d.get("n_missed", 0)),
        )


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """MAPIE's finite-sample quantile: level ``ceil(level·(n+1))/n``, numpy ``method="lower"``;
    a level beyond the scores takes the largest one (MAPIE: +inf)."""
    s = np.asarray(scores, dtype=float)
    n = len(s)
    corrected = np.ceil(level * (n + 1)) / n
    if corrected > 1.0:
        return float(np.max(s))
    return float(np.quantile(s, corrected, method="lower"))
