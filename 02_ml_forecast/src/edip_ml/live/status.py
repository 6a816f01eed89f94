"""``edip live status``: each deployment's last and next run (Prefect), the last issuance (API)."""

from __future__ import annotations

import os
from typing import Any

import httpx

from edip_ml.live.api import LoopApi, LoopApiError
from edip_ml.live.config import live_settings
from edip_ml.live.deployments import loop_jobs

PIPELINE_DEPLOYMENTS = ("ingest-realtime-hourly", "ingest-consolidated-daily", "features-daily")


FINISHED = ["COMPLETED", "FAILED", "CRASHED", "RUNNING", "CANCELLED"]


def _runs(
    base: str, states: list[str], sort: str, *, deployment_id: str = "", flow_id: str = ""
) -> list[dict[str, Any]]:
    by = {"deployments": {"id": {"any_": [deployment_id]}}} if deployment_id else {}
    by = by or {"flows": {"id": {"any_": [flow_id]}}}
    r = httpx.post(
        f"{base}/flow_runs/filter",
        json={**by, "flow_runs": {"state": {"type": {"any_": states}}}, "sort": sort, "limit": 1},
        timeout=5,
    )
    r.raise_for_status()
    runs: list[dict[str, Any]] = r.json()
    return runs


def deployment_status() -> list[dict[str, Any]]:
    """One row per deployment known to Prefect: its last finished/running run and next one."""
    base = (os.environ.get("PREFECT_API_URL") or "http://127.0.0.1:4200/api").rstrip("/")
    names = [*PIPELINE_DEPLOYMENTS, *(j.name for j in loop_jobs())]
    try:
        r = httpx.post(
            f"{base}/deployments/filter", json={"deployments": {"name": {"any_": names}}}, timeout=5
        )
        r.raise_for_status()
        found = {d["name"]: d["id"] for d in r.json()}
        flows = httpx.post(f"{base}/flows/filter", json={}, timeout=5)
        flows.raise_for_status()
        flow_ids = {f["name"]: f["id"] for f in flows.json()}
    except httpx.HTTPError as exc:
        return [
            {"deployment": f"Prefect at {base} unreachable ({exc})", "last": None, "next": None}
        ]
    rows = []
    for name in names:
        if name not in found:  # not deployed (e.g. a simulation): the flow's own last run
            flow = flow_ids.get(name) or flow_ids.get(name.split("-")[0])
            last = _runs(base, FINISHED, "START_TIME_DESC", flow_id=flow) if flow else []
            rows.append({"deployment": name,
                         "last": f"{last[0]['name']} {last[0]['state_type']}" if last else None,
                         "next": "not deployed (edip live up)"})  # fmt: skip
            continue
        last = _runs(base, FINISHED, "START_TIME_DESC", deployment_id=found[name])
        nxt = _runs(base, ["SCHEDULED"], "EXPECTED_START_TIME_ASC", deployment_id=found[name])
        rows.append({
            "deployment": name,
            "last": f"{last[0]['start_time']} {last[0]['state_type']}" if last else None,
            "next": nxt[0]["expected_start_time"] if nxt else None,
        })  # fmt: skip
    return rows


def describe_issuance() -> str:
    """The last issuance, its status and gate result, as one paragraph."""
    try:
        with LoopApi(live_settings()) as api:
            st = api.loop_status()
    except LoopApiError as exc:
        return f"API: {exc}"
    last = st.get("last_issuance")
    head = f"API now {st['now']}; next issuance {st.get('next_issuance_at') or '-'} for {st.get('next_target_day') or '-'}"
    if not last:
        return head + "\nno issuance recorded yet"
    gate = "; ".join(
        f"{c['name']} {'ok' if c['ok'] else 'FAILED'} ({c['detail']})" for c in last["gate_checks"]
    )
    return (
        f"{head}\nlast issuance: {last['target_day']} {last['status']} at {last['issued_at']} "
        f"by {last['model_name']} v{last['model_version']} (weather {last['weather_source']}, "
        f"{last['points']} points)\ngate: {'passed' if last['gate_ok'] else 'failed'} — {gate or '-'}"
        f"\nactuals: last {st.get('last_actual') or '-'} ({st.get('actuals_age_h') or 0:.1f} h old)"
    )
