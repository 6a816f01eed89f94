"""What the backtest evaluates for a day is what the API serves for it after the loop got there.

A GAM-Kalman champion (cheap, online: a Kalman state and an adaptive band) is trained up to
2020-10-30 on the sample; ``edip live simulate`` then runs the real loop (Prefect, the API,
MLflow) over 10-31 .. 11-02: its 11:40 ``update`` absorbs into the served state every load
published since the state's as-of instant (``ml.absorb_lag``: up to 10:00 that day; 10-31 00:00 ..
11-02 09:00 in all), its 12:00 ``issue-forecast`` issues 11-01 .. 11-03. The backtest of 10-24 .. 11-03 (the champion's
own backtest days, then a monthly refit on 11-01 whose model is the champion) must give, for the
11-03 forecast issued at 12:00 on 11-02, the API's P50 and P10/P90 and the same online state.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.calendar import PARIS

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1500)]

START, DAYS = "2020-10-31", 3  # the champion is trained on the days before START
BACKTEST_START, DAY = "2020-10-24", "2020-11-03"  # the champion's 7 backtest days; the day compared
ORIGIN = pd.Timestamp("2020-11-02 12:00", tz=PARIS)  # its issuance
MODEL = "gam_kalman"


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, prefect_api_url: str
) -> Iterator[dict[str, Any]]:
    pytest.importorskip("edip_testkit.platform", reason="needs edip_api (the API)")
    from edip_pipeline import clock
    from edip_testkit.live import loop_platform

    root = tmp_path_factory.mktemp("served")
    env = {"EDIP_LIVE_SIM_ALERTS": "false", "EDIP_LIVE_RETRAIN_CRON": "0 3 9 * *"}
    with loop_platform(root, START, prefect_api_url, extra_env=env, champion=MODEL) as p:
        p.run_simulation(START, DAYS)
        # the last ingest ran at 11:05 on 11-02: the store through 11-03 (the backtest needs the
        # day's rows; the features of an origin read nothing after it), the clock after it
        after = pd.Timestamp("2020-11-04", tz=PARIS)
        _ingest_until(p.store, after)
        clock.set_clock(p.clock_file, after)
        with p.api.client() as c:
            c.post("/v1/model/reload")
            answer = c.get(
                "/v1/forecast", params={"origin": ORIGIN.isoformat(), "horizon": 36}
            ).json()
            version = str(answer["model"]["version"])
            kept = c.get("/v1/model/online-state", params={"version": version})  # the newest
            assert kept.status_code == 200, kept.text
        state = kept.json()["state"]
        yield {"answer": answer, "state": state, "store": p.store, "version": version}


def _ingest_until(store: Any, until: pd.Timestamp) -> None:
    from edip_pipeline.config import Settings
    from edip_pipeline.ingest import ingest_dataset
    from edip_pipeline.sources.sample import SAMPLE_DATASET
    from tests.conftest import PARAMS_FILE

    settings = Settings(data_dir=store.root, params_file=PARAMS_FILE)
    report = ingest_dataset("sample", SAMPLE_DATASET, start=pd.Timestamp(START, tz=PARIS),
                            end=until.tz_convert("UTC"), store=store, settings=settings)  # fmt: skip
    assert not report.error, report.error


@pytest.fixture(scope="module")
def backtested(served: dict[str, Any]) -> pd.DataFrame:
    from edip_ml.config import load_ml_params
    from edip_ml.evaluation.backtest import backtest
    from edip_testkit.live import HISTORY_DAYS, RETRAIN_PARAMS

    train_end = pd.Timestamp(START) - pd.Timedelta(days=1)
    train_start = str((train_end - pd.Timedelta(days=HISTORY_DAYS)).date())
    params = load_ml_params().with_overrides(
        {**RETRAIN_PARAMS, "backtest": {"train_start": train_start, "retrain": "MS"}}
    )
    result = backtest(served["store"], [MODEL], BACKTEST_START, DAY, "day-ahead", params,
                      baselines=[], progress=False)  # fmt: skip
    return result.forecasts


def test_the_served_forecast_is_the_backtest_forecast(
    served: dict[str, Any], backtested: pd.DataFrame
) -> None:
    answer = served["answer"]
    assert answer["model"]["name"] == MODEL
    # 10-31 00:00 .. 11-02 09:00 absorbed: the last Paris day of the state is 11-02 (partly)
    assert answer["model"]["online_last_day"] == "2020-11-02"
    points = pd.DataFrame(answer["points"])
    points["target_time"] = pd.to_datetime(points["target_time"], utc=True)
    day = points["target_time"].dt.tz_convert(PARIS).dt.date.astype(str) == DAY
    api = points[day].set_index("target_time").sort_index()
    bt = backtested[(backtested["model"] == MODEL) & (backtested["origin"] == ORIGIN)]
    bt = bt.set_index("target_time").sort_index()
    assert len(api) == 24
    assert list(api.index) == list(bt.index)
    for q in ("p50", "p10", "p90"):
        np.testing.assert_allclose(api[q].to_numpy(float), bt[q].to_numpy(float), rtol=1e-4)
    assert (api["p90"] > api["p10"]).all()


def test_the_served_state_is_the_backtest_state(
    served: dict[str, Any], backtested: pd.DataFrame
) -> None:
    from edip_ml.evaluation.backtest import WALKS_KEY

    # the backtest's walk ends at the 11-02 origin too: its state then is what the API serves
    walk_state = backtested.attrs[WALKS_KEY][MODEL]["state"]
    state = served["state"]
    assert state is not None
    assert state["last_day"] == "2020-11-02"
    assert pd.Timestamp(state["absorbed_to"]) == pd.Timestamp("2020-11-02 10:00", tz=PARIS)
    np.testing.assert_allclose(state["theta"], walk_state["theta"], rtol=1e-6)
    np.testing.assert_allclose(state["P"], walk_state["P"], rtol=1e-6, atol=1e-15)
    assert state["n_updates"] == walk_state["n_updates"]
    band, walk_band = state["conformal"], walk_state["conformal"]
    np.testing.assert_allclose(band["alpha_t"], walk_band["alpha_t"], atol=1e-6)
    for served_scores, walked in zip(band["scores"], walk_band["scores"], strict=True):
        np.testing.assert_allclose(served_scores, walked, atol=1e-5)
