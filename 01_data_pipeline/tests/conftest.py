"""Fixtures shared by the pipeline tests: an isolated data directory and store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings, get_settings, load_params, reset_settings_cache
from edip_pipeline.sources.sample import sample_frame
from edip_pipeline.store import Store

REPO_ROOT = Path(__file__).resolve().parents[2]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
#: path of the ODRE Explore API under EDIP_ODRE_BASE_URL, as the local recorded-response server serves it
ODRE_API = "/api/explore/v2.1"


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings pointing at a fresh data directory, with instant retries."""
    monkeypatch.setenv("EDIP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDIP_PARAMS_FILE", str(REPO_ROOT / "params.yaml"))
    monkeypatch.setenv("EDIP_HTTP_BACKOFF_INITIAL_S", "0.01")
    monkeypatch.setenv("EDIP_HTTP_BACKOFF_MAX_S", "0.05")
    monkeypatch.setenv("EDIP_HTTP_TIMEOUT_S", "5")
    reset_settings_cache()
    yield get_settings()
    reset_settings_cache()


@pytest.fixture
def store(settings: Settings) -> Store:
    return Store(settings.data_dir, load_params(settings.params_file), settings)


def shared_file(relative: str) -> Path:
    """A development-only file from ../shared/data, or skip the test saying why."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"development-only data {path} is absent (see ../shared/data/README.md)")
    return path


def sample_load_rows() -> pd.DataFrame:
    """Canonical ``consumption_mw`` rows of the bundled éCO2mix sample (a fresh copy)."""
    frame = sample_frame()
    return frame[frame["variable"] == "consumption_mw"].reset_index(drop=True)


@pytest.fixture
def sample_store(store: Store) -> Store:
    """A store holding the bundled sample's national consumption."""
    store.write("load_national", sample_load_rows())
    return store


@pytest.fixture
def odre_env(
    settings: Settings, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Settings whose ODRE base URL is the local recorded-response server."""
    monkeypatch.setenv("EDIP_ODRE_BASE_URL", httpserver.url_for(ODRE_API))
    reset_settings_cache()
    yield get_settings()
    reset_settings_cache()
