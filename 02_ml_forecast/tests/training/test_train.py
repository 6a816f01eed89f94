"""The default champion's path: training a set fits and backtests each expert once, and the
combination is built from those fits (real sample store, real MLflow server)."""

from __future__ import annotations

from pathlib import Path

from mlflow import MlflowClient

from edip_ml.config import MLParams
from edip_ml.models.base import FIT_COUNTS
from edip_ml.registry.versions import load_version
from edip_ml.training.train import train_models
from edip_pipeline.contract import RTE_FEATURE, WITHOUT_RTE_KEY
from edip_pipeline.store import Store
from edip_testkit.platform import sample_store as sample_store_at
from edip_testkit.rte import RTE_SET, write_entsoe_forecast

from .. import mlflow_server as fixtures

mlflow_server = fixtures.mlflow_server
tracking = fixtures.tracking
model_name = fixtures.model_name
sample_data_dir = fixtures.sample_data_dir
sample_store = fixtures.sample_store

SET = MLParams().with_overrides(
    {
        "lightgbm": {"n_estimators": 20, "num_leaves": 7},
        "combination": {"experts": ["lightgbm", "gam"]},
        "backtest": {"baselines": ["same_hour_last_week"], "weather": "none"},
    }
)


def test_the_combination_reuses_its_experts_fits(
    tracking: str, sample_store: Store, model_name: str
) -> None:
    """``lightgbm,combination``: LightGBM and the GAM fitted once per fold plus once, the
    combination not at all; the GAM (a member not asked for) is fitted but not registered."""
    before = dict(FIT_COUNTS)
    results = train_models(
        ["lightgbm", "combination"],
        end="2020-12-31",
        store=sample_store,
        params=SET,
        backtest_days=45,  # 2020-11-17 .. 12-31: two monthly folds
        model_name=model_name,
        experiment=model_name,
    )
    by_name = {r.model: r for r in results}
    assert [r.model for r in results] == ["lightgbm", "combination"]
    assert all(r.ok for r in results), [r.error for r in results]
    fitted = {k: FIT_COUNTS[k] - before.get(k, 0) for k in FIT_COUNTS}
    folds = 2
    assert fitted["lightgbm"] == 1 + folds  # the combination did not refit it
    assert fitted["gam"] == 1 + folds
    assert fitted["same_hour_last_week"] == folds  # the reports' baseline, backtested once
    assert fitted.get("combination", 0) == 0
    assert by_name["lightgbm"].fits == {"final": 1, "backtest": folds, "tuning": 0}
    assert by_name["combination"].fits == {"final": 0, "backtest": 0}

    versions = MlflowClient().search_model_versions(f"name='{model_name}'")
    assert len(versions) == 2  # lightgbm and the combination; the GAM was only a member
    served = load_version(str(by_name["combination"].version), model_name=model_name)
    state = served.online_state
    assert state is not None
    assert state["experts"] == ["lightgbm", "gam"]
    assert "0" not in state.get("expert_states", {})  # neither expert is a Kalman one
    assert by_name["combination"].metrics["mape"] < 0.1
    assert by_name["combination"].parity_mw is not None
    assert by_name["combination"].parity_mw < 1.0


def test_both_variants_from_one_set_of_expert_fits(
    tracking: str, model_name: str, tmp_path: Path
) -> None:
    """``combination,combination_rte``: the experts fitted once for both; the RTE variant reads
    RTE's forecast from the store (ENTSO-E here), records that source in its feature_params,
    and carries the no-RTE state it falls back to."""
    with sample_store_at(tmp_path / "data") as store:
        write_entsoe_forecast(store, "2020-10-01", "2020-12-30")
        before = dict(FIT_COUNTS)
        results = train_models(
            ["combination", "combination_rte"],
            end="2020-12-20",
            store=store,
            params=MLParams().with_overrides(RTE_SET),
            backtest_days=21,
            model_name=model_name,
            experiment=model_name,
        )
    assert all(r.ok for r in results), [r.error for r in results]
    fitted = {k: FIT_COUNTS[k] - before.get(k, 0) for k in FIT_COUNTS}
    assert fitted["ridge"] == 1 + 2  # one final fit, two monthly folds: shared by both variants
    by_name = {r.model: r for r in results}
    assert by_name["combination_rte"].parity_mw is not None
    assert by_name["combination_rte"].parity_mw < 1.0
    served = load_version(str(by_name["combination_rte"].version), model_name=model_name)
    assert served.feature_names[-1] == RTE_FEATURE
    assert (served.feature_params or {})["rte_forecast"] == "entsoe"
    state = served.online_state or {}
    assert state["experts"] == ["ridge", "same_hour_last_week", "rte_d1"]
    assert state[WITHOUT_RTE_KEY]["n_experts"] == 2
    plain = load_version(str(by_name["combination"].version), model_name=model_name)
    assert RTE_FEATURE not in plain.feature_names
