"""The one walk-forward engine: whole days absorbed once over by the origin, leak-free, the band
adapting, a refit taking over the walk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.models.gam import GAMKalmanForecaster
from edip_ml.models.walk_forward import Static, WalkForward, day_ends, walk_forward
from edip_pipeline.conformal import ConformalBand
from edip_testkit.synthetic import heating_rows


def _levels(X: pd.DataFrame) -> tuple[pd.DatetimeIndex, pd.DatetimeIndex]:
    return (
        pd.DatetimeIndex(X.index.get_level_values("origin")),
        pd.DatetimeIndex(X.index.get_level_values("target_time")),
    )


def test_walk_forward_is_leak_free() -> None:
    X, y = heating_rows(days=260)
    n = 24 * 240
    test_X, test_y = X.iloc[n:], y.iloc[n:]
    model_a = GAMKalmanForecaster({"q": 1e-5}).fit(X.iloc[:n], y.iloc[:n])
    model_b = GAMKalmanForecaster({"q": 1e-5}).fit(X.iloc[:n], y.iloc[:n])
    a = walk_forward(model_a, test_X, test_y)
    origins, targets = _levels(test_X)
    cut = origins.unique()[10]
    later = test_y.copy()
    later[np.asarray(targets >= cut - pd.Timedelta(hours=12))] *= 1.02  # the morning before too
    b = walk_forward(model_b, test_X, later)
    upto = np.asarray(origins <= cut)
    np.testing.assert_allclose(a.loc[upto, "p50"], b.loc[upto, "p50"])
    assert not np.allclose(a.loc[~upto, "p50"], b.loc[~upto, "p50"])


def test_a_day_is_absorbed_whole_once_it_is_over() -> None:
    targets = pd.date_range("2020-03-27", periods=24 * 4, freq="h", tz="Europe/Paris")
    ends = day_ends(pd.DatetimeIndex(targets).tz_convert("UTC"))
    # the clock change (29 March, 23 h): each hour's day ends at the next Paris midnight
    want = (targets.normalize() + pd.DateOffset(days=1)).tz_convert("UTC")
    np.testing.assert_array_equal(ends, np.asarray(pd.DatetimeIndex(want).as_unit("ns").asi8))


class _Constant:
    """P50 fixed at 60 GW, P10/P90 ± 1 GW: only the band moves."""

    name = "constant"

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        n = len(X)
        return pd.DataFrame(
            {"p10": np.full(n, 59_000.0), "p50": np.full(n, 60_000.0), "p90": np.full(n, 61_000.0)},
            index=X.index,
        )


def _day_ahead(days: int) -> pd.DataFrame:
    targets = pd.date_range("2019-01-01", periods=24 * days, freq="h", tz="Europe/Paris")
    origins = targets.normalize() - pd.Timedelta(hours=12)
    index = pd.MultiIndex.from_arrays(
        [origins.tz_convert("UTC"), targets.tz_convert("UTC")], names=["origin", "target_time"]
    )
    return pd.DataFrame({"hour": targets.hour}, index=index)


def test_the_band_uses_only_past_days_and_widens_after_a_regime_shift() -> None:
    X = _day_ahead(40)
    origins, targets = _levels(X)
    rng = np.random.default_rng(1)
    scale = np.where(targets >= pd.Timestamp("2019-01-25", tz="UTC"), 3_000.0, 600.0)
    y = pd.Series(60_000.0 + rng.normal(0, 1, len(X)) * scale, index=X.index)
    band = ConformalBand(window=14, min_count=7)
    a = walk_forward(Static(_Constant()), X, y, band)
    later = y.copy()
    later[np.asarray(targets >= pd.Timestamp("2019-01-30", tz="UTC"))] += 5_000.0
    b = walk_forward(Static(_Constant()), X, later, ConformalBand(window=14, min_count=7))
    first_week = np.asarray(origins < pd.Timestamp("2019-01-07", tz="UTC"))
    assert (a.loc[first_week, "p90"] == 61_000.0).all()  # < 7 days an hour: the model's band
    upto = np.asarray(origins <= pd.Timestamp("2019-01-30", tz="UTC"))
    np.testing.assert_array_equal(a[upto].to_numpy(), b[upto].to_numpy())
    width = (a["p90"] - a["p10"]).to_numpy()
    days = targets.floor("D")
    assert width[days == "2019-02-08"].mean() > 3 * width[days == "2019-01-20"].mean()


def test_a_refit_takes_over_the_walk_and_the_band_runs_on() -> None:
    X, y = heating_rows(days=280)
    n = 24 * 240
    first = GAMKalmanForecaster({"q": 1e-5}).fit(X.iloc[:n], y.iloc[:n])
    walk = WalkForward(first, ConformalBand(window=60, min_count=7))
    walk.run(X.iloc[n : n + 24 * 20], y.iloc[n : n + 24 * 20])
    scores_before = sum(len(s) for s in walk.band.scores) if walk.band else 0
    origins, _ = _levels(X)
    refit_origin = origins[n + 24 * 20]
    walk.advance(refit_origin)  # the days known at the refit's first origin, with the old model
    assert walk.band is not None
    assert sum(len(s) for s in walk.band.scores) > scores_before
    second = GAMKalmanForecaster({"q": 1e-5}).fit(X.iloc[: n + 24 * 19], y.iloc[: n + 24 * 19])
    walk.model = second
    out = walk.run(X.iloc[n + 24 * 20 :], y.iloc[n + 24 * 20 :])
    assert out["p50"].notna().all()
    assert (out["p90"] >= out["p50"]).all()
