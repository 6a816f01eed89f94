"""The one walk-forward engine: rows absorbed once published by the origin (ml.absorb_lag; whole
days without), exactly once, leak-free, the band adapting, a refit taking over the walk."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.models.gam import GAMKalmanForecaster
from edip_ml.models.walk_forward import (
    WHOLE_DAYS,
    AbsorbRule,
    Static,
    WalkForward,
    day_ends,
    walk_forward,
)
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


class _Recorder(_Constant):
    """Records each absorb call: the (origin, target) rows, as the engine hands them over."""

    def __init__(self) -> None:
        self.calls: list[pd.Index] = []

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
        self.calls.append(X.index)
        return ~np.isfinite(y.to_numpy(dtype=float))


def _walk_recorded(rule: AbsorbRule, days: int = 20) -> tuple[_Recorder, list[tuple[int, int]]]:
    """Walk day-ahead rows; per origin, (origin, number of absorb calls before it)."""
    X = _day_ahead(days)
    y = pd.Series(60_000.0, index=X.index)
    model = _Recorder()
    walk = WalkForward(model, None, rule)
    seen: list[tuple[int, int]] = []
    origins, _ = _levels(X)
    for origin in origins.unique():
        at = np.asarray(origins == origin)
        walk.run(X[at], y[at])
        seen.append((origin.value, len(model.calls)))
    walk.finish()
    return model, seen


def test_a_row_is_absorbed_once_published_by_the_origin_and_exactly_once() -> None:
    rule = AbsorbRule(pd.Timedelta("2h"), 12)
    model, seen = _walk_recorded(rule)
    calls = model.calls
    absorbed = [t for c in calls for t in c.get_level_values("target_time")]
    assert len(absorbed) == len(set(absorbed)) == 24 * 20  # every row, once
    assert absorbed == sorted(absorbed)  # in target order, across calls
    # before each origin: everything ended by origin - 2 h is in, nothing after it (no leak)
    for origin, n_calls in seen:
        cut = pd.Timestamp(origin, tz="UTC") - pd.Timedelta("2h")
        ends = [t + pd.Timedelta("1h") for c in calls[:n_calls] for t in c.get_level_values(1)]
        assert all(e <= cut for e in ends)
        pending = [t for c in calls[n_calls:] for t in c.get_level_values(1)]
        assert all(t + pd.Timedelta("1h") > cut for t in pending)
    # the 12:00 origin of D-1 has absorbed D-1 up to 10:00 (its last hour: 09:00-10:00)
    origin = pd.Timestamp("2019-01-05 12:00", tz="Europe/Paris")
    n = dict(seen)[origin.tz_convert("UTC").value]
    last = max(t for c in calls[:n] for t in c.get_level_values(1))
    assert last == pd.Timestamp("2019-01-05 09:00", tz="Europe/Paris")
    # one call per group: the rows of 10:00 (D-2) .. 09:00 (D-1) together
    assert [len(c) for c in calls[1:-2]] == [24] * len(calls[1:-2])


def test_the_whole_day_rule_is_todays() -> None:
    model, seen = _walk_recorded(WHOLE_DAYS)
    for origin, n_calls in seen:
        cut = pd.Timestamp(origin, tz="UTC").tz_convert("Europe/Paris").normalize()
        ends = [
            t + pd.Timedelta("1h") for c in model.calls[:n_calls] for t in c.get_level_values(1)
        ]
        assert all(e <= cut for e in ends)
        assert n_calls == 0 or max(ends) == cut  # the day before the origin's day, whole
    assert all(len(c) == 24 for c in model.calls)
    targets = pd.date_range("2020-03-27", "2020-04-03", freq="30min", tz="Europe/Paris")
    utc = pd.DatetimeIndex(targets).tz_convert("UTC")
    np.testing.assert_array_equal(WHOLE_DAYS.known_at(utc), day_ends(utc))


def test_a_refit_absorbs_its_training_rows_with_the_model_before_it() -> None:
    rule = AbsorbRule(pd.Timedelta("2h"), 12)
    X = _day_ahead(6)
    y = pd.Series(60_000.0, index=X.index)
    origins, _ = _levels(X)
    old, new = _Recorder(), _Recorder()
    walk = WalkForward(old, None, rule)
    first = np.asarray(origins < pd.Timestamp("2019-01-04 11:00Z"))
    walk.run(X[first], y[first])
    refit_origin = pd.Timestamp("2019-01-04 12:00", tz="Europe/Paris")
    train_end = pd.Timestamp("2019-01-04", tz="Europe/Paris")  # trained through 01-03
    walk.advance(refit_origin, through=train_end)
    walk.model = new
    walk.run(X[~first], y[~first])
    old_rows = [t for c in old.calls for t in c.get_level_values(1)]
    new_rows = [t for c in new.calls for t in c.get_level_values(1)]
    assert max(old_rows) == train_end - pd.Timedelta("1h")
    # the refit's first step: 01-04 00:00 .. 09:00, what the live update gives a new champion
    assert list(new.calls[0].get_level_values(1)) == list(
        pd.date_range("2019-01-04", periods=10, freq="h", tz="Europe/Paris")
    )
    assert not set(old_rows) & set(new_rows)
