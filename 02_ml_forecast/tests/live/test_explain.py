"""Why this forecast: the loop decomposes what the API served and stores it with the API.

Real parts: the sample store, MLflow with a trained LightGBM champion, the API under uvicorn.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from edip_ml.live.api import LoopApi
from edip_ml.live.config import LiveSettings
from edip_ml.live.explain import (
    TOLERANCE_MW,
    UnexplainedError,
    decompose,
    explain_issued,
    explanation_body,
    served_model,
)
from edip_ml.models import make_model
from edip_pipeline.contributions import CONTRIBUTIONS, RECENT_LOAD

ORIGIN = "2020-12-14T12:00:00+01:00"
DAY = "2020-12-15"


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    testing = pytest.importorskip("edip_testkit.platform", reason="needs edip_api (the API)")
    root: Path = tmp_path_factory.mktemp("explain")
    with testing.api_platform(root) as p, testing.temporary_env(p.registry.env()):
        yield p


@pytest.fixture
def api(platform: Any) -> Iterator[LoopApi]:
    settings = LiveSettings(api_url=platform.api.url, api_key=platform.api.api_key)
    with LoopApi(settings) as client:
        yield client


def test_an_issued_forecast_is_explained_and_adds_up(platform: Any, api: LoopApi) -> None:
    fc = api.forecast(ORIGIN, 36, "issue-explain-1")
    stored = explain_issued(api, fc, DAY, platform.store)
    assert stored is not None
    assert stored["available"] is True, stored["reason"]
    assert "TreeSHAP" in stored["method"]
    served = {p["target_time"]: p["p50"] for p in fc["points"]}
    assert len(stored["points"]) == len(served) == 36
    for p in stored["points"]:
        assert set(p["contributions"]) == set(CONTRIBUTIONS)
        assert abs(sum(p["contributions"].values()) - p["p50"]) < TOLERANCE_MW
    with platform.api.client() as c:
        got = c.get("/v1/forecast/explain", params={"target_day": DAY}).json()
    assert got["request_id"] == "issue-explain-1"
    mean = got["day_mean"]
    assert abs(sum(mean[c] for c in CONTRIBUTIONS) - mean["p50"]) < TOLERANCE_MW
    # a tree forecast learnt as a ratio to the last load: the recent level carries most of it
    assert mean[RECENT_LOAD] > 0.5 * mean["p50"]


def test_a_decomposition_that_misses_the_served_p50_is_refused(platform: Any, api: LoopApi) -> None:
    fc = api.forecast(ORIGIN, 24, "issue-explain-2")
    model = served_model(fc["model"], "edip-load-fr", platform.store)
    served = pd.Series(
        [p["p50"] for p in fc["points"]],
        index=pd.DatetimeIndex([pd.Timestamp(p["target_time"]) for p in fc["points"]]),
    ).tz_convert("UTC")
    origin = pd.Timestamp(fc["origin"])
    parts, _ = decompose(model, platform.store, origin, served)
    assert (parts.sum(axis=1) - served).abs().max() < TOLERANCE_MW
    with pytest.raises(UnexplainedError, match="misses the served P50"):
        decompose(model, platform.store, origin, served + 5.0)


def test_no_decomposition_is_recorded_with_its_reason(platform: Any, api: LoopApi) -> None:
    fc = api.forecast(ORIGIN, 24, "issue-explain-3")
    fallback = {
        **fc,
        "model": {"name": "same_hour_last_week", "version": None, "source": "fallback"},
    }
    body = explanation_body(fallback, "2020-12-16", "edip-load-fr", platform.store)
    assert body["available"] is False
    assert "fallback" in body["reason"]
    served = pd.Series(
        [p["p50"] for p in fc["points"]],
        index=pd.DatetimeIndex([pd.Timestamp(p["target_time"]) for p in fc["points"]]),
    ).tz_convert("UTC")
    rf = make_model("rf")
    with pytest.raises(UnexplainedError, match="no exact decomposition"):
        decompose(rf, platform.store, pd.Timestamp(fc["origin"]), served)
