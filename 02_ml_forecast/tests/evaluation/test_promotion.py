"""The promotion gate against a REAL MLflow server: decisions, tags, the evaluation window."""

from __future__ import annotations

import pandas as pd
import pytest
from mlflow import MlflowClient

from edip_ml.evaluation.promotion import evaluation_window, promote
from edip_ml.registry.versions import CHALLENGER, CHAMPION, RegistryError, version_by_alias
from edip_pipeline.store import Store

from .. import mlflow_server as fixtures
from .. import registry_helpers as helpers

mlflow_server = fixtures.mlflow_server
tracking = fixtures.tracking
model_name = fixtures.model_name
sample_data_dir = fixtures.sample_data_dir
sample_store = fixtures.sample_store
train_xy = helpers.train_xy
baseline = helpers.baseline
publish_version = helpers.publish_version
WINDOW = helpers.WINDOW


def test_promotion_decisions(
    tracking: str,
    sample_store: Store,
    train_xy: tuple[pd.DataFrame, pd.Series],
    model_name: str,
) -> None:
    X, y = train_xy
    client = MlflowClient()
    with pytest.raises(RegistryError, match="no 'challenger'"):
        promote(sample_store, model_name=model_name, **WINDOW)

    # a first challenger failing the absolute gate does not become champion
    v_bad = publish_version(baseline("load_roll_min_168h", X, y), X, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.10, tolerance=0.02, **WINDOW)
    assert d.decision == "rejected"
    assert "absolute gate" in d.reason
    assert version_by_alias(CHAMPION, model_name=model_name) is None
    assert client.get_model_version(model_name, v_bad).tags["promotion_decision"] == "rejected"

    # the first version passing the gate becomes champion
    v1 = publish_version(baseline("load_lag_1d", X, y), X, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.10, tolerance=0.02, **WINDOW)
    assert d.promoted
    assert d.champion_version is None
    assert "no champion yet" in d.reason
    assert str(version_by_alias(CHAMPION, model_name=model_name).version) == v1  # type: ignore[union-attr]
    tags = client.get_model_version(model_name, v1).tags
    assert tags["promotion_decision"] == "promoted"
    assert float(tags["promotion_mape_challenger"]) == pytest.approx(d.mape_challenger, abs=1e-5)
    assert tags["promotion_mape_champion"] == "none"
    assert "promotion_timestamp" in tags
    assert tags["promotion_window"].startswith("2020-12-02")

    # promoting again: nothing to do
    assert promote(sample_store, model_name=model_name, **WINDOW).decision == "unchanged"

    # a worse challenger is not promoted, and the tags say why
    v2 = publish_version(baseline("load_same_hour_last_week", X, y), X, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.10, tolerance=0.02, **WINDOW)
    assert d.decision == "rejected"
    assert d.champion_version == v1
    assert d.mape_challenger is not None
    assert d.mape_champion is not None
    assert d.mape_challenger > d.mape_champion * 1.02
    tags = client.get_model_version(model_name, v2).tags
    assert tags["promotion_decision"] == "rejected"
    assert "worse than champion" in tags["promotion_reason"]
    assert float(tags["promotion_mape_champion"]) == pytest.approx(d.mape_champion, abs=1e-5)
    assert str(version_by_alias(CHAMPION, model_name=model_name).version) == v1  # type: ignore[union-attr]
    assert str(version_by_alias(CHALLENGER, model_name=model_name).version) == v2  # type: ignore[union-attr]

    # within tolerance of the champion but over the absolute gate: champion unchanged
    v3 = publish_version(baseline("load_lag_1d", X, y), X, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.01, tolerance=0.5, **WINDOW)
    assert d.decision == "rejected"
    assert "absolute gate" in d.reason
    assert str(version_by_alias(CHAMPION, model_name=model_name).version) == v1  # type: ignore[union-attr]

    # same quality, generous gate: promoted over the champion
    d = promote(sample_store, model_name=model_name, max_mape=0.10, tolerance=0.02, **WINDOW)
    assert d.promoted
    assert d.champion_version == v1
    assert str(version_by_alias(CHAMPION, model_name=model_name).version) == v3  # type: ignore[union-attr]


def test_evaluation_window_is_the_last_complete_days(sample_store: Store) -> None:
    w = evaluation_window(sample_store, 7)
    assert str(w.end_day.date()) == "2020-12-31"
    assert str(w.start_day.date()) == "2020-12-25"
    assert len(w.y) == 7 * 24
    assert w.y.notna().all()
    assert w.weather_source == "none"
    origins = w.X.index.get_level_values("origin")
    targets = w.X.index.get_level_values("target_time")
    assert ((targets - origins) >= pd.Timedelta(hours=11)).all()  # day-ahead: issued D-1 noon
    with pytest.raises(RegistryError, match="no actual load"):
        evaluation_window(sample_store, 3, end_day="2030-01-10")


def test_the_held_out_window_and_the_default_training_end(sample_store: Store) -> None:
    """One rule: the default training end is the day before the window promotion judges on."""
    from edip_ml.config import load_ml_params
    from edip_ml.data.evaluation_window import last_complete_day, window_ending
    from edip_ml.data.training_data import load_training_data, training_period

    days = load_ml_params().promotion.eval_window_days
    w = window_ending("2020-12-31", days)
    assert (str(w.first_day.date()), str(w.train_end.date())) == ("2020-12-04", "2020-12-03")
    assert w.covered_by(pd.Timestamp("2020-12-04"))
    assert not w.covered_by(w.train_end)
    assert last_complete_day(pd.Timestamp("2020-12-31T22:30Z")) == pd.Timestamp("2020-12-31")
    assert last_complete_day(pd.Timestamp("2020-12-31T22:00Z")) == pd.Timestamp("2020-12-30")
    with pytest.raises(ValueError, match="at least one day"):
        window_ending("2020-12-31", 0)
    data = load_training_data(sample_store, load_ml_params(), weather="none")
    _start, end = training_period(data, "2020-06-01", None)
    assert end == w.train_end  # the sample ends 2020-12-31
    assert training_period(data, "2020-06-01", "2020-12-31")[1] == pd.Timestamp("2020-12-31")
    held = evaluation_window(sample_store, days)
    assert held.start_day == w.first_day
    assert held.end_day == w.last_day


def test_challenger_needing_absent_features_is_rejected(
    tracking: str,
    sample_store: Store,
    train_xy: tuple[pd.DataFrame, pd.Series],
    model_name: str,
) -> None:
    X, y = train_xy
    v1 = publish_version(baseline("load_lag_1d", X, y), X, model_name, sample_store)
    promote(sample_store, model_name=model_name, max_mape=0.10, **WINDOW)
    wide = X.assign(load_lag_21d=X["load_lag_14d"])  # a feature the store cannot build
    v2 = publish_version(baseline("load_lag_1d", wide, y), wide, model_name, sample_store)
    d = promote(sample_store, model_name=model_name, max_mape=0.10, **WINDOW)
    assert d.decision == "rejected"
    assert "load_lag_21d" in d.reason
    champion = version_by_alias(CHAMPION, model_name=model_name)
    assert champion is not None
    assert str(champion.version) == v1
    assert MlflowClient().get_model_version(model_name, v2).tags["promotion_decision"] == "rejected"
