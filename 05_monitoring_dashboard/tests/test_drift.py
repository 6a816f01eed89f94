"""PSI and KS on crafted distributions: identical samples are quiet, shifted ones drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_dashboard.drift import MIN_POINTS, DriftThresholds, compare_column, drift_report, ks, psi

RNG = np.random.default_rng(42)
REF = RNG.normal(55_000, 8_000, 5_000)


def test_psi_of_a_sample_against_itself_is_zero() -> None:
    assert psi(REF, REF) == pytest.approx(0.0, abs=1e-12)


def test_psi_grows_with_the_shift() -> None:
    same = RNG.normal(55_000, 8_000, 2_000)
    small = RNG.normal(56_000, 8_000, 2_000)
    large = RNG.normal(65_000, 8_000, 2_000)
    assert psi(REF, same) < 0.05
    assert psi(REF, same) < psi(REF, small) < psi(REF, large)
    assert psi(REF, large) > 0.25


def test_psi_known_value_on_two_bins() -> None:
    # reference split 50/50 by its median; recent 80/20 → PSI = Σ (q−p) ln(q/p)
    ref = np.array([0.0] * 50 + [1.0] * 50)
    new = np.array([0.0] * 80 + [1.0] * 20)
    expected = (0.8 - 0.5) * np.log(0.8 / 0.5) + (0.2 - 0.5) * np.log(0.2 / 0.5)
    assert psi(ref, new, bins=2) == pytest.approx(expected)


def test_psi_outside_the_reference_range_is_finite_and_large() -> None:
    value = psi(REF, REF + 100_000)
    assert np.isfinite(value)
    assert value > 5


def test_psi_ignores_nan_and_refuses_empty() -> None:
    with_nan = np.concatenate([REF, [np.nan] * 100])
    assert psi(with_nan, REF) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="finite"):
        psi(REF, [np.nan, np.nan])
    with pytest.raises(ValueError, match="bins"):
        psi(REF, REF, bins=1)


def test_ks_matches_scipy_semantics() -> None:
    stat, p = ks(REF, REF)
    assert stat == 0.0
    assert p == pytest.approx(1.0)
    stat, p = ks(REF, REF + 10_000)
    assert stat > 0.4
    assert p < 1e-6
    with pytest.raises(ValueError, match="finite"):
        ks([], REF)


def test_compare_column_verdicts() -> None:
    th = DriftThresholds(psi=0.25, ks_stat=0.2, ks_alpha=0.01)
    quiet = compare_column("load_mw", REF, RNG.normal(55_000, 8_000, 500), th)
    assert quiet.status == "ok"
    assert not quiet.drifted
    moved = compare_column("load_mw", REF, RNG.normal(70_000, 8_000, 500), th)
    assert moved.drifted
    assert "PSI" in moved.reason
    assert "KS" in moved.reason
    assert moved.recent_mean is not None
    assert moved.recent_mean > moved.reference_mean  # type: ignore[operator]
    few = compare_column("t", REF, REF[: MIN_POINTS - 1], th)
    assert few.status == "no data"
    assert few.psi is None


def test_ks_alone_needs_both_statistic_and_p_value() -> None:
    new = RNG.normal(58_000, 8_000, 500)
    loose = compare_column("x", REF, new, DriftThresholds(psi=100, ks_stat=0.01, ks_alpha=0.5))
    strict = compare_column("x", REF, new, DriftThresholds(psi=100, ks_stat=0.99, ks_alpha=0.5))
    assert loose.drifted
    assert not strict.drifted


def test_drift_report_handles_missing_columns() -> None:
    ref = pd.DataFrame({"a": REF, "b": REF})
    new = pd.DataFrame({"a": REF[:500] + 20_000})
    report = drift_report(ref, new, ["a", "b", "c"], DriftThresholds())
    assert [r.column for r in report] == ["a", "b", "c"]
    assert [r.status for r in report] == ["drift", "no data", "no data"]
