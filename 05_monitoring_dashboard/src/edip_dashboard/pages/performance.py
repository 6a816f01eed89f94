"""Performance: rolling daily errors, error by hour and day type, comparison with RTE D-1 and
same-hour-last-week, per model version, and the promotion history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from edip_dashboard import ui
from edip_dashboard.charts import by_day_type_figure, by_hour_figure, daily_figure, versions_figure
from edip_dashboard.clock import paris_text
from edip_dashboard.frames import to_utc
from edip_dashboard.metrics import (
    daily_metrics,
    error_by_day_type,
    error_by_hour,
    long_errors,
    overall,
    rolling_daily,
)

ctx = ui.page_context(
    "Performance",
    "Day-ahead accuracy of the served forecasts (latest origin ≥ 12 h before target), "
    "against RTE's D-1 and the same hour last week.",
)
days = st.slider("Days of history", 7, 92, ctx.settings.history_days)
start = ctx.ago(days=days)

comp = ui.call(ui.comparison, ctx.base_url, start.isoformat(), ctx.now_iso)
errors = long_errors(comp)
if errors.empty:
    ui.no_data(
        f"No served day-ahead forecast has an actual between {paris_text(start)} and "
        f"{paris_text(ctx.now)} (Paris)."
    )
else:
    names = sorted(errors["forecaster"].unique())
    chosen = st.multiselect("Forecasters", names, default=names)
    errors = errors[errors["forecaster"].isin(chosen)]

    st.subheader("Over the period (common hours)")
    table = overall(errors)
    st.dataframe(
        table.assign(mape=table["mape"] * 100)
        .rename(columns={"mape": "MAPE %", "mae": "MAE MW", "bias": "bias MW"})
        .round(2),
        hide_index=True,
    )
    daily = rolling_daily(daily_metrics(errors))
    tabs = st.tabs(["Daily MAPE", "Daily MAE", "Daily bias"])
    for tab, metric in zip(tabs, ("mape", "mae", "bias"), strict=True):
        with tab:
            st.plotly_chart(daily_figure(daily, metric), key=f"daily-{metric}")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(by_hour_figure(error_by_hour(errors)), key="by-hour")
    with right:
        st.plotly_chart(by_day_type_figure(error_by_day_type(errors)), key="by-day-type")

st.subheader("Per model version (API summary)")
summary = ui.call(ui.summary, ctx.base_url, f"{days}d", ctx.now_iso)
models = pd.DataFrame(summary.get("models") or [])
if models.empty:
    ui.no_data("No model version has scored forecasts in this window.")
else:
    models["mape"] = models["mape"] * 100
    st.dataframe(models.rename(columns={"mape": "MAPE %"}).round(2), hide_index=True)

st.subheader("Promotion history")
versions = pd.DataFrame(ui.call(ui.versions, ctx.base_url))
if versions.empty:
    ui.no_data("The registry has no version of the model.")
else:
    versions["created_at"] = to_utc(versions["created_at"])
    if "backtest_mape" not in versions:
        versions["backtest_mape"] = float("nan")
    versions["backtest_mape"] = pd.to_numeric(versions["backtest_mape"], errors="coerce")
    served_alias = ui.call(ui.model, ctx.base_url).get("alias")
    st.plotly_chart(versions_figure(versions, served_alias), key="versions")
    shown = versions.assign(
        created=versions["created_at"].map(paris_text),
        aliases=versions["aliases"].map(lambda a: ", ".join(a or [])),
        backtest_mape=versions["backtest_mape"] * 100,
    )
    st.dataframe(
        shown[
            ["version", "aliases", "created", "family", "backtest_mape", "data_version", "run_id"]
        ]
        .rename(columns={"backtest_mape": "backtest MAPE %", "created": "created (Paris)"})
        .round(2),
        hide_index=True,
    )
