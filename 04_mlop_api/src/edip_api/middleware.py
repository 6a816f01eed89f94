"""ASGI middlewares: request id, body-size limit (413), Prometheus timing.

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming bodies are counted as they arrive and no
extra task is spawned per request on the hot path.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edip_api.observability import Metrics

REQUEST_ID_HEADER = b"x-request-id"
_SAFE_ID = re.compile(rb"^[A-Za-z0-9._-]{8,64}$")


class BodyTooLarge(HTTPException):
    """The request body went past the limit (an HTTPException: FastAPI passes it through)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


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
    """Request id (kept from ``X-Request-ID`` when sane), body limit, metrics per route."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, metrics: Metrics) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(REQUEST_ID_HEADER, b"")
        from_client = bool(_SAFE_ID.match(incoming))
        rid = incoming.decode() if from_client else uuid.uuid4().hex
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        state["request_id_from_client"] = from_client  # checked for reuse before logging
        status = {"code": 500, "started": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, rid.encode())]
            await send(message)

        limit = self.max_body_bytes
        declared = headers.get(b"content-length")
        try:
            too_big = declared is not None and int(declared) > limit
        except ValueError:
            too_big = False
        try:
            if too_big:
                raise BodyTooLarge(limit)
            seen = 0

            async def receive_wrapper() -> Message:
                nonlocal seen
                message = await receive()
                if message["type"] == "http.request":
                    seen += len(message.get("body", b""))
                    if seen > limit:
                        raise BodyTooLarge(limit)
                return message

            await self.app(scope, receive_wrapper, send_wrapper)
        except BodyTooLarge as exc:
            if status["started"]:
                raise
            await _send_json(send_wrapper, 413, {"detail": exc.detail})
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self.metrics.observe(
                path, scope.get("method", ""), int(status["code"]), time.perf_counter() - t0
            )
