"""The API client against the real API: paging through next_offset, ranges, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edip_dashboard.client import ApiClient, ApiError, ApiUnreachableError, split_range

from .platform import Platform

START = datetime(2020, 12, 12, tzinfo=UTC)
END = datetime(2020, 12, 26, tzinfo=UTC)


def test_split_range() -> None:
    end = START + timedelta(days=7)
    pieces = list(split_range(START, end, timedelta(days=3)))
    assert pieces == [
        (START, START + timedelta(days=3)),
        (START + timedelta(days=3), START + timedelta(days=6)),
        (START + timedelta(days=6), end),
    ]
    assert list(split_range(END, START, timedelta(days=1))) == []


def test_paging_reads_every_item(platform: Platform) -> None:
    with ApiClient(platform.api_url, page_limit=7) as small, ApiClient(platform.api_url) as big:
        paged = small.predictions(START, END)
        whole = big.predictions(START, END)
        actuals = small.actuals(START, END)
    replayed = [p for p in whole if p["request_id"].startswith("replay-")]
    assert len(replayed) == platform.replay.forecast_points  # (pages may add /v1/forecast logs)
    assert paged == whole  # 7 per page, many pages, same items in the same order
    assert len(actuals) == platform.replay.actuals_upserted
    assert len({a["timestamp"] for a in actuals}) == len(actuals)


def test_ranges_beyond_the_api_cap_are_split(client: ApiClient, platform: Platform) -> None:
    long = client.actuals(START - timedelta(days=200), END)
    assert len(long) == platform.replay.actuals_upserted


def test_features_and_model(client: ApiClient) -> None:
    model = client.model()
    assert model["source"] == "registry"
    assert model["trained_on"]["end"]
    names, items = client.features(START, START + timedelta(days=1), ["load_mw", "load_lag_1d"])
    assert names == ["load_mw", "load_lag_1d"]
    assert items
    assert all(i["load_mw"] > 20_000 for i in items)


def test_api_errors_are_clear(client: ApiClient) -> None:
    with pytest.raises(ApiError) as info:
        client.features(START, END, ["no_such_column"])
    assert info.value.status_code == 422
    assert "/v1/features" in str(info.value)
    with pytest.raises(ValueError, match="horizon"):
        client.forecast(horizon=49)
    with pytest.raises(ValueError, match="naive"):
        client.actuals(datetime(2020, 12, 1), END)


def test_unreachable_api() -> None:
    with ApiClient("http://127.0.0.1:9", timeout_s=2) as c, pytest.raises(ApiUnreachableError):
        c.ready()
