"""The ``dl:`` section: validation, per-architecture sections, overrides, params.yaml reading, and
the fold into the ML parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from edip_dl.config import ARCHITECTURES, DLParams, SequenceParams, load_dl_params, to_ml_params
from edip_ml.config import load_ml_params

from .conftest import PARAMS_FILE


def test_sequence_params_refuse_out_of_range_knobs() -> None:
    assert SequenceParams().hidden_size == 32
    for bad in (
        {"hidden_size": 2},
        {"dropout": 1.0},
        {"validation_fraction": 0.5},
        {"device": "tpu"},
        {"lr_schedule": "step"},
        {"max_missing_share": 1.5},
    ):
        with pytest.raises(ValidationError):
            SequenceParams.model_validate(bad)


def test_sections_overrides_and_knobs_for_all() -> None:
    dl = DLParams()
    assert dl.section("tcn").layers == 6
    assert dl.section("transformer").window_h == 72
    with pytest.raises(ValueError, match="unknown architecture 'rnn'"):
        dl.section("rnn")
    over = dl.with_overrides({"lstm": {"epochs": 3}})
    assert over.lstm.epochs == 3
    assert over.lstm.hidden_size == dl.lstm.hidden_size  # nested: the rest is kept
    assert over.gru.epochs == dl.gru.epochs
    both = dl.for_all(epochs=2, device="cpu", threads=None)
    assert all(both.section(a).epochs == 2 for a in ARCHITECTURES)
    assert all(both.section(a).device == "cpu" for a in ARCHITECTURES)
    assert dl.for_all(epochs=None) is dl  # nothing set: the very same parameters


def test_load_dl_params_reads_the_section_or_defaults(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"dl": {"window_h": 24, "gru": {"layers": 2}}}))
    dl = load_dl_params(path)
    assert dl.window_h == 24
    assert dl.gru.layers == 2
    assert load_dl_params(tmp_path / "absent.yaml") == DLParams()
    path.write_text(yaml.safe_dump({"ml": {}}))
    assert load_dl_params(path) == DLParams()
    path.write_text(yaml.safe_dump({"dl": {"lstm": {"hidden_size": 1}}}))
    with pytest.raises(ValidationError):
        load_dl_params(path)


def test_to_ml_params_carries_sections_window_and_baselines() -> None:
    dl = DLParams(window_h=48, models=["tcn"], baselines=["same_hour_yesterday"])
    dl = dl.with_overrides({"tcn": {"hidden_size": 8}})
    ml = to_ml_params(dl, load_ml_params(PARAMS_FILE))
    assert ml.hyper("tcn")["hidden_size"] == 8
    assert ml.hyper("lstm")["hidden_size"] == dl.lstm.hidden_size
    assert ml.feature_overrides["window_h"] == 48
    assert ml.backtest.baselines == ["same_hour_yesterday"]
    assert ml.models == ["tcn"]
