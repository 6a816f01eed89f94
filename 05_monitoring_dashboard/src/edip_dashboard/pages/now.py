"""Now: last 7 days of actuals against the served forecasts, and the next 24–48 h."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from edip_dashboard import ui
from edip_dashboard.charts import now_figure
from edip_dashboard.clock import PARIS, paris_text
from edip_dashboard.evolution import peak_band, peak_score, peak_text
from edip_dashboard.frames import forecast_frame
from edip_dashboard.metrics import error_metrics

ctx = ui.page_context(
    "Now", "Can tomorrow's forecast be trusted? The last 7 days against what was served."
)
STATUS_LABEL = {"on_time": "on time", "late": "late", "fallback": "fallback", "missed": "missed"}

loop = ui.try_call(ui.loop_status, ctx.base_url, what="The loop's status") or {}
last_issue = loop.get("last_issuance") or {}
loop_cols = st.columns(3)
loop_cols[0].metric(
    "Next issuance (Paris)",
    paris_text(loop.get("next_issuance_at")),
    help=f"for {loop.get('next_target_day') or '—'} (the loop's clock: {paris_text(loop.get('now'))})",
)
status_text = STATUS_LABEL.get(str(last_issue.get("status")), "—")
loop_cols[1].metric(
    "Last issuance",
    f"{last_issue.get('target_day', '—')}: {status_text}",
    help="; ".join(f"{c['name']} {'ok' if c['ok'] else 'FAILED'}: {c['detail']}"
                   for c in last_issue.get("gate_checks") or []) or "no issuance recorded yet",
)  # fmt: skip
problems = ui.loop_problems(loop, ctx.settings.actuals_stale_hours)
loop_cols[2].metric(
    "Loop health",
    "—" if not loop else ("ok" if not problems else "degraded"),
    help="; ".join(problems) or "last issuance on time, actuals fresh, no failed loop run",
)
if problems:
    st.warning("Loop: " + "; ".join(problems), icon=":material/warning:")
start = ctx.ago(days=7)
horizon = st.segmented_control(
    "Next forecast horizon", [24, 48], default=48, format_func=lambda h: f"{h} h"
)
horizon = int(horizon or 48)

comp = ui.call(ui.comparison, ctx.base_url, start.isoformat(), ctx.now_iso)
acts = ui.call(ui.actuals, ctx.base_url, start.isoformat(), ctx.now_iso)
summary = ui.call(ui.summary, ctx.base_url, "7d", ctx.now_iso)
next_fc = ui.try_call(ui.forecast, ctx.base_url, ctx.now_iso, horizon, what="The next forecast")
body, upcoming = next_fc if next_fc is not None else ({}, forecast_frame({}))

served_model = ctx.ready.get("model") or {}
labels = sorted(comp["model"].unique()) if not comp.empty else []
current = f"{served_model.get('name')} v{served_model.get('version')}"
choice = (
    st.selectbox(
        "Served model shown", labels, index=labels.index(current) if current in labels else 0
    )
    if len(labels) > 1
    else (labels[0] if labels else None)
)
served = comp[comp["model"] == choice] if choice else comp.iloc[0:0]

models = summary.get("models") or []
n = sum(int(m.get("n") or 0) for m in models)
mape = (
    sum(float(m["mape"]) * int(m["n"]) for m in models if m.get("mape") is not None) / n
    if n
    else None
)
bias = (
    sum(float(m["bias"]) * int(m["n"]) for m in models if m.get("bias") is not None) / n
    if n
    else None
)
rte = summary.get("rte_d1") or {}
shown = error_metrics(served["p50"], served["actual"]) if not served.empty else None

cols = st.columns(4)
cols[0].metric(
    "MAPE, last 7 days", ui.fmt_pct(mape), help=f"{n} hourly day-ahead points (API summary)"
)
cols[1].metric("RTE D-1 MAPE", ui.fmt_pct(rte.get("mape")), help="RTE's own day-ahead forecast")
cols[2].metric("Bias (forecast − actual)", ui.fmt_mw(bias))
data = body.get("data") or {}
age = data.get("age_hours")
cols[3].metric(
    "Data age at origin",
    "—" if age is None else ("ahead (replay)" if float(age) < 0 else f"{float(age):.1f} h"),
    help="Hours between the last stored load and the forecast origin (negative in a replay: "
    "the store already holds later data).",
)

today = pd.Timestamp(ctx.now).tz_convert(PARIS).date()
ahead = ui.try_call(ui.issued_peaks, ctx.base_url, str(today),
                    str(today + pd.Timedelta(days=1)), "latest", ctx.now_iso,
                    what="The forecast peak") or []  # fmt: skip
last, hits, days = peak_score(summary.get("peaks") or [])
peak_cols = st.columns(4)
if ahead:
    peak = ahead[-1]  # tomorrow once issued, else today
    peak_cols[0].metric(f"Forecast peak, {peak['day']}", peak_text(peak),
                        help="the day's highest hourly P50 of its latest issue, Paris hour")  # fmt: skip
    peak_cols[1].metric(
        "Peak P10–P90", peak_band(peak), help="the forecast's range at the peak hour"
    )
else:
    peak_cols[0].metric("Forecast peak", "—", help="no issued forecast of today or tomorrow yet")
peak_cols[2].metric(
    f"Peak error, {last['day']}" if last else "Peak error",
    "—" if last is None or last["error_mw"] is None else f"{last['error_mw']:+,.0f} MW",
    help=None
    if last is None
    else f"day-ahead peak {peak_text(last)} against a measured "
    f"{last['actual_peak_mw'] or 0:,.0f} MW at {last['actual_peak_hour'] or 0:02d}:00",
)
peak_cols[3].metric(
    "Peak hour right, last 7 days",
    f"{hits} of {days} days" if days else "—",
    help="days whose day-ahead forecast put the peak at the measured hour",
)

if acts.empty and served.empty:
    ui.no_data(
        f"No actuals nor served forecasts between {paris_text(start)} and {paris_text(ctx.now)} (Paris)."
    )
st.plotly_chart(now_figure(acts, served, upcoming, pd.Timestamp(ctx.now)))

left, right = st.columns(2)
with left:
    st.subheader(f"Next {horizon} h")
    if upcoming.empty:
        ui.no_data("The API returned no forecast points.")
    else:
        table = upcoming.reset_index()
        table.insert(0, "target (Paris)", table["target_time"].map(paris_text))
        st.dataframe(
            table[["target (Paris)", "horizon_h", "p10", "p50", "p90"]].round(0),
            hide_index=True,
            height=260,
        )
        st.caption(
            f"Origin {paris_text(body.get('origin'))} Paris · model {body.get('model', {}).get('name')} "
            f"v{body.get('model', {}).get('version') or '–'} · weather {body.get('weather_source')}"
        )
with right:
    st.subheader("Per model version, last 7 days")
    if models:
        st.dataframe(pd.DataFrame(models), hide_index=True)
    else:
        ui.no_data("No served forecast has an actual yet in the last 7 days.")
    if shown is not None and shown.n:
        st.caption(f"Shown model: {shown.n} points, MAPE {ui.fmt_pct(shown.mape)} (computed here).")
