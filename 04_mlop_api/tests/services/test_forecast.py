"""The forecast service: weather notes, single-flight builds, the warm start, lock-free reads."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from filelock import FileLock

from edip_api.schemas import Forecast
from edip_api.services.forecast_result import weather_note
from edip_pipeline.store import Store
from edip_testkit.platform import RunningApi, running_api


@pytest.mark.parametrize(
    ("trained", "served", "expected"),
    [
        (None, "none", None),  # nothing recorded: nothing claimed
        ("none", "none", None),
        ("forecast", "forecast", None),
        ("observed-as-forecast", "none", "trained with weather 'observed-as-forecast'"),
        ("forecast", "observed-as-forecast", "served with 'observed-as-forecast'"),
    ],
)
def test_weather_note_names_both_sources(
    trained: str | None, served: str, expected: str | None
) -> None:
    note = weather_note(trained, served)
    if expected is None:
        assert note is None
    else:
        assert note is not None
        assert expected in note


def test_the_forecast_schema_documents_the_note() -> None:
    field = Forecast.model_json_schema()["properties"]["weather_note"]
    assert "trained with" in field["description"]


def builds(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    match = re.search(r"^edip_forecast_builds_total ([0-9.e+]+)$", text, re.MULTILINE)
    assert match, "edip_forecast_builds_total missing from /metrics"
    return float(match.group(1))


def test_ready_waits_for_the_warm_up_and_the_default_origin_is_cached(
    api_env: dict[str, str],
) -> None:
    """A fresh API: the session's one has been reloaded by other tests (a reload re-keys the
    cache), so only a process just started can show what its warm-up built."""
    with running_api(api_env) as fresh, fresh.client() as client:
        body = client.get("/ready").json()
        assert body["ready"] is True
        assert body["warm"] is True
        before = builds(client)
        assert before >= 2  # the default origin and the latest 12:00 Paris issuance
        r = client.get("/v1/forecast")
        assert r.status_code == 200, r.text
        assert builds(client) == before  # served from what the warm-up built


def test_concurrent_requests_for_one_new_origin_build_it_once(api: RunningApi) -> None:
    origin = "2020-12-05T07:00:00+01:00"  # used by no other test
    with api.client() as client:
        before = builds(client)

        def call(_: int) -> int:
            return client.get("/v1/forecast", params={"origin": origin}).status_code

        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(call, range(16)))
        assert statuses == [200] * 16
        assert builds(client) == before + 1


def test_reads_do_not_wait_for_the_pipeline_write_lock(api: RunningApi, store: Store) -> None:
    """An ingest holding the store lock (and its old "manifest stale" marker) stalls nothing."""
    marker = store.root / ".manifest-stale"
    marker.touch()
    try:
        with FileLock(str(store.root / ".store.lock")), api.client(timeout_s=8) as client:
            assert client.get("/ready").status_code == 200
            r = client.get("/v1/forecast", params={"origin": "2020-12-06T09:00:00+01:00"})
            assert r.status_code == 200, r.text
    finally:
        marker.unlink(missing_ok=True)
