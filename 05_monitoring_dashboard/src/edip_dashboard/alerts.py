"""Alert rules, their evaluation against the API, and the webhook that carries them.

Each rule is a pure function of already-fetched data returning an :class:`Alert` or ``None`` (unit
tested on crafted inputs); :func:`evaluate_alerts` fetches through :class:`ApiClient` and runs them
all. The app shows its result and the Prefect flow posts it, so both say the same thing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families
from pydantic import BaseModel, Field

from edip_dashboard import loaders
from edip_dashboard.client import ApiClient, ApiError
from edip_dashboard.clock import PARIS, effective_now, parse_time
from edip_dashboard.config import DashboardSettings
from edip_dashboard.drift import DriftResult, drift_report

log = logging.getLogger(__name__)

Severity = Literal["warning", "critical"]
RULES = (
    "mape",
    "stale_data",
    "drift",
    "fallback_model",
    "api_errors",
    "no_issuance",
    "actuals_stale",
    "store_damaged",
)


class Alert(BaseModel):
    """One fired rule: what, how bad, the measured value against its threshold."""

    rule: str = Field(description="Rule id: one of " + ", ".join(RULES) + ".")
    severity: Severity = Field(description="warning or critical.")
    title: str = Field(description="One line for a list or a chat message.")
    message: str = Field(description="What was measured and why it matters.")
    value: float | None = Field(default=None, description="The measured value, if numeric.")
    threshold: float | None = Field(default=None, description="The threshold it crossed.")
    at: datetime | None = Field(default=None, description="The dashboard's now when evaluated.")


class WebhookError(RuntimeError):
    """The webhook did not accept the alerts."""


# -- rules (pure) ----------------------------------------------------------------------------
def rule_mape(
    daily: Sequence[Mapping[str, Any]],
    threshold: float,
    days: int,
    model_name: str | None = None,
    model_version: str | None = None,
) -> Alert | None:
    """Fires when each of the last ``days`` days with data has a MAPE above ``threshold``.

    ``daily`` are ``/v1/metrics/summary`` daily rows; with ``model_name`` (and version) only that
    model's rows count, else the n-weighted MAPE of all models per day.
    """
    frame = pd.DataFrame(list(daily), columns=["date", "model_name", "model_version", "n", "mape"])
    if model_name is not None:
        keep = frame["model_name"] == model_name
        if model_version is not None:
            keep &= frame["model_version"].astype(str) == str(model_version)
        frame = frame[keep]
    frame = frame[pd.to_numeric(frame["n"], errors="coerce").fillna(0) > 0].dropna(subset=["mape"])
    if frame.empty:
        return None
    frame = frame.assign(weighted=frame["mape"].astype(float) * frame["n"].astype(float))
    per_day = frame.groupby("date").agg(weighted=("weighted", "sum"), n=("n", "sum"))
    mape = (per_day["weighted"] / per_day["n"]).sort_index()
    recent = mape.iloc[-days:]
    if len(recent) < days or not bool((recent > threshold).all()):
        return None
    who = (
        f"{model_name} v{model_version}"
        if model_name and model_version
        else model_name or "served models"
    )
    days_txt = ", ".join(f"{d} {v:.1%}" for d, v in recent.items())
    return Alert(
        rule="mape",
        severity="critical" if float(recent.min()) > 2 * threshold else "warning",
        title=f"MAPE above {threshold:.1%} for {days} day(s)",
        message=f"{who}: daily MAPE {days_txt} (threshold {threshold:.1%}).",
        value=float(recent.iloc[-1]),
        threshold=threshold,
    )


def rule_stale(
    datasets: Sequence[Mapping[str, Any]], stale_hours: float, now: datetime
) -> Alert | None:
    """Fires when a dataset's last data is more than ``stale_hours`` before ``now``.

    The age is measured from ``last`` against the dashboard's now (so a replay is judged on its
    own clock); the API's ``age_hours`` is used only when ``last`` is missing.
    """
    stale: list[tuple[str, float]] = []
    for ds in datasets:
        name = str(ds.get("dataset")) + (f"/{ds['variable']}" if ds.get("variable") else "")
        last = parse_time(ds.get("last"))
        if last is not None:
            age = (now - last).total_seconds() / 3600
        elif ds.get("age_hours") is not None:
            age = float(ds["age_hours"])
        else:
            continue
        if age > stale_hours:
            stale.append((name, age))
    if not stale:
        return None
    worst = max(age for _, age in stale)
    return Alert(
        rule="stale_data",
        severity="critical" if worst > 4 * stale_hours else "warning",
        title=f"{len(stale)} dataset(s) stale",
        message="; ".join(f"{n}: last data {a:.1f} h old" for n, a in stale)
        + f" (threshold {stale_hours:g} h).",
        value=worst,
        threshold=stale_hours,
    )


def rule_drift(results: Iterable[DriftResult], psi_threshold: float) -> Alert | None:
    """Fires when any column's distribution drifted (PSI or KS beyond thresholds)."""
    drifted = [r for r in results if r.drifted]
    if not drifted:
        return None
    worst = max((r.psi or 0.0) for r in drifted)
    return Alert(
        rule="drift",
        severity="critical" if worst > 2 * psi_threshold else "warning",
        title=f"Drift in {len(drifted)} column(s): " + ", ".join(r.column for r in drifted),
        message="; ".join(f"{r.column}: {r.reason}" for r in drifted) + ".",
        value=worst,
        threshold=psi_threshold,
    )


def rule_fallback(model: Mapping[str, Any]) -> Alert | None:
    """Fires when the API serves its fallback (same hour last week) instead of a registry model."""
    if model.get("source") != "fallback":
        return None
    return Alert(
        rule="fallback_model",
        severity="critical",
        title="Fallback model in use",
        message=f"The API serves {model.get('name') or 'the fallback'}: "
        f"{model.get('reason') or 'no registry model loaded'}.",
    )


def rule_store_damaged(store: Mapping[str, Any]) -> Alert | None:
    """Fires while ``/ready`` lists open damage reports (read from the quarantine, not the data)."""
    damage = [str(d) for d in store.get("damage") or []]
    title = f"Store damaged: {len(damage)} version(s) quarantined, repair needed"
    message = "; ".join(damage) + "."
    return Alert(rule="store_damaged", severity="critical", title=title, message=message) if damage else None  # fmt: skip


def rule_no_issuance(
    now: datetime, issuances: Sequence[Mapping[str, Any]], deadline_hour: int
) -> Alert | None:
    """Fires when, past ``deadline_hour`` (Paris), tomorrow has no issued forecast (or a missed one)."""
    local = pd.Timestamp(now).tz_convert(PARIS)
    if local.hour < deadline_hour:
        return None
    tomorrow = str((local.normalize() + pd.Timedelta(days=1)).date())
    found = [i for i in issuances if i.get("target_day") == tomorrow]
    if found and found[0].get("status") != "missed":
        return None
    return Alert(
        rule="no_issuance",
        severity="critical",
        title=f"No forecast issued for {tomorrow} by {deadline_hour}:00",
        message=f"At {local:%Y-%m-%d %H:%M} Paris the loop has "
        + (
            "recorded it as missed."
            if found
            else "not issued tomorrow's forecast (issue-forecast)."
        ),
    )


def rule_actuals_stale(
    last_actual: datetime | None, now: datetime, stale_hours: float
) -> Alert | None:
    """Fires when the log store's last actual is older than ``stale_hours`` (sync-actuals)."""
    age = None if last_actual is None else (now - last_actual).total_seconds() / 3600
    if age is not None and age <= stale_hours:
        return None
    return Alert(
        rule="actuals_stale",
        severity="warning",
        title="Actuals stale",
        message=(
            "the log store holds no actual"
            if age is None
            else f"last actual {last_actual:%Y-%m-%d %H:%M} UTC is {age:.1f} h old"
        )
        + f" (threshold {stale_hours:g} h): is sync-actuals running?",
        value=age,
        threshold=stale_hours,
    )


def error_share(prometheus_text: str) -> tuple[float, float]:
    """(5xx answers, all answers) counted by ``edip_requests_total`` in a ``/metrics`` text."""
    errors = total = 0.0
    for family in text_string_to_metric_families(prometheus_text):
        if family.name not in ("edip_requests", "edip_requests_total"):
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total"):
                continue
            total += sample.value
            if str(sample.labels.get("status", "")).startswith("5"):
                errors += sample.value
    return errors, total


def rule_api_errors(
    problems: Sequence[str], errors: float = 0.0, total: float = 0.0, max_share: float = 0.05
) -> Alert | None:
    """Fires on failed API calls (``problems``) or a share of 5xx answers above ``max_share``."""
    share = errors / total if total else 0.0
    if not problems and share <= max_share:
        return None
    parts = list(problems)
    if share > max_share:
        parts.append(f"{errors:.0f} of {total:.0f} API answers were 5xx ({share:.1%})")
    return Alert(
        rule="api_errors",
        severity="critical" if problems else "warning",
        title="API errors" if not problems else "API unreachable or failing",
        message="; ".join(parts) + ".",
        value=share,
        threshold=max_share,
    )


# -- evaluation ---------------------------------------------------------------------------------
#: an evaluation step: fetches what one rule needs and runs it (may raise ApiError)
Step = Callable[[], Alert | None]


def evaluate_alerts(client: ApiClient, settings: DashboardSettings) -> list[Alert]:
    """Every rule against the API now; a call that fails becomes an ``api_errors`` alert."""
    try:
        ready = client.ready()
    except ApiError as exc:
        alert = rule_api_errors([str(exc)])
        assert alert is not None
        return [alert.model_copy(update={"at": datetime.now(UTC)})]
    problems: list[str] = []
    if not ready.get("ready", False):
        problems.append("/ready answers not ready")
    alerts = [rule_fallback(ready.get("model") or {}), rule_store_damaged(ready.get("store") or {})]
    now = _evaluation_now(client, settings, ready, problems)
    for name, step in _steps(client, settings, ready, now):
        alerts.append(_guarded(name, step, problems))
    if problems:
        alerts.append(rule_api_errors(problems))
    fired = _single_api_alert([a.model_copy(update={"at": now}) for a in alerts if a is not None])
    log.info("alerts evaluated at %s: %d fired", now.isoformat(), len(fired))
    return fired


def _evaluation_now(
    client: ApiClient, settings: DashboardSettings, ready: dict[str, Any], problems: list[str]
) -> datetime:
    """The dashboard's now; the wall clock (and a problem) when the API cannot tell it."""
    try:
        return effective_now(client, settings.replay_gap_h, settings.replay_now, ready=ready)
    except ApiError as exc:
        problems.append(str(exc))
        return datetime.now(UTC)


def _steps(
    client: ApiClient, settings: DashboardSettings, ready: dict[str, Any], now: datetime
) -> list[tuple[str, Step]]:
    """The API-reading rule groups, named as their failures are reported, in evaluation order."""
    return [
        ("metrics", lambda: _mape_alert(client, settings, ready, now)),
        ("data status", lambda: _stale_alert(client, settings, now)),
        ("drift", lambda: rule_drift(drift_results(client, settings, now), settings.psi_threshold)),
        ("/metrics", lambda: _api_errors_alert(client, settings)),
        ("issuances", lambda: _issuance_alert(client, settings, now)),
        ("actuals", lambda: _actuals_alert(client, settings, now)),
    ]


def _guarded(name: str, step: Step, problems: list[str]) -> Alert | None:
    """``step()``, or ``None`` with the failed API call added to ``problems``."""
    try:
        return step()
    except ApiError as exc:  # unreachable or an error answer: reported alike
        problems.append(f"{name}: {exc}")
    return None


def _single_api_alert(fired: list[Alert]) -> list[Alert]:
    """One api_errors alert: failed calls (appended last) win over the 5xx share."""
    api = [a for a in fired if a.rule == "api_errors"]
    if len(api) > 1:
        return [a for a in fired if a.rule != "api_errors"] + [api[-1]]
    return fired


def _mape_alert(
    client: ApiClient, settings: DashboardSettings, ready: dict[str, Any], now: datetime
) -> Alert | None:
    """The MAPE rule on the served registry model's daily rows, else on all models'."""
    window = f"{max(settings.mape_days, 7)}d"
    summary = client.metrics_summary(window=window, end=now)
    model = ready.get("model") or {}
    own = [d for d in summary.get("daily") or [] if d.get("model_name") == model.get("name")]
    if own and model.get("source") == "registry":
        return rule_mape(
            own,
            settings.mape_threshold,
            settings.mape_days,
            model.get("name"),
            model.get("version"),
        )
    return rule_mape(summary.get("daily") or [], settings.mape_threshold, settings.mape_days)


def _stale_alert(client: ApiClient, settings: DashboardSettings, now: datetime) -> Alert | None:
    status = client.data_status()
    return rule_stale(status.get("datasets") or [], settings.stale_hours, now)


def _api_errors_alert(client: ApiClient, settings: DashboardSettings) -> Alert | None:
    errors, total = error_share(client.prometheus())
    return rule_api_errors([], errors, total, settings.api_error_rate)


def _issuance_alert(client: ApiClient, settings: DashboardSettings, now: datetime) -> Alert | None:
    """The loop's rule on its own clock (the dashboard's now when the loop has none)."""
    loop = client.loop_status()
    return rule_no_issuance(
        parse_time(loop["now"]) or now,
        client.issuances(limit=3),
        settings.issuance_deadline_hour,
    )


def _actuals_alert(client: ApiClient, settings: DashboardSettings, now: datetime) -> Alert | None:
    loop = client.loop_status()
    loop_now = parse_time(loop["now"]) or now
    return rule_actuals_stale(
        parse_time(loop.get("last_actual")), loop_now, settings.actuals_stale_hours
    )


def drift_results(
    client: ApiClient,
    settings: DashboardSettings,
    now: datetime,
    model: dict[str, Any] | None = None,
) -> list[DriftResult]:
    """The drift report of the served model's columns: training period against recent days."""
    model = model if model is not None else client.model()
    reference, recent = loaders.drift_periods(model, now, settings)
    columns = loaders.drift_columns(settings, model)
    if reference is None or not columns:
        return []
    ref = loaders.features(client, reference, columns)
    new = loaders.features(client, recent, columns)
    return drift_report(ref, new, columns, loaders.thresholds(settings))


# -- webhook -------------------------------------------------------------------------------------
def webhook_payload(alerts: Sequence[Alert], source: str = "edip-dashboard") -> dict[str, Any]:
    """JSON body: a ``text`` line (Slack/Teams-compatible) and the alerts themselves."""
    lines = [f"[{a.severity.upper()}] {a.title}: {a.message}" for a in alerts]
    return {
        "source": source,
        "text": f"EDIP: {len(alerts)} alert(s)\n" + "\n".join(lines),
        "alerts": [a.model_dump(mode="json") for a in alerts],
    }


def webhook_host(url: str) -> str:
    """What a log line may say of a webhook: scheme, host and port (the path is its token)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return "<webhook>"
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}/…"


def post_webhook(url: str, alerts: Sequence[Alert], timeout_s: float = 10.0) -> int:
    """POST the alerts to ``url``; returns the HTTP status, raises :class:`WebhookError` else."""
    where = webhook_host(url)
    try:
        response = httpx.post(url, json=webhook_payload(alerts), timeout=timeout_s)
    except httpx.HTTPError as exc:  # its message may quote the URL
        raise WebhookError(f"webhook {where} unreachable: {str(exc).replace(url, where)}") from exc
    if response.status_code >= 300:
        raise WebhookError(
            f"webhook {where} answered HTTP {response.status_code}: {response.text[:200]}"
        )
    log.info("posted %d alert(s) to the webhook", len(alerts))
    return response.status_code
