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
from edip_pipeline.redact import redact_url

log = logging.getLogger(__name__)
T = TypeVar("T")
TIMEOUT_S = 2.0


def _post(base: str, path: str, body: dict[str, Any]) -> list[dict[str, Any]]:
    """One Prefect filter query (``POST /flows/filter``, ``/flow_runs/filter``)."""
    r = httpx.post(f"{base}/{path}", json=body, timeout=TIMEOUT_S)
    r.raise_for_status()
    out = r.json()
    if not isinstance(out, list):
        raise ValueError(f"{path}: expected a JSON list, got {type(out).__name__}")
    return out


def _state(run: dict[str, Any]) -> str | None:
    return (run.get("state") or {}).get("type") or run.get("state_type")


def _reachable(query: Callable[[str], list[T]]) -> tuple[list[T], bool]:
    """``query(base_url)`` when Prefect is configured and answers; ``([], False)`` otherwise."""
    url = os.environ.get("PREFECT_API_URL")
    if not url:
        return [], False
    try:
        return query(url.rstrip("/")), True
    except Exception as exc:  # Prefect is optional: say it is unreachable
        safe = redact_url(url)  # a URL may carry credentials; the error may quote it
        log.info("Prefect API at %s unreachable: %s", safe, str(exc).replace(url, safe))
        return [], False


def recent_runs(limit: int = 20) -> tuple[list[FlowRun], bool]:
    """The ``limit`` most recently started flow runs, any flow (``/v1/data/status``)."""

    def query(base: str) -> list[FlowRun]:
        runs = _post(base, "flow_runs/filter", {"limit": limit, "sort": "START_TIME_DESC"})
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

    def query(base: str) -> list[LoopRun]:
        found = _post(base, "flows/filter", {"flows": {"name": {"any_": list(flows)}}})
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
                for x in _post(base, "flow_runs/filter", body)
            ]
        return out

    return _reachable(query)
