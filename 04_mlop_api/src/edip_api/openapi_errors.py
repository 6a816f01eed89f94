"""Every status an operation can answer, in the OpenAPI document, with the body really sent.

Why: the routes declare their own refusals (409, a route's 422), but the statuses added around them
— 400 for an unreadable body, 401 without the key, 413 above the body limit, 429 past a rate
limit, 500 and 503 — were missing, so a client generated from the document (and schemathesis's
status-code check) met answers it had never been told of. FastAPI also documents every 422 as a
list of validation issues, while the service's own refusals answer ``{"detail": "message"}``: both
are :class:`edip_api.schemas.ErrorBody`, documented once as ``HTTPValidationError``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from edip_api.rate_limit import EXEMPT_PATHS
from edip_api.schemas import ErrorBody

ERROR_SCHEMA = {"$ref": "#/components/schemas/HTTPValidationError"}
_JSON_ERROR = {"application/json": {"schema": ERROR_SCHEMA}}
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the client may retry.",
        "schema": {"type": "integer", "minimum": 1},
    }
}


def operation_errors(path: str, operation: dict[str, Any], *, rate_limited: bool) -> dict[str, str]:
    """Status → description of the errors ``operation`` may answer beside its own."""
    errors = {"500": "Internal error (logged; the body carries the request id)."}
    if path != "/health":  # the only route that touches no dependency
        errors["503"] = "Not ready: starting, or a dependency (store, log, registry) is down."
    if "requestBody" in operation:
        errors["400"] = "The body cannot be read (not UTF-8 JSON)."
        errors["413"] = (
            "Body larger than EDIP_MAX_BODY_BYTES (EDIP_ANONYMOUS_MAX_BODY_BYTES without the key)."
        )
        errors["422"] = "The body does not validate."
    if operation.get("parameters"):
        errors["422"] = "A parameter does not validate."
    if operation.get("security"):
        errors["401"] = "Missing or invalid X-API-Key."
    if rate_limited and path not in EXEMPT_PATHS:
        errors["429"] = "Rate limit of callers without the API key exceeded (see Retry-After)."
    return errors


def document_errors(app: FastAPI, *, rate_limited: bool) -> None:
    """Wrap ``app.openapi`` so that the document lists every error status of every operation."""
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = original()
            schema = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            components.update(schema.pop("$defs", {}))
            components["HTTPValidationError"] = schema
            for path, operations in doc.get("paths", {}).items():
                for operation in operations.values():
                    _complete(path, operation, rate_limited=rate_limited)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _complete(path: str, operation: dict[str, Any], *, rate_limited: bool) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, description in operation_errors(path, operation, rate_limited=rate_limited).items():
        responses.setdefault(status, {"description": description})
    for status, response in responses.items():
        if status.startswith(("4", "5")) and "content" not in response:
            response["content"] = _JSON_ERROR
        if status == "429":
            response.setdefault("headers", _RETRY_AFTER)
