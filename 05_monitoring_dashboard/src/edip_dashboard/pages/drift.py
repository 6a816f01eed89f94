"""Drift: recent distributions of load, temperature and features against the training period."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from edip_dashboard import loaders, ui
from edip_dashboard.charts import drift_figure
from edip_dashboard.drift import drift_report

ctx = ui.page_context(
    "Drift", "Has the world moved away from what the model was trained on? PSI and KS per column."
)
model = ui.call(ui.model, ctx.base_url)
reference, recent = loaders.drift_periods(model, ctx.now, ctx.settings)
columns = loaders.drift_columns(ctx.settings, model)
if reference is None:
    ui.no_data(
        "The served model reports no training period (`trained_on`): nothing to compare with "
        f"(model {model.get('name')}, source {model.get('source')})."
    )
    st.stop()
if not columns:
    ui.no_data("None of the configured drift columns is known to the served model.")
    st.stop()

base = loaders.thresholds(ctx.settings)
with st.expander("Thresholds", expanded=False):
    c1, c2, c3 = st.columns(3)
    psi_t = c1.number_input("PSI threshold", 0.01, 50.0, base.psi, 0.05)
    ks_t = c2.number_input("KS statistic threshold", 0.01, 1.0, base.ks_stat, 0.05)
    alpha = c3.number_input("KS p-value below", 0.0001, 0.5, base.ks_alpha, 0.005, format="%.4f")
thresholds = dataclasses.replace(base, psi=psi_t, ks_stat=ks_t, ks_alpha=alpha)

st.caption(f"Reference (training): {reference.label()} · recent: {recent.label()}")
ref = ui.call(
    ui.features,
    ctx.base_url,
    reference.start.isoformat(),
    reference.end.isoformat(),
    tuple(columns),
)
new = ui.call(
    ui.features, ctx.base_url, recent.start.isoformat(), recent.end.isoformat(), tuple(columns)
)
results = drift_report(ref, new, columns, thresholds)

drifted = [r for r in results if r.drifted]
cols = st.columns(3)
cols[0].metric("Columns compared", len(results))
cols[1].metric("Drifted", len(drifted))
cols[2].metric("Recent rows", len(new))
table = pd.DataFrame([r.as_dict() for r in results])
st.dataframe(table.round(4), hide_index=True)

tabs = st.tabs([r.column for r in results])
for tab, result in zip(tabs, results, strict=True):
    with tab:
        if result.status == "no data":
            ui.no_data(f"{result.column}: {result.reason}.")
        else:
            st.plotly_chart(
                drift_figure(result.column, ref[result.column], new[result.column], result),
                key=f"drift-{result.column}",
            )
