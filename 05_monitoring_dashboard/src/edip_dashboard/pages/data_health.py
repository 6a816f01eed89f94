"""Data health: freshness and gaps per source, flow runs, and a coverage calendar of actuals."""

from __future__ import annotations

import streamlit as st

from edip_dashboard import ui
from edip_dashboard.charts import coverage_figure
from edip_dashboard.clock import paris_text
from edip_dashboard.health import coverage_by_day, freshness

ctx = ui.page_context("Data health", "Is the data the forecasts are built from fresh and complete?")
status = ui.call(ui.data_status, ctx.base_url)
table = freshness(status.get("datasets") or [], ctx.now, ctx.settings.stale_hours)

store = ctx.ready.get("store") or {}
cols = st.columns(4)
cols[0].metric("Datasets", len(table))
cols[1].metric("Stale", int((table["status"] == "stale").sum()) if len(table) else 0,
               help=f"older than {ctx.settings.stale_hours:g} h at now")  # fmt: skip
cols[2].metric("Store last data (Paris)", paris_text(store.get("last_timestamp"), "%Y-%m-%d %Hh"))
cols[3].metric(
    "Data version", str(store.get("data_version") or "—")[:8], help=store.get("data_version")
)

st.subheader("Freshness and gaps per source")
if table.empty:
    ui.no_data("The API reports no dataset in the store.")
else:
    shown = table.copy()
    for col in ("first (Paris)", "last (Paris)"):
        shown[col] = shown[col].map(paris_text)
    st.dataframe(shown, hide_index=True)

st.subheader("Flow runs")
runs = status.get("flow_runs") or []
if runs:
    st.dataframe(
        [{**r, "start_time": paris_text(r.get("start_time")), "end_time": paris_text(r.get("end_time"))} for r in runs],
        hide_index=True,
    )  # fmt: skip
elif not status.get("prefect_reachable"):
    st.info(
        "The Prefect API is not reachable from the EDIP API: no flow-run history.",
        icon=":material/info:",
    )
else:
    ui.no_data("Prefect answers but has no flow run yet.")

st.subheader("Loop deployments: recent runs")
loop = ui.try_call(ui.loop_status, ctx.base_url, what="The loop's status") or {}
loop_runs = loop.get("runs") or []
if loop_runs:
    for flow_name in sorted({r["flow"] for r in loop_runs}):
        mine = [r for r in loop_runs if r["flow"] == flow_name]
        states = ", ".join(str(r.get("state") or "?").lower() for r in mine)
        with st.expander(f"{flow_name}: {states}", expanded=False):
            st.dataframe(
                [{"run": r["name"], "state": r["state"], "started (Paris)": paris_text(r.get("start_time")),
                  "scheduled (Paris)": paris_text(r.get("expected_start_time"))} for r in mine],
                hide_index=True,
            )  # fmt: skip
elif not loop.get("prefect_reachable"):
    st.info("No loop run history: the Prefect API is not reachable from the EDIP API.",
            icon=":material/info:")  # fmt: skip
else:
    ui.no_data("No run of the loop's deployments yet (issue-forecast, sync-actuals, …).")

st.subheader("Coverage calendar (actuals received by the API)")
days = st.slider("Days", 14, 92, 56)
start = ctx.ago(days=days)
acts = ui.call(ui.actuals, ctx.base_url, start.isoformat(), ctx.now_iso)
if acts.empty:
    ui.no_data(f"No actual between {paris_text(start)} and {paris_text(ctx.now)} (Paris).")
else:
    coverage = coverage_by_day(acts["consumption_mw"], start, ctx.now)
    full = int((coverage["share"] >= 1).sum())
    st.caption(
        f"{full} of {len(coverage)} days complete; {int(coverage['hours'].sum())} hours with data."
    )
    st.plotly_chart(coverage_figure(coverage), key="coverage")
