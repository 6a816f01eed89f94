"""The ACI band (:mod:`edip_pipeline.conformal`) against MAPIE's time-series ACI on the same data."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from edip_pipeline.conformal import ConformalBand, conformal_quantile


def _stream(seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """56 calibration and 400 test (P50, actual) pairs; the errors triple at test row 200."""
    rng = np.random.default_rng(seed)
    p50 = 55_000 + 8_000 * np.sin(np.arange(456) / 7) + rng.normal(0, 500, 456)
    scale = np.where(np.arange(456) < 56 + 200, 0.015, 0.045)
    y = p50 * (1 + rng.normal(0.002, 1, 456) * scale)
    return p50[:56], y[:56], p50[56:], y[56:]


def test_the_band_is_mapie_aci_on_the_same_residuals() -> None:
    """Bounds and α_t equal MAPIE's TimeSeriesRegressor(method="aci", GammaConformityScore)
    whose conformity scores roll with each outcome, row by row over a regime shift."""
    from sklearn.base import BaseEstimator, RegressorMixin

    mapie_ts = pytest.importorskip("mapie.regression")
    from mapie.conformity_scores import GammaConformityScore

    class Column(RegressorMixin, BaseEstimator):  # type: ignore[misc]
        """A prefit "regressor" whose prediction is the first column: the P50 given from outside."""

        def fit(self, X: np.ndarray, y: np.ndarray) -> Column:
            self.n_features_in_ = X.shape[1]
            self.fitted_ = True
            return self

        def predict(self, X: np.ndarray) -> np.ndarray:
            return np.asarray(X, dtype=float)[:, 0]

    p_cal, y_cal, p50, y = _stream()
    gamma = 0.02
    mapie = mapie_ts.TimeSeriesRegressor(
        Column().fit(p_cal[:, None], y_cal), method="aci", cv="prefit",
        conformity_score=GammaConformityScore(),
    )  # fmt: skip
    mapie.fit(p_cal[:, None], y_cal)
    band = ConformalBand(alpha=0.2, gamma=gamma, window=56, min_count=1, n_groups=1)
    band.scores[0] = list((y_cal - p_cal) / p_cal)
    ours, theirs, alphas = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for t in range(len(y)):
            x = p50[t : t + 1, None]
            _, bounds = mapie.predict(x, confidence_level=0.8, allow_infinite_bounds=True)
            theirs.append(bounds[0, :, 0])
            rel = band.relative_offsets(np.zeros(1))[0]
            ours.append(p50[t] * (1 + rel))
            mapie.adapt_conformal_inference(x, y[t : t + 1], gamma=gamma, confidence_level=0.8)
            mapie.update(x, y[t : t + 1])
            band.update(p50[t : t + 1], y[t : t + 1], np.zeros(1))
            alphas.append((float(band.alpha_t[0]), float(mapie.current_alpha[0.2])))
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-12)
    a = np.array(alphas)
    np.testing.assert_allclose(a[:, 0], a[:, 1], atol=1e-12)
    assert a[:, 0].std() > 0  # α_t moved: the comparison is not between two constants
    width = np.array(ours)[:, 1] - np.array(ours)[:, 0]
    assert width[300:].mean() > 2 * width[150:200].mean()  # the band widened after the shift


def test_groups_persistence_and_the_served_interval() -> None:
    band = ConformalBand(gamma=0.05, window=20, min_count=5, n_groups=24)
    rng = np.random.default_rng(0)
    hours = np.tile(np.arange(24), 30)
    p50 = np.full(len(hours), 60_000.0)
    spread = np.where(hours == 18, 0.05, 0.01)  # hour 18 is noisier
    y = p50 * (1 + rng.normal(0, 1, len(hours)) * spread)
    assert np.isnan(band.interval(p50[:24], hours[:24])[:, 0]).all()  # no scores yet: no band
    y[5] = np.nan
    assert band.update(p50, y, hours) == 1  # the missing actual is skipped, not absorbed
    q = band.interval(np.full(24, 60_000.0), np.arange(24))
    assert (q[:, 0] <= q[:, 1]).all()
    assert (q[:, 1] <= q[:, 2]).all()
    widths = q[:, 2] - q[:, 0]
    assert widths[18] > 3 * np.median(widths)
    assert all(len(s) == 20 for s in band.scores)  # rolled to the window
    again = ConformalBand.from_dict(band.to_dict())
    np.testing.assert_allclose(again.interval(p50[:48], hours[:48]), band.interval(p50[:48], hours[:48]), rtol=1e-6)  # fmt: skip
    with pytest.raises(ValueError, match="not a conformal band"):
        ConformalBand.from_dict({"kind": "kalman"})
    with pytest.raises(ValueError, match="alpha"):
        ConformalBand(alpha=1.5)


def test_conformal_quantile_is_finite_beyond_the_scores() -> None:
    s = np.arange(5.0)
    assert conformal_quantile(s, 0.5) == 2.0  # ceil(0.5·6)/5 = 0.6 → "lower" → 2
    assert conformal_quantile(s, 0.95) == 4.0  # MAPIE: +inf; here the largest score
