"""ASGI middleware: caller (key or anonymous), request id, body-size limit (413), the 500 answer,
Prometheus timing.

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming bodies are counted as they arrive and no
extra task is spawned per request on the hot path.

Why the 500 is answered here: an exception that reaches Starlette's ``ServerErrorMiddleware`` is
re-raised after its answer is sent, and uvicorn then closes the connection — a client's next
request on the same keep-alive connection failed too. Caught here, it is logged and answered, and
the connection stays open.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from typing import Any

from pydantic import SecretStr
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edip_api.core.security import key_matches
from edip_api.observability import Metrics

log = logging.getLogger(__name__)
REQUEST_ID_HEADER = b"x-request-id"
API_KEY_HEADER = b"x-api-key"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")


def new_request_id() -> str:
    """A fresh request id, 32 hex digits like ``uuid4().hex``: the time in milliseconds, then
    80 random bits (the layout of a UUIDv7).

    Why time first: the log's unique index on (request_id, target_time) then grows at its end,
    as the table does, instead of at a random page per request (page reads and writes in the
    log writer's commit, which every durable answer waits for). Why not ``uuid4``'s
    ``os.urandom``: a syscall that releases the GIL on every request, and the event loop then
    waits for the log writer's thread to give it back. The ids need to be unique, not secret
    (only a key holder may choose one, and it is checked against the log); ``random`` is seeded
    from the OS per process and re-seeded after a fork.
    """
    return f"{time.time_ns() // 1_000_000:012x}{random.getrandbits(80):020x}"


class BodyTooLarge(HTTPException):
    """The request body went past the limit (an HTTPException: FastAPI passes it through)."""

    def __init__(self, limit: int, note: str = "") -> None:
        super().__init__(413, f"request body larger than {limit} bytes{note}")


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Caller, request id, body limit, the 500 answer, metrics per route.

    ``state["keyed"]``: the request carries the API key. Only a key holder's ``X-Request-ID`` is
    kept as the request's id (the log keys on it, so an anonymous caller could otherwise squat an
    id the loop will use, ``issue-<day>``); anyone else gets a fresh id, sent back in the header.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        metrics: Metrics,
        api_key: SecretStr,
        anonymous_max_body_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.anonymous_max_body_bytes = min(
            anonymous_max_body_bytes or max_body_bytes, max_body_bytes
        )
        self.metrics = metrics
        self.api_key = api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        keyed = key_matches(headers.get(API_KEY_HEADER), self.api_key)
        incoming = headers.get(REQUEST_ID_HEADER, b"")
        from_client = keyed and bool(_SAFE_ID.match(incoming))
        state = scope.setdefault("state", {})
        state["keyed"] = keyed
        state["request_id"] = incoming.decode() if from_client else new_request_id()
        state["request_id_from_client"] = from_client  # checked for reuse before logging
        status = {"code": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                rid = str(state["request_id"]).encode()  # read now: a route may renew it
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER, rid)]
            await send(message)

        limit = self.max_body_bytes if keyed else self.anonymous_max_body_bytes
        try:
            await self._guarded(scope, receive, send_wrapper, headers, limit)
        except BodyTooLarge as exc:
            if status["started"]:
                raise
            await _send_json(send_wrapper, 413, {"detail": exc.detail})
        except Exception as exc:
            if status["started"]:
                raise
            log.error(
                "unhandled error on %s %s (%s)",
                scope.get("method"),
                scope.get("path"),
                state["request_id"],
                exc_info=exc,
            )
            body = {"detail": "internal error", "request_id": state["request_id"]}
            await _send_json(send_wrapper, 500, body)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(
                path, scope.get("method", ""), int(status["code"]), time.perf_counter() - t0
            )

    async def _guarded(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[bytes, bytes], limit: int
    ) -> None:
        """The app, with the body limit enforced on the declared and the streamed size (raises
        :class:`BodyTooLarge`)."""
        declared = headers.get(b"content-length")
        try:
            too_big = declared is not None and int(declared) > limit
        except ValueError:
            too_big = False
        note = ""
        if limit < self.max_body_bytes:
            note = f" without the API key (key holders may send {self.max_body_bytes})"
        if too_big:
            raise BodyTooLarge(limit, note)
        seen = 0

        async def receive_wrapper() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge(limit, note)
            return message

        await self.app(scope, receive_wrapper, send)
