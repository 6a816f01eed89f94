"""``edip replay`` through the running API fills the log, and re-running it changes nothing."""

from __future__ import annotations

import time

import httpx
import pytest
from typer.testing import CliRunner

from edip_api.cli import app
from edip_api.replay import day_plan, replay_days
from edip_pipeline.config import reset_settings_cache
from edip_pipeline.store import Store
from edip_testkit.platform import RunningApi


def test_day_plan_covers_the_day_dst() -> None:
    import pandas as pd

    origin, horizon = day_plan(pd.Timestamp("2020-12-05"))
    assert origin.isoformat() == "2020-12-04T12:00:00+01:00"
    assert horizon == 36
    _, spring = day_plan(pd.Timestamp("2020-03-29"))  # 23-hour day
    _, autumn = day_plan(pd.Timestamp("2020-10-25"))  # 25-hour day
    assert (spring, autumn) == (35, 37)
    with pytest.raises(ValueError, match="before"):
        replay_days("2020-12-05", "2020-12-04")


def _counts(client: httpx.Client) -> tuple[int, int]:
    window = {"start": "2020-12-03T00:00:00Z", "end": "2020-12-08T00:00:00Z"}
    preds = client.get("/v1/predictions", params={**window, "limit": 1}).json()["total"]
    acts = client.get("/v1/actuals", params={**window, "limit": 1}).json()["total"]
    return preds, acts


def _settled(client: httpx.Client) -> tuple[int, int]:
    last, same = (-1, -1), 0
    while same < 3:
        time.sleep(0.4)
        now = _counts(client)
        same = same + 1 if now == last else 0
        last = now
    return last


def test_replay_fills_the_log_idempotently(
    api: RunningApi, client: httpx.Client, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDIP_DATA_DIR", str(store.root))
    reset_settings_cache()
    before = _settled(client)
    args = ["replay", "--start", "2020-12-05", "--end", "2020-12-07", "--api-url", api.url]
    args += ["--api-key", api.api_key]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "replayed 3 day(s)" in result.output
    after = _settled(client)
    assert after[1] - before[1] == 72  # 3 days x 24 hourly actuals
    assert after[0] > before[0]
    # every target hour of the 3 days has a forecast from origin D-1 12:00 Paris
    items = client.get(
        "/v1/predictions",
        params={"start": "2020-12-04T23:00:00Z", "end": "2020-12-07T23:00:00Z", "limit": 5000},
    ).json()["items"]
    replayed = [i for i in items if i["request_id"].startswith("replay-")]
    assert len({i["target_time"] for i in replayed}) == 72
    # day-ahead accuracy is computed from the log
    summary = client.get(
        "/v1/metrics/summary", params={"window": "3d", "end": "2020-12-07T23:00:00Z"}
    ).json()
    models = {m["model_name"]: m for m in summary["models"]}
    assert models["lightgbm"]["n"] >= 72 - 1
    assert 0 < models["lightgbm"]["mape"] < 0.2
    assert summary["daily"]
    # re-running changes nothing
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert _settled(client) == after
    reset_settings_cache()


def test_replay_reports_api_errors(api: RunningApi, store: Store, monkeypatch) -> None:
    monkeypatch.setenv("EDIP_DATA_DIR", str(store.root))
    reset_settings_cache()
    result = CliRunner().invoke(
        app,
        ["replay", "--start", "2015-01-01", "--end", "2015-01-02", "--api-url", api.url],
    )
    assert result.exit_code == 1
    assert "far outside the data" in result.output
    reset_settings_cache()
