"""ML-Poly aggregation: leak-free replay, gradient trick, missing experts, per-hour weights."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_ml.models.aggregation import aggregate
from edip_pipeline.online import MLPoly, combine


def frame(days: int = 60, seed: int = 0) -> pd.DataFrame:
    """Day-ahead rows of three experts: +600 MW biased, −600 MW biased, and noisy."""
    rng = np.random.default_rng(seed)
    targets = pd.date_range("2019-01-01", periods=24 * days, freq="h", tz="UTC")
    origins = targets.floor("D") - pd.Timedelta(hours=12)
    actual = 60000 + 5000 * np.sin(2 * np.pi * targets.hour.to_numpy() / 24)
    experts = {
        "high": actual + 600 + rng.normal(0, 100, len(actual)),
        "low": actual - 600 + rng.normal(0, 100, len(actual)),
        "noisy": actual + rng.normal(0, 2500, len(actual)),
    }
    rows = [
        pd.DataFrame(
            {
                "origin": origins,
                "target_time": targets,
                "model": name,
                "horizon_h": ((targets - origins) / pd.Timedelta(hours=1)).to_numpy(float),
                "p10": p50 - 1000,
                "p50": p50,
                "p90": p50 + 1000,
                "actual": actual,
            }
        )
        for name, p50 in experts.items()
    ]
    return pd.concat(rows, ignore_index=True)


def mae(f: pd.DataFrame) -> float:
    return float(np.mean(np.abs(f["p50"] - f["actual"])))


def test_combination_beats_every_expert_by_the_gradient_trick() -> None:
    f = frame()
    combo, state = aggregate(f, ["high", "low", "noisy"])
    assert state is not None
    assert state.n_updates > 0
    late = combo[combo["target_time"] >= pd.Timestamp("2019-02-01", tz="UTC")]
    best = min(mae(g[g["target_time"] >= late["target_time"].min()]) for _, g in f.groupby("model"))
    assert mae(late) < 0.6 * best  # a convex mix of the two biased experts cancels their biases
    w = state.weights()
    assert w.shape == (24, 3)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert (w[:, 2] < 0.2).all()  # the noisy expert is down-weighted at every hour


def test_weights_only_see_outcomes_known_at_the_origin() -> None:
    f = frame(days=20)
    base, _ = aggregate(f, ["high", "low", "noisy"])
    cut = pd.Timestamp("2019-01-10 12:00", tz="UTC")
    changed = f.copy()
    future = changed["target_time"] >= cut
    changed.loc[future, "actual"] += 50000  # rewrite what happens after the origin
    again, _ = aggregate(changed, ["high", "low", "noisy"])
    before = base["origin"] <= cut - pd.Timedelta(hours=1)
    np.testing.assert_allclose(base.loc[before, "p50"], again.loc[before, "p50"])


def test_missing_expert_is_renormalised_and_too_few_experts_skip() -> None:
    w = np.array([[0.5, 0.5]])
    out = combine(np.array([[100.0, np.nan], [np.nan, np.nan]]), w, np.array([0, 0]))
    assert out[0] == 100.0
    assert np.isnan(out[1])
    f = frame(days=5)
    empty, state = aggregate(f, ["high", "absent"])
    assert empty.empty
    assert state is None


def test_state_round_trips_through_json() -> None:
    import json

    s = MLPoly(3)
    s.update(np.array([[1.0, 2.0, 3.0]]), np.array([2.5]), np.array([4]))
    back = MLPoly.from_dict(json.loads(json.dumps(s.to_dict())))
    np.testing.assert_allclose(back.weights(), s.weights())


def test_forgetting_follows_the_expert_right_this_week() -> None:
    """Expert A is right for 60 days, then B (A +1500 MW): in the week after the switch, the
    discounted ML-Poly errs much less than the whole-history one, which keeps trusting A."""
    rng = np.random.default_rng(0)
    n, switch = 90, 60
    y = 60000 + rng.normal(0, 300, n)
    late = np.arange(n) >= switch
    E = np.column_stack(
        [y + rng.normal(0, 200, n) + 1500 * late, y + rng.normal(0, 200, n) + 1500 * ~late]
    )
    hours = np.zeros(n, dtype=int)
    week_error = {}
    for forget in (0.0, 0.05):
        s = MLPoly(2, forget=forget)
        errors = []
        for d in range(n):
            errors.append(abs(s.combine(E[d : d + 1], hours[d : d + 1])[0] - y[d]))
            s.update(E[d : d + 1], y[d : d + 1], hours[d : d + 1])
        week_error[forget] = float(np.mean(errors[switch : switch + 7]))
    assert week_error[0.05] < 0.75 * week_error[0.0]
    assert MLPoly.from_dict(MLPoly(2, forget=0.05).to_dict()).forget == 0.05


def test_forget_reaches_the_backtest_aggregation() -> None:
    f = frame()
    plain, s0 = aggregate(f, ["high", "low", "noisy"])
    fast, s1 = aggregate(f, ["high", "low", "noisy"], forget=0.1)
    assert s0 is not None
    assert s1 is not None
    assert (s0.forget, s1.forget) == (0.0, 0.1)
    assert not np.allclose(plain["p50"], fast["p50"])
