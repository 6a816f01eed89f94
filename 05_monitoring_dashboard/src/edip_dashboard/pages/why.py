"""Why this forecast: a day's issued forecast against the same day a week before, contribution by
contribution (the API's decomposition of each issued P50), as a waterfall and in words."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import streamlit as st

from edip_dashboard import ui
from edip_dashboard.charts import explanation_waterfall
from edip_dashboard.clock import PARIS
from edip_dashboard.explanation import compare, in_words

ctx = ui.page_context(
    "Why this forecast",
    "Why is tomorrow different from the same day last week? Each issued forecast is split into "
    "named contributions that add up to it; here are the differences.",
)
loop = ui.try_call(ui.loop_status, ctx.base_url, what="The loop's status") or {}
issued = (loop.get("last_issuance") or {}).get("target_day")
default = date.fromisoformat(issued) if issued else pd.Timestamp(ctx.now).tz_convert(PARIS).date()
left, right = st.columns(2)
day = left.date_input(
    "Forecast of (Paris day)", value=default, help="The latest issued by default."
)
hours = [None, *range(24)]
hour = right.selectbox(
    "Compared",
    hours,
    format_func=lambda h: "day average" if h is None else f"at {h:02d}:00 (Paris)",
)
reference = day - timedelta(days=7)
mine = ui.call(ui.explanation, ctx.base_url, day.isoformat(), what="The explanation")
theirs = ui.call(ui.explanation, ctx.base_url, reference.isoformat(), what="The explanation")

missing = [e for e in (mine, theirs) if not e.get("available")]
for e in missing:
    st.info(f"**{e.get('target_day')}**: {e.get('reason')}", icon=":material/help:")
if missing:
    ui.no_data("Both days need an explained forecast to compare them (pick other days above).")
    st.stop()

comparison = compare(mine, theirs, hour)
if comparison is None:
    ui.no_data(f"The forecasts hold no point for {day} or {reference} at that hour.")
    st.stop()

cols = st.columns(3)
cols[0].metric(f"Forecast of {day}", ui.fmt_mw(comparison.p50), help=comparison.scope)
cols[1].metric(
    f"Forecast of {reference}", ui.fmt_mw(comparison.reference_p50), help=comparison.scope
)
cols[2].metric("Difference", f"{comparison.difference:+,.0f} MW", help="this day − a week before")
lines = in_words(comparison)
st.markdown(f"**{lines[0]}**")
st.markdown("\n".join(f"- {line}" for line in lines[1:]))
st.plotly_chart(
    explanation_waterfall(
        comparison.table, comparison.reference_p50, comparison.p50, str(reference), str(day)
    )
)
with st.expander("Contributions of both forecasts (MW)"):
    shown = comparison.table.rename(
        columns={"label": "contribution", "day": str(day), "reference": str(reference)}
    )
    st.dataframe(shown.drop(columns="name").round(0), hide_index=True)
    st.caption(
        f"{mine.get('model_name')} v{mine.get('model_version')} ({mine.get('method')}) against "
        f"{theirs.get('model_name')} v{theirs.get('model_version')} ({theirs.get('method')}). "
        "Temperatures are the weather the forecast was issued with."
    )
st.caption(
    f"Issued {pd.Timestamp(mine['origin']).tz_convert(PARIS):%Y-%m-%d %H:%M} Paris "
    f"(request {mine.get('request_id')})."
)
