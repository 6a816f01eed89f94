"""Rate limits of callers without the key: the app of ``create_app`` (lifespan not started, so
every route but /health answers 503 — which still counts), driven in-process per client address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx
from pydantic import SecretStr

from edip_api.core.config import Settings
from edip_api.main import create_app

KEY = SecretStr("a-key-for-these-tests")


def _statuses(
    app: object, calls: Sequence[tuple[str, str]], *, client: str = "192.0.2.1", key: bool = False
) -> list[httpx.Response]:
    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app, client=(client, 40000))  # type: ignore[arg-type]
        headers = {"X-API-Key": KEY.get_secret_value()} if key else {}
        async with httpx.AsyncClient(
            transport=transport, base_url="http://api", headers=headers
        ) as c:
            return [await c.request(method, path) for method, path in calls]

    return asyncio.run(run())


def _app(**knobs: object) -> object:
    settings = Settings(
        api_key=KEY,
        rate_limit_anonymous="5/minute",
        rate_limit_anonymous_compute="2/minute",
        **knobs,  # type: ignore[arg-type]
    )
    return create_app(settings)


def test_an_anonymous_client_gets_429_with_retry_after() -> None:
    app = _app()
    answers = _statuses(app, [("GET", "/v1/forecast")] * 3 + [("GET", "/v1/model")] * 3)
    codes = [r.status_code for r in answers]
    # compute: 2 per minute; all routes: 5 per minute (the refused forecast counted there too)
    assert codes == [503, 503, 429, 503, 503, 429], codes
    refused = answers[2]
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "2 per 1 minute" in refused.json()["detail"]
    assert refused.headers["x-request-id"]
    other = _statuses(app, [("GET", "/v1/model")], client="192.0.2.2")
    assert other[0].status_code == 503  # per client: the next address has its own budget


def test_key_holders_and_probes_are_not_limited() -> None:
    app = _app()
    keyed = _statuses(app, [("GET", "/v1/forecast")] * 10, key=True)
    assert {r.status_code for r in keyed} == {503}
    probes = _statuses(app, [("GET", "/health")] * 10 + [("GET", "/ready")] * 3)
    assert {r.status_code for r in probes[:10]} == {200}
    assert 429 not in {r.status_code for r in probes}


def test_a_wrong_key_is_anonymous() -> None:
    app = _app()

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app, client=("192.0.2.9", 1))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            headers = {"X-API-Key": "guess"}
            return [
                (await c.post("/v1/model/reload", headers=headers)).status_code for _ in "123456"
            ]

    codes = asyncio.run(run())  # 503 before the key check: the app is not started here
    assert codes[-1] == 429
    assert 429 not in codes[:-1]


def test_limits_can_be_turned_off() -> None:
    app = _app(rate_limit_enabled=False)
    assert 429 not in {r.status_code for r in _statuses(app, [("GET", "/v1/forecast")] * 8)}
