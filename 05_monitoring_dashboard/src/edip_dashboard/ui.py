"""Streamlit plumbing shared by the pages: cached API reads (TTL), the page header, error boxes.

Why: pages stay thin layouts; every API answer is cached with ``st.cache_data(ttl=…)`` keyed by
plain strings (URL, ISO times), so nothing heavy lives in session state and a rerun within the TTL
does not touch the API. An unreachable API or an empty period stops the page with a clear message.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pandas as pd
import streamlit as st

from edip_dashboard import loaders
from edip_dashboard.alerts import Alert, WebhookError, evaluate_alerts, post_webhook
from edip_dashboard.client import ApiClient, ApiError, ApiUnreachableError, DailyPeak, DayHistory
from edip_dashboard.clock import effective_now, paris_text, parse_time
from edip_dashboard.config import DashboardSettings, get_settings
from edip_dashboard.frames import actuals_frame, forecast_frame

T = TypeVar("T")
TTL = get_settings().cache_ttl_s


def settings() -> DashboardSettings:
    """The dashboard settings (environment, read once per process)."""
    return get_settings()


def client() -> ApiClient:
    """A fresh client (cheap; cached functions build their own from the URL)."""
    s = settings()
    return ApiClient(s.base_url, s.api_timeout_s, s.page_limit)


def _ts(value: str) -> datetime:
    stamp = parse_time(value)
    assert stamp is not None
    return stamp


# -- cached reads (arguments are plain strings: hashable cache keys) -------------------------
@st.cache_data(ttl=TTL, show_spinner=False)
def ready(base_url: str) -> dict[str, Any]:
    with client() as c:
        return c.ready()


@st.cache_data(ttl=TTL, show_spinner=False)
def now_iso(base_url: str) -> str:
    s = settings()
    with client() as c:
        return effective_now(c, s.replay_gap_h, s.replay_now, ready=ready(base_url)).isoformat()


@st.cache_data(ttl=TTL, show_spinner="Reading forecasts and actuals…")
def comparison(base_url: str, start: str, end: str) -> pd.DataFrame:
    with client() as c:
        return loaders.comparison(c, _ts(start), _ts(end))


@st.cache_data(ttl=TTL, show_spinner=False)
def actuals(base_url: str, start: str, end: str) -> pd.DataFrame:
    with client() as c:
        return actuals_frame(c.actuals(_ts(start), _ts(end)))


@st.cache_data(ttl=TTL, show_spinner="Asking the API for the next forecast…")
def forecast(base_url: str, origin: str, horizon: int) -> tuple[dict[str, Any], pd.DataFrame]:
    with client() as c:
        body = c.forecast(_ts(origin), horizon)
    return body, forecast_frame(body)


@st.cache_data(ttl=TTL, show_spinner=False)
def summary(base_url: str, window: str, end: str) -> dict[str, Any]:
    with client() as c:
        return c.metrics_summary(window, _ts(end))


@st.cache_data(ttl=TTL, show_spinner=False)
def model(base_url: str) -> dict[str, Any]:
    with client() as c:
        return c.model()


@st.cache_data(ttl=TTL, show_spinner=False)
def versions(base_url: str) -> list[dict[str, Any]]:
    with client() as c:
        return c.model_versions()


@st.cache_data(ttl=TTL, show_spinner=False)
def data_status(base_url: str) -> dict[str, Any]:
    with client() as c:
        return c.data_status()


@st.cache_data(ttl=TTL, show_spinner=False)
def loop_status(base_url: str) -> dict[str, Any]:
    with ApiClient(base_url, settings().api_timeout_s) as c:
        return c.loop_status()


def loop_problems(loop: dict[str, Any], actuals_stale_hours: float) -> list[str]:
    """What is wrong with the daily loop, in words (empty: healthy)."""
    if not loop:
        return []
    out = []
    last = loop.get("last_issuance") or {}
    if not last:
        out.append("no issuance recorded yet")
    elif last.get("status") != "on_time":
        out.append(f"last issuance ({last.get('target_day')}) was {last.get('status')}")
    age = loop.get("actuals_age_h")
    if age is None or float(age) > actuals_stale_hours:
        out.append("actuals stale" if age is not None else "no actual synced")
    failed = sorted(
        {r["flow"] for r in loop.get("runs") or [] if r.get("state") in ("FAILED", "CRASHED")}
    )
    if failed:
        out.append("failed runs: " + ", ".join(failed))
    return out


@st.cache_data(ttl=TTL, show_spinner="Building feature rows…")
def features(base_url: str, start: str, end: str, columns: tuple[str, ...]) -> pd.DataFrame:
    with client() as c:
        return loaders.features(c, loaders.Period(_ts(start), _ts(end)), list(columns))


@st.cache_data(ttl=TTL, show_spinner="Evaluating alert rules…")
def alerts(base_url: str, settings_json: str) -> list[dict[str, Any]]:
    s = DashboardSettings.model_validate_json(settings_json)
    with client() as c:
        return [a.model_dump(mode="json") for a in evaluate_alerts(c, s)]


@st.cache_data(ttl=3600, show_spinner=False)
def notify_once(webhook_url: str, fingerprint: str, alerts_json: str) -> str:
    """Post a set of alerts once per hour per distinct set (reruns hit the cache, not the hook)."""
    fired = [Alert.model_validate(a) for a in json.loads(alerts_json)]
    try:
        status = post_webhook(webhook_url, fired, settings().api_timeout_s)
    except WebhookError as exc:
        return f"error: {exc}"
    return f"posted (HTTP {status})"


def fingerprint(fired: list[dict[str, Any]]) -> str:
    """A stable id of a set of alerts (rule + title), so the same set is posted once."""
    key = sorted(f"{a['rule']}|{a['title']}" for a in fired)
    return hashlib.sha256("\n".join(key).encode()).hexdigest()[:16]


@st.cache_data(ttl=TTL, show_spinner=False)
def explanation(base_url: str, target_day: str) -> dict[str, Any]:
    with client() as c:
        return c.explanation(target_day)


@st.cache_data(ttl=TTL, show_spinner="Reading the day's issues…")
def issued_history(base_url: str, day: str, as_of: str) -> DayHistory:
    with client() as c:
        return c.issued_history(day, _ts(as_of))


@st.cache_data(ttl=TTL, show_spinner=False)
def issued_peaks(
    base_url: str, start_day: str, end_day: str, kind: str, as_of: str
) -> list[DailyPeak]:
    with client() as c:
        return c.issued_peaks(start_day, end_day, kind, _ts(as_of))


# -- page helpers ---------------------------------------------------------------------------------
def call(fn: Callable[..., T], *args: Any, what: str = "the API") -> T:
    """``fn(*args)``; an unreachable API or an API error stops the page with a message."""
    try:
        return fn(*args)
    except ApiUnreachableError as exc:
        st.error(
            f"**The EDIP API is unreachable** at `{settings().base_url}`: {exc}. "
            "Start it with `edip serve` or set `EDIP_API_URL`.",
            icon=":material/cloud_off:",
        )
        st.stop()
    except ApiError as exc:
        st.error(f"**{what} failed**: {exc}", icon=":material/warning:")
        st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def try_call(fn: Callable[..., T], *args: Any, what: str = "the API") -> T | None:
    """``fn(*args)``; on an API error a warning is shown and ``None`` returned (page goes on)."""
    try:
        return fn(*args)
    except ApiError as exc:
        st.warning(f"**{what} failed**: {exc}", icon=":material/warning:")
    return None


@dataclass(frozen=True)
class PageContext:
    """What every page needs first: settings, the API's readiness and the effective now."""

    settings: DashboardSettings
    base_url: str
    ready: dict[str, Any]
    now: datetime

    @property
    def now_iso(self) -> str:
        return self.now.isoformat()

    def ago(self, **delta: float) -> datetime:
        return self.now - timedelta(**delta)


def page_context(title: str, caption: str, require_api: bool = True) -> PageContext:
    """Title, then the API check and the now; the sidebar shows the served model and a refresh.

    With ``require_api=False`` an unreachable API does not stop the page (the Alerts page reports
    it as an alert); the context then has an empty ``ready`` and the wall clock as now.
    """
    st.title(title)
    st.caption(caption)
    s = settings()
    base = s.base_url
    if not require_api:
        try:
            ready(base)
        except ApiError:
            return PageContext(s, base, {}, datetime.now(UTC))
    status = call(ready, base)
    now = _ts(call(now_iso, base))
    wall = datetime.now(UTC)
    replay = wall - now > timedelta(hours=s.replay_gap_h) or s.replay_now is not None
    m = status.get("model") or {}
    with st.sidebar:
        st.markdown(f"**API** `{base}`")
        st.markdown(
            f"**Model** {m.get('name', '?')} v{m.get('version') or '–'} ({m.get('source', '?')})"
        )
        st.markdown(f"**Now** {paris_text(now)} Paris" + (" · *replayed period*" if replay else ""))
        if st.button("Refresh data", help=f"Answers are cached {s.cache_ttl_s} s"):
            st.cache_data.clear()
            st.rerun()
    if not status.get("ready", False):
        st.warning(
            "The API answers but is **not ready** (model or store unavailable): "
            f"model source {m.get('source')!r}, reason {m.get('reason')!r}.",
            icon=":material/hourglass_top:",
        )
    if replay:
        st.info(
            f"Replayed period: 'now' is the API's latest data time, **{paris_text(now)}** (Paris).",
            icon=":material/history:",
        )
    return PageContext(s, base, status, now)


def no_data(message: str) -> None:
    """A clear 'nothing in this period' message."""
    st.info(message, icon=":material/inbox:")


def fmt_pct(value: float | None) -> str:
    """A fraction as a percentage ('—' when missing)."""
    return "—" if value is None or pd.isna(value) else f"{100 * float(value):.2f} %"


def fmt_mw(value: float | None) -> str:
    """MW with thousands separators ('—' when missing)."""
    return "—" if value is None or pd.isna(value) else f"{float(value):,.0f} MW"
