"""Fixtures of the DL tests: the sample store, tiny sequence models, a params file for the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from edip_dl.config import DLParams, load_dl_params, to_ml_params
from edip_ml.config import MLParams, load_ml_params
from edip_ml.data.dataset import feature_params, make_xy, protocol_pairs
from edip_pipeline.config import Settings, load_params, reset_settings_cache
from edip_pipeline.sources.sample import sample_frame
from edip_pipeline.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]
PARAMS_FILE = REPO_ROOT / "params.yaml"
#: tiny and fast: the harness is under test here, the accuracy is bench/dl.py's business
TINY: dict[str, Any] = {
    "hidden_size": 16,
    "layers": 1,
    "epochs": 3,
    "patience": 2,
    "batch_size": 8,
    "head_hidden": 32,
    "device": "cpu",
    "learning_rate": 0.005,
    "refit": False,  # the refit on every row is tested once (test_scaling_…); it doubles fits
}
TINY_TCN = {**TINY, "layers": 4}
WINDOW_H = 48


def tiny_dl() -> DLParams:
    base = load_dl_params(PARAMS_FILE)
    return base.with_overrides(
        {
            "window_h": WINDOW_H,
            "lstm": TINY,
            "gru": TINY,
            "tcn": TINY_TCN,
            "transformer": {**TINY, "window_h": None},
            "tuning": {"epochs": 2},
        }
    )


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Never touch the checkout's data/ from a test."""
    monkeypatch.setenv("EDIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDIP_PARAMS_FILE", str(PARAMS_FILE))
    reset_settings_cache()
    yield
    reset_settings_cache()


def make_store(root: Path) -> Store:
    return Store(root, load_params(PARAMS_FILE), Settings(data_dir=root, params_file=PARAMS_FILE))


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edip-dl-data")
    frame = sample_frame()
    make_store(root).write(
        "load_national", frame[frame["variable"] == "consumption_mw"].reset_index(drop=True)
    )
    return root


@pytest.fixture(scope="session")
def sample_store(sample_data_dir: Path) -> Store:
    """The sample's national load (shared, read-only)."""
    return make_store(sample_data_dir)


@pytest.fixture(scope="session")
def dl_ml_params() -> MLParams:
    return to_ml_params(tiny_dl(), load_ml_params(PARAMS_FILE))


@pytest.fixture(scope="session")
def train_test(
    sample_store: Store, dl_ml_params: MLParams
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]:
    """Day-ahead rows: train 2019-09-01..2020-03-30 (labels known at the first test origin), test 2020-04-01..2020-04-30."""
    fp = feature_params(sample_store, dl_ml_params)
    X, y, _ = make_xy(
        sample_store,
        protocol_pairs("2019-09-01", "2020-03-30", "day-ahead", dl_ml_params, fp),
        dl_ml_params,
    )
    Xt, yt, _ = make_xy(
        sample_store,
        protocol_pairs("2020-04-01", "2020-04-30", "day-ahead", dl_ml_params, fp),
        dl_ml_params,
    )
    return X, y, Xt, yt


def write_params(path: Path, dl: DLParams) -> Path:
    """A params.yaml with the repository's sections and ``dl`` replaced (for CLI runs)."""
    raw = yaml.safe_load(PARAMS_FILE.read_text())
    raw["dl"] = dl.model_dump(mode="json")
    raw["ml"]["backtest"]["train_start"] = "2019-10-01"  # shorter folds: fast tests
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


WINDOW = [f"load_window_{i:03d}" for i in range(6)]
COLUMNS = [*WINDOW, "load_last", "load_diff_24h", "hour"]


def synthetic_table(days: int = 20, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """``days`` origins (11:00 UTC) with 4 next-day targets each, rows shuffled: a table small
    enough for unit tests of the windows and the training loop."""
    rng = np.random.default_rng(seed)
    origins = pd.date_range("2020-01-01 11:00", periods=days, freq="D", tz="UTC")
    pairs = [(o, o + pd.Timedelta(hours=13 + h)) for o in origins for h in range(4)]
    index = pd.MultiIndex.from_tuples(pairs, names=["origin", "target_time"])
    values = 50_000.0 * (1.0 + 0.1 * rng.standard_normal((len(pairs), len(COLUMNS))))
    X = pd.DataFrame(values, index=index, columns=COLUMNS)
    X["hour"] = [t.hour for _, t in pairs]
    y = pd.Series(50_000.0 * (1.0 + 0.1 * rng.standard_normal(len(pairs))), index=index)
    order = rng.permutation(len(X))
    return X.iloc[order], y.iloc[order]
