"""Fixtures of the ML tests: stores filled with the bundled sample, small fast models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from edip_ml.config import MLParams
from edip_ml.evaluation.backtest import BacktestResult, backtest
from edip_pipeline.config import Settings, get_settings, load_params, reset_settings_cache
from edip_pipeline.sources.sample import sample_frame
from edip_pipeline.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]
PARAMS_FILE = REPO_ROOT / "params.yaml"
#: the shared backtest: 3 weeks over a monthly retraining boundary (2 folds), with May holidays
BT_START, BT_END, BT_DAYS = "2020-04-20", "2020-05-10", 21
BT_MODELS = ["rf", "xgboost", "lightgbm"]
BT_BASELINES = ["same_hour_last_week", "same_hour_yesterday", "ridge"]


def sample_load_rows() -> pd.DataFrame:
    frame = sample_frame()
    return frame[frame["variable"] == "consumption_mw"].reset_index(drop=True)


class KeptStates:
    """The API's side of :class:`edip_ml.models.online.OnlineStates` in memory, for the tests of
    the loop's logic alone (the real route: 04_mlop_api and test_backtest_equals_served)."""

    def __init__(self) -> None:
        self.kept: dict[tuple[str, str, str], dict[str, Any]] = {}

    def online_state(
        self, model: str, version: str, day: str | None = None
    ) -> dict[str, Any] | None:
        days = sorted(d for m, v, d in self.kept if (m, v) == (model, version))
        day = day if day in days else (days[-1] if days and day is None else None)
        return dict(self.kept[(model, version, day)]) if day is not None else None

    def put_online_state(
        self, model: str, version: str, day: str, state: dict[str, Any]
    ) -> dict[str, Any]:
        self.kept[(model, version, day)] = dict(state)
        return {"model": model, "version": version, "day": day, "state": state}


def make_store(root: Path) -> Store:
    settings = Settings(data_dir=root, params_file=PARAMS_FILE)
    return Store(root, load_params(PARAMS_FILE), settings)


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never touch the checkout's data/ from a test."""
    monkeypatch.setenv("EDIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDIP_PARAMS_FILE", str(PARAMS_FILE))
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def empty_store(tmp_path: Path) -> Store:
    assert get_settings().data_dir == tmp_path / "data"
    return make_store(tmp_path / "data")


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """A store holding the sample's national consumption (read-only for tests: shared)."""
    store = make_store(tmp_path_factory.mktemp("sample") / "data")
    store.write("load_national", sample_load_rows())
    return store


@pytest.fixture(scope="session")
def small_params() -> MLParams:
    """Tiny models: the harness is under test, not the accuracy."""
    return MLParams().with_overrides(
        {
            "rf": {"n_estimators": 20, "max_depth": 8},
            "xgboost": {"n_estimators": 30, "max_depth": 4},
            "lightgbm": {"n_estimators": 30, "num_leaves": 15},
        }
    )


@pytest.fixture(scope="session")
def sample_backtest(sample_store: Store, small_params: MLParams) -> BacktestResult:
    """One day-ahead backtest shared by the backtest and report tests."""
    return backtest(
        sample_store,
        BT_MODELS,
        BT_START,
        BT_END,
        "day-ahead",
        small_params,
        baselines=BT_BASELINES,
        progress=False,
    )
