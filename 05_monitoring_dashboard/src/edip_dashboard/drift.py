"""Distribution drift of load, temperature and features: PSI and the two-sample KS test.

Why both: the PSI (binned on the reference's quantiles) is the industry's stable-vs-shifted score
with familiar thresholds (0.1 watch, 0.25 act); KS (scipy) is the exact test, which with hundreds of
hourly points flags tiny shifts, hence its statistic must also pass a threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

#: floor of a bin's share, so an empty bin gives a large finite PSI instead of infinity
PSI_EPS = 1e-4
#: fewer finite points than this on either side and no score is computed
MIN_POINTS = 24


def _finite(values: pd.Series | np.ndarray) -> np.ndarray:
    a = np.asarray(values, dtype=float)
    return a[np.isfinite(a)]


def psi(reference: pd.Series | np.ndarray, recent: pd.Series | np.ndarray, bins: int = 10) -> float:
    """Population stability index of ``recent`` against ``reference`` (NaN ignored).

    Bins are the reference's quantiles (ties merged), open-ended at both sides, so a recent
    distribution entirely outside the reference range still lands in a bin.
    """
    ref, new = _finite(reference), _finite(recent)
    if not len(ref) or not len(new):
        raise ValueError("psi: both samples need at least one finite value")
    if bins < 2:
        raise ValueError(f"psi: bins must be ≥ 2, got {bins}")
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1))[1:-1])
    ref_share = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    new_share = np.bincount(np.searchsorted(edges, new, side="right"), minlength=len(edges) + 1)
    p = np.maximum(ref_share / len(ref), PSI_EPS)
    q = np.maximum(new_share / len(new), PSI_EPS)
    return float(np.sum((q - p) * np.log(q / p)))


def ks(reference: pd.Series | np.ndarray, recent: pd.Series | np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic and p-value (NaN ignored)."""
    ref, new = _finite(reference), _finite(recent)
    if not len(ref) or not len(new):
        raise ValueError("ks: both samples need at least one finite value")
    result = stats.ks_2samp(ref, new)
    return float(result.statistic), float(result.pvalue)


@dataclass(frozen=True)
class DriftThresholds:
    """When a column counts as drifted."""

    psi: float = 0.25
    ks_stat: float = 0.2
    ks_alpha: float = 0.01
    bins: int = 10


@dataclass(frozen=True)
class DriftResult:
    """One column's comparison; ``status`` is ``drift``, ``ok`` or ``no data``."""

    column: str
    n_reference: int
    n_recent: int
    psi: float | None
    ks_stat: float | None
    ks_pvalue: float | None
    reference_mean: float | None
    recent_mean: float | None
    status: str
    reason: str

    @property
    def drifted(self) -> bool:
        return self.status == "drift"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def compare_column(
    column: str,
    reference: pd.Series | np.ndarray,
    recent: pd.Series | np.ndarray,
    thresholds: DriftThresholds,
) -> DriftResult:
    """PSI and KS of one column, with the verdict and why."""
    ref, new = _finite(reference), _finite(recent)
    if len(ref) < MIN_POINTS or len(new) < MIN_POINTS:
        return DriftResult(
            column, len(ref), len(new), None, None, None,
            float(ref.mean()) if len(ref) else None,
            float(new.mean()) if len(new) else None,
            "no data",
            f"needs ≥ {MIN_POINTS} values on each side (reference {len(ref)}, recent {len(new)})",
        )  # fmt: skip
    score = psi(ref, new, thresholds.bins)
    stat, pvalue = ks(ref, new)
    reasons = []
    if score > thresholds.psi:
        reasons.append(f"PSI {score:.3f} > {thresholds.psi:g}")
    if stat > thresholds.ks_stat and pvalue < thresholds.ks_alpha:
        reasons.append(f"KS {stat:.3f} > {thresholds.ks_stat:g} (p={pvalue:.2g})")
    return DriftResult(
        column, len(ref), len(new), score, stat, pvalue, float(ref.mean()), float(new.mean()),
        "drift" if reasons else "ok",
        "; ".join(reasons) or "within thresholds",
    )  # fmt: skip


def drift_report(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    columns: list[str],
    thresholds: DriftThresholds,
) -> list[DriftResult]:
    """:func:`compare_column` for each of ``columns`` (a column missing on a side has no data)."""
    empty = pd.Series(dtype=float)
    return [
        compare_column(
            col,
            reference.get(col, empty),
            recent.get(col, empty),
            thresholds,
        )
        for col in columns
    ]
