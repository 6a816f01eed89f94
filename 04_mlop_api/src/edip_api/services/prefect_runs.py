"""Recent Prefect flow runs for the status routes, read from Prefect's REST API.

Prefect is optional for serving: when ``PREFECT_API_URL`` is unset or does not answer within
two seconds, the routes report ``prefect_reachable: false`` instead of failing or hanging.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import httpx

from edip_api.schemas_data import FlowRun, LoopRun
from edip_pipeline.http import ssl_context
from edip_pipeline.redact import redact_url

log = logging.getLogger(__name__)
T = TypeVar("T")
TIMEOUT_S = 2.0


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """One Prefect filter query (``POST /flows/filter``, ``/flow_runs/filter``)."""
    r = client.post(path, json=body)
    r.raise_for_status()
    out = r.json()
    if not isinstance(out, list):
        raise ValueError(f"{path}: expected a JSON list, got {type(out).__name__}")
    return out


def _state(run: dict[str, Any]) -> str | None:
    return (run.get("state") or {}).get("type") or run.get("state_type")


def _reachable(query: Callable[[httpx.Client], list[T]]) -> tuple[list[T], bool]:
    """``query(client)`` when Prefect is configured and answers; ``([], False)`` otherwise.

    One client (one connection) for all the queries of a route."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return [], False
    try:
        base = url.rstrip("/") + "/"
        with httpx.Client(base_url=base, timeout=TIMEOUT_S, verify=ssl_context()) as client:
            return query(client), True
    except Exception as exc:  # Prefect is optional: say it is unreachable
        safe = redact_url(url)  # a URL may carry credentials; the error may quote it
        log.info("Prefect API at %s unreachable: %s", safe, str(exc).replace(url, safe))
        return [], False


def recent_runs(limit: int = 20) -> tuple[list[FlowRun], bool]:
    """The ``limit`` most recently started flow runs, any flow (``/v1/data/status``)."""

    def query(client: httpx.Client) -> list[FlowRun]:
        runs = _post(client, "flow_runs/filter", {"limit": limit, "sort": "START_TIME_DESC"})
        return [
            FlowRun(
                name=str(x.get("name", "")),
                state=_state(x),
                start_time=x.get("start_time"),
                end_time=x.get("end_time"),
            )
            for x in runs
        ]

    return _reachable(query)


def loop_runs(flows: Sequence[str], per_flow: int = 5) -> tuple[list[LoopRun], bool]:
    """The last ``per_flow`` runs of each named flow, newest expected start first."""

    def query(client: httpx.Client) -> list[LoopRun]:
        found = _post(client, "flows/filter", {"flows": {"name": {"any_": list(flows)}}})
        out: list[LoopRun] = []
        for flow in found:
            body = {
                "flows": {"id": {"any_": [flow["id"]]}},
                "sort": "EXPECTED_START_TIME_DESC",
                "limit": per_flow,
            }
            out += [
                LoopRun(
                    flow=flow["name"],
                    name=str(x.get("name", "")),
                    state=_state(x),
                    start_time=x.get("start_time"),
                    expected_start_time=x.get("expected_start_time"),
                )
                for x in _post(client, "flow_runs/filter", body)
            ]
        return out

    return _reachable(query)
