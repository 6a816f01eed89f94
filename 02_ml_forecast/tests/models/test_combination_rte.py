"""``combination_rte``: RTE's D-1 forecast as an input-column expert, the no-RTE fallback state,
ONNX parity in both variants, and the daily update of both states."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from edip_ml.config import MLParams
from edip_ml.export.onnx_export import OnnxForecaster, parity_delta, to_onnx
from edip_ml.models import ModelError, make_model
from edip_ml.models.combination_rte import CombinedRteForecaster
from edip_ml.models.online import absorb_groups
from edip_pipeline.contract import (
    RTE_EXPERT_KEY,
    RTE_FEATURE,
    WITH_RTE,
    WITHOUT_RTE,
    WITHOUT_RTE_KEY,
)
from edip_pipeline.online import MLPoly
from edip_testkit.synthetic import heating_rows

PARAMS = MLParams().with_overrides(
    {"combination": {"experts": ["gam", "same_hour_last_week"], "rte_source": "entsoe"}}
)


def rte_rows(days: int = 200) -> tuple[pd.DataFrame, pd.Series]:
    """Synthetic rows whose RTE forecast is the load plus a small error (a strong expert)."""
    X, y = heating_rows(days=days)
    noise = np.random.default_rng(1).normal(0, 200, len(y))
    return X.assign(**{RTE_FEATURE: y.to_numpy() + noise}), y


@pytest.fixture(scope="module")
def fitted() -> tuple[CombinedRteForecaster, pd.DataFrame, pd.Series]:
    X, y = rte_rows()
    model = make_model("combination_rte", PARAMS)
    assert isinstance(model, CombinedRteForecaster)
    return model.fit(X, y), X, y


def test_rte_is_the_last_input_and_expert_never_learnt_by_the_experts(
    fitted: tuple[CombinedRteForecaster, pd.DataFrame, pd.Series],
) -> None:
    model, X, _ = fitted
    assert model.feature_names[-1] == RTE_FEATURE
    assert all(RTE_FEATURE not in e.feature_names for e in model.experts)
    assert model.rte_column == len(model.feature_names) - 1
    assert model.state is not None
    assert model.state.n_experts == len(model.experts) + 1
    assert model.without is not None
    assert model.without.n_experts == len(model.experts)
    assert model.variant(X.tail(48)) == WITH_RTE


def test_missing_rte_serves_the_no_rte_state_for_the_whole_batch(
    fitted: tuple[CombinedRteForecaster, pd.DataFrame, pd.Series],
) -> None:
    model, X, _ = fitted
    day = X.tail(24)
    gap = day.assign(**{RTE_FEATURE: np.r_[day[RTE_FEATURE].to_numpy()[:23], np.nan]})
    assert model.variant(gap) == WITHOUT_RTE
    without = model.predict(gap)
    assert without.notna().all().all()
    # exactly the no-RTE combination: the same experts and the fallback state, RTE ignored
    shifted = gap.assign(**{RTE_FEATURE: np.r_[gap[RTE_FEATURE].to_numpy()[:23] + 5e4, np.nan]})
    pd.testing.assert_frame_equal(model.predict(shifted), without)
    with_rte = model.predict(day)
    assert not np.allclose(with_rte["p50"], without["p50"])


def test_onnx_parity_in_both_variants(
    fitted: tuple[CombinedRteForecaster, pd.DataFrame, pd.Series],
) -> None:
    model, X, _ = fitted
    onx = to_onnx(model)
    served = OnnxForecaster(onx.SerializeToString())
    state = served.online_state or {}
    assert state[RTE_EXPERT_KEY] == len(model.experts)
    assert WITHOUT_RTE_KEY in state
    day = X.tail(36)
    gap = day.assign(**{RTE_FEATURE: np.nan})
    assert served.variant(day) == WITH_RTE
    assert served.variant(gap) == WITHOUT_RTE
    assert parity_delta(model, onx, day) < 1.0
    assert parity_delta(model, onx, gap) < 1.0


def test_the_daily_update_moves_both_states(
    fitted: tuple[CombinedRteForecaster, pd.DataFrame, pd.Series],
) -> None:
    model, X, y = fitted
    served = OnnxForecaster(to_onnx(model).SerializeToString())
    day, truth = X.tail(24), y.tail(24).to_numpy() + 3000  # a level shift
    state = dict(served.online_state or {})
    new, _ = absorb_groups(served, state, [(day, pd.Series(truth, index=day.index))])
    assert new["regret"] != state["regret"]
    assert new[WITHOUT_RTE_KEY]["regret"] != state[WITHOUT_RTE_KEY]["regret"]
    assert new[WITHOUT_RTE_KEY]["conformal"] != state[WITHOUT_RTE_KEY]["conformal"]
    # the native model absorbing the same day lands on the same weights (float32 graph aside)
    model.absorb(day, pd.Series(truth, index=day.index))
    assert model.without is not None
    served_without = MLPoly.from_dict(new[WITHOUT_RTE_KEY]).weights()
    np.testing.assert_allclose(model.without.weights(), served_without, atol=1e-3)


def test_a_table_without_the_rte_column_is_refused() -> None:
    X, y = heating_rows(days=60)
    with pytest.raises(ModelError, match=RTE_FEATURE):
        make_model("combination_rte", PARAMS).fit(X, y)
