"""Errors the service layer raises for the routes to turn into JSON ``{"detail": …}`` answers."""

from __future__ import annotations


class ServiceError(Exception):
    """A refusal with an HTTP status and a message safe to show to the client."""

    status_code = 400

    def __init__(self, detail: str, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status_code is not None:
            self.status_code = status_code


class InvalidRequestError(ServiceError):
    """Input that parses but makes no sense (origin far outside the data, …): 422."""

    status_code = 422


class NotReadyError(ServiceError):
    """A dependency (store, log store, registry) cannot serve this now: 503."""

    status_code = 503
