"""``edip train dl`` orchestration: model names, the device check before any work, and the
training data built once with tuning then handed to edip_ml's train_models (the whole
train → register path runs against MLflow in test_cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edip_dl.device import DeviceError
from edip_dl.train import check_models, train_dl
from edip_ml.config import load_ml_params
from edip_ml.data import training_data
from edip_ml.training import train as ml_train
from edip_pipeline.store import Store

from .conftest import PARAMS_FILE, tiny_dl


def test_check_models_refuses_unknown_and_empty() -> None:
    assert check_models(("tcn", "lstm")) == ["tcn", "lstm"]
    with pytest.raises(ValueError, match=r"unknown DL model\(s\) \['mamba'\]"):
        check_models(["tcn", "mamba"])
    with pytest.raises(ValueError, match="known: \\['lstm', 'gru', 'tcn', 'transformer'\\]"):
        check_models([])


def test_unavailable_device_fails_before_any_data_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(ml_train, "train_models", lambda *a, **k: pytest.fail("trained"))
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        train_dl(["tcn"], device="cuda", store=Store(Path("/nonexistent")))


def test_tuning_builds_the_training_data_once_and_train_models_reuses_it(
    sample_store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[object] = []
    real_load = training_data.load_training_data

    def counting_load(*args: Any, **kwargs: Any) -> training_data.TrainingData:
        data = real_load(*args, **kwargs)
        loads.append(data)
        return data

    seen: dict[str, Any] = {}

    def train_models(names: list[str], start: str, end: str, tune: int, **kw: Any) -> list[Any]:
        seen.update(kw, names=names, tune=tune)
        # what edip_ml's train_models does first: reuse the data when it matches
        data = training_data.ensure_training_data(
            kw["data"], sample_store, kw["params"], kw["params"].backtest.weather, "day-ahead"
        )
        seen["reused"] = data is kw["data"]
        return []

    monkeypatch.setattr(training_data, "load_training_data", counting_load)
    monkeypatch.setattr(ml_train, "train_models", train_models)
    dl = tiny_dl().with_overrides({"tuning": {"epochs": 1}})
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    result = train_dl(
        ["tcn"],
        "2020-02-01",
        "2020-03-31",
        tune=1,
        store=sample_store,
        dl_params=dl,
        ml_params=load_ml_params(PARAMS_FILE),
        tuning_storage=storage,
        register_models=False,
    )
    assert result == []
    assert len(loads) == 1  # the tuning read it, train_models did not load again
    assert seen["data"] is loads[0]
    assert seen["reused"]
    assert seen["names"] == ["tcn"]
    assert seen["tune"] == 0  # the DL search ran here, not edip_ml's
    tuned = seen["params"].hyper("tcn")
    assert tuned["window_h"] in (24, 48)
    assert tuned["layers"] in (6, 7)  # the tuned section reached the training
    import optuna

    (summary,) = optuna.get_all_study_summaries(storage)
    assert summary.study_name == f"edip-dl-tcn-{sample_store.data_version()[:8]}"
