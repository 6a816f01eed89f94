"""Per-client rate limits of callers without the API key: 429 with ``Retry-After``.

Why ``limits`` (the engine of slowapi and Flask-Limiter) in an ASGI middleware rather than
slowapi's decorators: the limits are settings of each app (slowapi binds them to module-level
decorators), key holders are exempt (slowapi's default limits cannot exempt by request), and the
check runs before the body is read, so a refused caller's 18 MB batch is never parsed.

Counted per client address (``scope["client"]``; behind a reverse proxy run uvicorn with
``FORWARDED_ALLOW_IPS`` set to the proxy so that this is the caller's address) in a moving
window: every route but the probes (``EDIP_RATE_LIMIT_ANONYMOUS``), and the routes that run the
model once more (``EDIP_RATE_LIMIT_ANONYMOUS_COMPUTE``).
"""

from __future__ import annotations

import json
import logging
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string
from starlette.types import ASGIApp, Receive, Scope, Send

from edip_api.core.config import Settings

log = logging.getLogger(__name__)

#: probes and scrapes: never limited (an orchestrator must always see the truth)
EXEMPT_PATHS = frozenset({"/health", "/ready", "/metrics"})
#: routes that run the model (and may log): their own, tighter limit as well
COMPUTE_PATHS = frozenset({"/v1/forecast", "/v1/predict"})


class RateLimitMiddleware:
    """429 for an anonymous client past its limits; key holders and probes pass untouched.

    Must run inside :class:`edip_api.middleware.RequestContextMiddleware` (it reads
    ``state["keyed"]``). A storage that fails (a Redis down) lets requests through, logged.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        uri = settings.rate_limit_storage_uri.get_secret_value()
        self.limiter = MovingWindowRateLimiter(
            storage_from_string(uri if uri.startswith("async+") else f"async+{uri}")
        )
        self.general = ("anonymous", parse_many(settings.rate_limit_anonymous))
        self.compute = ("compute", parse_many(settings.rate_limit_anonymous_compute))
        self._storage_warned_at = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in EXEMPT_PATHS or scope.get("state", {}).get("keyed"):
            await self.app(scope, receive, send)
            return
        client = (scope.get("client") or ("unknown", 0))[0]
        groups = [self.general, self.compute] if path in COMPUTE_PATHS else [self.general]
        refused = await self._refusal(client, groups)
        if refused is None:
            await self.app(scope, receive, send)
            return
        item, retry_after = refused
        detail = (
            f"rate limit of {item} exceeded for this client without the API key: "
            f"retry in {retry_after} s"
        )
        payload = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async def _refusal(
        self, client: str, groups: list[tuple[str, list[RateLimitItem]]]
    ) -> tuple[RateLimitItem, int] | None:
        """The first limit ``client`` is past and the seconds until it may retry, or None."""
        try:
            for name, items in groups:
                for item in items:
                    if not await self.limiter.hit(item, name, client):
                        stats = await self.limiter.get_window_stats(item, name, client)
                        return item, max(1, math.ceil(stats.reset_time - time.time()))
        except Exception:  # the counters are unreachable: serve, and say so once a minute
            if time.monotonic() - self._storage_warned_at > 60:
                self._storage_warned_at = time.monotonic()
                log.warning("rate-limit storage failed; requests pass unlimited", exc_info=True)
        return None
