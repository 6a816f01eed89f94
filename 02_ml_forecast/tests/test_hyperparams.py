"""Hyper-parameters as one typed object: defaults, search space, rebuilt from logged strings."""

from __future__ import annotations

from typing import Annotated

import optuna
import pytest
from pydantic import Field, ValidationError

from edip_ml.config import GAMKalmanParams, LightGBMParams, XGBoostParams
from edip_ml.hyperparams import ModelParams, Search
from edip_ml.models import MODELS, make_model
from edip_ml.registry.tracking import flat_params


class ToyParams(ModelParams):
    trees: Annotated[int, Search(low=10, high=100, step=10)] = Field(20, description="Trees.")
    rate: Annotated[float, Search(low=1e-3, high=1.0, log=True)] = Field(0.1, description="Rate.")
    depth: Annotated[int | None, Search(choices=(3, 6, 9))] = Field(None, description="Depth.")
    loss: str = Field("l2", description="Not searched.")


def test_the_space_is_read_from_the_fields_and_sampled_with_their_types() -> None:
    assert ToyParams.search_space() == {
        "trees": Search(low=10, high=100, step=10),
        "rate": Search(low=1e-3, high=1.0, log=True),
        "depth": Search(choices=(3, 6, 9)),
    }
    trial = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1)).ask()
    params = ToyParams.suggest(trial, fixed={"loss": "l1"})
    dists = trial.distributions
    assert isinstance(dists["trees"], optuna.distributions.IntDistribution)
    assert dists["trees"].step == 10
    assert isinstance(dists["rate"], optuna.distributions.FloatDistribution)
    assert dists["rate"].log
    assert isinstance(dists["depth"], optuna.distributions.CategoricalDistribution)
    assert params["loss"] == "l1"
    assert ToyParams.model_validate(params).trees % 10 == 0
    with pytest.raises(ValueError, match="no field"):
        ToyParams.suggest(trial, space={"nope": Search(low=0, high=1)})


def test_a_search_is_a_range_or_choices_and_can_be_capped() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Search(low=1, high=2, choices=(1,))
    with pytest.raises(ValueError, match="exactly one"):
        Search(low=1)
    with pytest.raises(ValueError, match="empty range"):
        Search(low=2, high=1)
    assert Search(choices=(72, 168)).capped(100) == Search(choices=(72,))
    assert Search(choices=(72, 168)).capped(48) == Search(choices=(48,))
    assert Search(low=0.0, high=10.0).capped(4) == Search(low=0.0, high=4)


def test_unknown_keys_are_an_error() -> None:
    with pytest.raises(ValidationError):
        XGBoostParams.model_validate({"n_estimator": 10})  # the typo must not pass silently


def test_defaults_come_from_the_params_class() -> None:
    model = make_model("lightgbm")
    assert model.params == LightGBMParams().model_dump()
    assert MODELS["lightgbm"]().params == model.params  # the class, unconfigured: same defaults


@pytest.mark.parametrize(
    "params",
    [
        XGBoostParams(n_estimators=30, objective="reg:absoluteerror", n_jobs=None),
        LightGBMParams(target_reference=[], reg_lambda=0.5),
        GAMKalmanParams(q=4e-7, warmup_days=12),
        ToyParams(depth=6, loss="1"),
    ],
)
def test_rebuilt_from_what_mlflow_logged(params: ModelParams) -> None:
    """Every value goes through the strings MLflow stores and comes back equal and typed."""
    logged = flat_params(params.model_dump())
    assert all(isinstance(v, str) for v in logged.values())
    assert type(params).from_logged({**logged, "other.key": "x"}) == params
