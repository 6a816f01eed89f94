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
from edip_ml.models.base import OnlineForecaster
from edip_pipeline.contributions import CONTRIBUTIONS, RECENT_LOAD
from edip_pipeline.online import LAST_DAY_KEY
from edip_testkit.synthetic import heating_rows
from tests.conftest import KeptStates

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
    model = served_model(fc["model"], "edip-load-fr", api)
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


def test_the_online_state_is_the_one_the_forecast_was_served_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Kalman champion is decomposed with the state of the day the API served (the API keeps
    each), not a newer one posted since; a state the API does not keep is said, not guessed."""
    from edip_ml.live import explain

    X, y = heating_rows(days=200, shift_from=150)
    model = make_model("gam_kalman").fit(X.iloc[: 24 * 140], y.iloc[: 24 * 140])
    assert isinstance(model, OnlineForecaster)
    embedded = model.online_state()
    assert embedded is not None
    model.absorb(X.iloc[24 * 140 : 24 * 170], y.iloc[24 * 140 : 24 * 170])
    served = {**model.online_state(), LAST_DAY_KEY: "2018-06-20"}  # type: ignore[dict-item]
    model.absorb(X.iloc[24 * 170 :], y.iloc[24 * 170 :])
    newer = {**model.online_state(), LAST_DAY_KEY: "2018-07-20"}  # type: ignore[dict-item]
    states = KeptStates()
    states.put_online_state("m", "3", "2018-06-20", served)
    states.put_online_state("m", "3", "2018-07-20", newer)
    monkeypatch.setattr(explain, "_native", lambda *_: (model, embedded))
    info = {"name": "gam_kalman", "version": "3", "source": "registry"}
    got = served_model({**info, "online_last_day": "2018-06-20"}, "m", states)
    assert isinstance(got, OnlineForecaster)
    assert got.online_state()["theta"] == served["theta"]  # type: ignore[index]
    got = served_model({**info, "online_last_day": "2018-07-20"}, "m", states)
    assert got.online_state()["theta"] == newer["theta"]  # type: ignore[index]
    got = served_model({**info, "online_last_day": None}, "m", states)
    assert got.online_state()["theta"] == embedded["theta"]  # type: ignore[index]
    with pytest.raises(UnexplainedError, match="not kept by the API"):
        served_model({**info, "online_last_day": "2018-06-01"}, "m", states)
