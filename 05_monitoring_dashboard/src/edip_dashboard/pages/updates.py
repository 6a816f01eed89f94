"""Forecast updates: how a day's forecast evolved, from the day-ahead through each intraday
re-issue, against the actual (the API's ``/v1/issued/history`` as of the dashboard's now)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from edip_dashboard import ui
from edip_dashboard.charts import evolution_figure
from edip_dashboard.clock import PARIS
from edip_dashboard.evolution import actual_series, in_words, issue_frame, issue_label, issues_table

ctx = ui.page_context(
    "Forecast updates",
    "How did the forecast of a day move as it came closer? The day-ahead (D-1 12:00), then each "
    "intraday update (D-1 18:00, D 06:00 … 18:00), against what was measured.",
)
today = pd.Timestamp(ctx.now).tz_convert(PARIS).date()
day = st.date_input(
    "Day (Paris)", value=today, help="Today by default: its updates so far, as of now."
)
history = ui.call(
    ui.issued_history, ctx.base_url, day.isoformat(), ctx.now_iso, what="The day's issues"
)
lines = in_words(history)
if not history["issues"]:
    ui.no_data(lines[0] + " Pick another day above.")
    st.stop()

table = issues_table(history)
latest = history["issues"][-1]
cols = st.columns(3)
cols[0].metric("Issues of the day", str(len(history["issues"])), help="day-ahead + updates")
cols[1].metric(
    "Latest issue", str(table["issue"].iloc[-1]), help=issue_label(latest) + " (Paris time)"
)
cols[2].metric(
    "Latest forecast peak",
    f"{table['peak (MW)'].iloc[-1]:,.0f} MW at {table['peak hour'].iloc[-1]}",
    help="over the hours the latest issue covers",
)
st.markdown(f"**{lines[0]}**")
st.markdown("\n".join(f"- {line}" for line in lines[1:]))
st.plotly_chart(
    evolution_figure(
        [(issue_label(i), issue_frame(i)) for i in history["issues"]],
        actual_series(history),
        day.isoformat(),
    )
)
st.dataframe(
    table.assign(**{"MAPE on measured hours": table["MAPE on measured hours"].map(ui.fmt_pct)}),
    hide_index=True,
)
st.caption(
    "An update covers the hours from its issue to the end of the day; each issue's MAPE is on "
    "its own measured hours, so a later update (shorter lead) is judged on fewer, closer hours. "
    f"As of {pd.Timestamp(history['as_of']).tz_convert(PARIS):%Y-%m-%d %H:%M} Paris: "
    "nothing issued later is shown."
)
