"""From a feature table to what the sequence networks train on: the past-window layout, the
row checks, the origin grouping with its validation split, and the training-only scaling.

Why apart from the forecaster: these are plain NumPy/pandas decisions about *rows* (which columns
form the window, which origins validate, which statistics scale), testable without a network;
:mod:`edip_dl.training_loop` then only sees sorted arrays and origin ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from edip_dl.networks import Layout, Scaling
from edip_ml.config import DEFAULT_TARGET_REFERENCE
from edip_ml.models.base import ModelError
from edip_pipeline.features.load import WINDOW_PREFIX


def target_step(targets: pd.DatetimeIndex) -> pd.Timedelta:
    """The table's step: the smallest gap between target times (1 h for a single target)."""
    diffs = np.diff(np.unique(targets.as_unit("ns").asi8))  # any unit (pandas 3 defaults to us)
    return pd.Timedelta(int(diffs.min())) if len(diffs) else pd.Timedelta("1h")


def window_layout(columns: list[str], window_h: int | None, step_h: float, name: str) -> Layout:
    """Column roles: the last ``window_h`` hours of ``load_window_*`` (all when None), the
    covariates, and the reference columns (``name`` only words the errors)."""
    window_all = sorted(c for c in columns if c.startswith(WINDOW_PREFIX))
    if not window_all:
        raise ModelError(
            f"{name}: no past-load window columns ({WINDOW_PREFIX}*) in the features; "
            "build them with FeatureParams.window_h > 0 (dl.window_h in params.yaml)"
        )
    n = len(window_all)
    if window_h is not None:
        n = max(1, round(window_h / step_h))
        if n > len(window_all):
            raise ModelError(
                f"{name}: window_h={window_h} h is longer than the "
                f"{len(window_all)}-step window of the feature table"
            )
    window = window_all[:n]
    cov = [c for c in columns if not c.startswith(WINDOW_PREFIX)]
    ref = [c for c in DEFAULT_TARGET_REFERENCE if c in columns]
    pos = {c: i for i, c in enumerate(columns)}
    return Layout(
        window=[pos[c] for c in reversed(window)],
        covariates=[pos[c] for c in cov],
        load_covariates=[c.startswith("load_") and "diff" not in c for c in cov],
        reference=[pos[c] for c in ref],
    )


def check_rows(
    Xa: np.ndarray,
    window: list[int],
    feature_names: list[str],
    max_missing_share: float,
    name: str,
    what: str,
) -> None:
    """Refuse infinite features and rows whose past ``window`` is mostly missing: a window longer
    than the history would otherwise be imputed silently."""
    if np.isinf(Xa).any():
        bad = sorted({feature_names[j] for j in np.nonzero(np.isinf(Xa))[1]})
        raise ModelError(f"{name}: infinite values in the {what} features {bad[:5]}")
    if not len(Xa):
        return
    missing = np.isnan(Xa[:, window]).mean(axis=1)
    over = missing > max_missing_share
    if over.any():
        raise ModelError(
            f"{name}: {int(over.sum())} of {len(Xa)} {what} rows miss more than "
            f"{max_missing_share:.0%} of their {len(window)}-step past "
            "window: the window is longer than the load history available at their "
            "origin (shorten window_h or give more history)"
        )


@dataclass(frozen=True)
class OriginSplit:
    """Rows sorted by origin (stable), grouped per origin, split train / validation."""

    X: np.ndarray  # float32 features, sorted by origin
    y: np.ndarray  # float targets, same order
    starts: np.ndarray  # first row of each origin
    counts: np.ndarray  # rows of each origin
    row_origin: np.ndarray  # origin id of each row
    train_rows: np.ndarray  # labels known before the first validation origin
    val_rows: np.ndarray  # rows of the validation origins
    bounds: dict[str, str]  # ISO bounds of both parts (``SequenceForecaster.split``)

    @property
    def train_origins(self) -> np.ndarray:
        """Origins with at least one training row."""
        return np.unique(self.row_origin[self.train_rows])

    @property
    def val_origins(self) -> np.ndarray:
        return np.unique(self.row_origin[self.val_rows])

    @property
    def all_origins(self) -> np.ndarray:
        return np.unique(self.row_origin)


def split_by_origin(
    Xa: np.ndarray,
    yv: np.ndarray,
    origins: pd.DatetimeIndex,
    targets: pd.DatetimeIndex,
    step: pd.Timedelta,
    validation_fraction: float,
    name: str,
) -> OriginSplit:
    """The last ``validation_fraction`` of origins validate; training keeps only the rows whose
    label is known before the first validation origin (no overlap, no leak)."""
    # integer origins below are nanoseconds, whatever the index unit (pandas 3 defaults to us)
    origins, targets = origins.as_unit("ns"), targets.as_unit("ns")
    order = np.argsort(origins.asi8, kind="stable")
    Xa, yv = Xa[order], yv[order]
    origins, targets = origins[order], targets[order]
    uniq, first, counts = np.unique(origins.asi8, return_index=True, return_counts=True)
    n_val = max(1, round(len(uniq) * validation_fraction))
    if len(uniq) - n_val < 10:
        raise ModelError(f"{name}: too few forecast origins to train ({len(uniq)})")
    val_start = pd.Timestamp(uniq[-n_val], tz="UTC")
    is_val_origin = origins.asi8 >= uniq[-n_val]
    train_rows = np.asarray(~is_val_origin & (targets + step <= val_start))
    val_rows = np.asarray(is_val_origin)
    bounds = {
        "train_first_target": targets[train_rows].min().isoformat(),
        "train_end": (targets[train_rows].max() + step).isoformat(),
        "validation_start": val_start.isoformat(),
        "validation_end": (targets[val_rows].max() + step).isoformat(),
    }
    row_origin = np.repeat(np.arange(len(uniq)), counts)
    return OriginSplit(Xa, yv, first, counts, row_origin, train_rows, val_rows, bounds)


def finite_stats(values: np.ndarray) -> tuple[float, float]:
    """Mean and std of the finite values (0, 1 when none; std 1 when degenerate)."""
    v = values[np.isfinite(values)]
    if not len(v):
        return 0.0, 1.0
    sd = float(np.std(v))
    return float(np.mean(v)), sd if sd > 1e-6 else 1.0


def reference_np(X: np.ndarray, ref_cols: list[int], fallback: float) -> np.ndarray:
    """NumPy twin of :meth:`SequenceNet.reference` (scaling statistics only)."""
    ref = np.full(len(X), fallback, dtype=float)
    for j in reversed(ref_cols):
        v = X[:, j].astype(float)
        ok = np.isfinite(v) & (v > 0)
        ref = np.where(ok, v, ref)
    return ref


def fit_scaling(X_train: np.ndarray, y_train: np.ndarray, layout: Layout) -> Scaling:
    """Scaling constants of the training rows only (the validation labels never leak in)."""
    fallback = float(np.mean(y_train))
    ref_tr = reference_np(X_train, layout.reference, fallback)
    w_mean, w_std = finite_stats((X_train[:, layout.window] / ref_tr[:, None] - 1.0).ravel())
    cov = X_train[:, layout.covariates].astype(float)
    is_load = np.asarray(layout.load_covariates)
    cov[:, is_load] = cov[:, is_load] / ref_tr[:, None]
    stats = [finite_stats(cov[:, j]) for j in range(cov.shape[1])]
    t_mean, t_std = finite_stats(y_train / ref_tr - 1.0)
    return Scaling(
        fallback_reference=fallback,
        window_mean=w_mean,
        window_std=w_std,
        cov_mean=np.array([s[0] for s in stats], dtype=np.float32),
        cov_std=np.array([s[1] for s in stats], dtype=np.float32),
        target_mean=t_mean,
        target_std=t_std,
    )
