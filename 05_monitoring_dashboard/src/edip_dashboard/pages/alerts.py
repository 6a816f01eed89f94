"""Alerts: every rule evaluated against the API, shown here and posted to the webhook if set."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from edip_dashboard import ui

ctx = ui.page_context(
    "Alerts",
    "Rules evaluated against the API; the `edip alerts` flow runs the same.",
    require_api=False,
)
s = ctx.settings
fired = ui.call(ui.alerts, ctx.base_url, s.model_dump_json(), what="Evaluating the alerts")

cols = st.columns(3)
cols[0].metric("Alerts", len(fired))
cols[1].metric("Critical", sum(a["severity"] == "critical" for a in fired))
cols[2].metric("Warnings", sum(a["severity"] == "warning" for a in fired))

if not fired:
    st.success("No alert: every rule is quiet.", icon=":material/check_circle:")
for alert in fired:
    box = st.error if alert["severity"] == "critical" else st.warning
    box(
        f"**{alert['title']}** — {alert['message']}",
        icon=":material/error:" if alert["severity"] == "critical" else ":material/warning:",
    )

if s.alert_webhook_url is None:
    st.caption("No webhook configured (`EDIP_ALERT_WEBHOOK_URL`): alerts are shown here only.")
elif fired:
    import json

    result = ui.notify_once(s.webhook_url or "", ui.fingerprint(fired), json.dumps(fired))
    st.caption(f"Webhook: {result} (the same set of alerts is posted at most once an hour).")

st.subheader("Rules")
rules = pd.DataFrame(
    [
        {"rule": "mape", "fires when": f"daily MAPE > {s.mape_threshold:.1%} for the last {s.mape_days} day(s)"},
        {"rule": "stale_data", "fires when": f"a dataset's last data is > {s.stale_hours:g} h old"},
        {"rule": "drift", "fires when": f"PSI > {s.psi_threshold:g} or KS > {s.ks_threshold:g} (p < {s.ks_alpha:g})"},
        {"rule": "fallback_model", "fires when": "the API serves its same-hour-last-week fallback"},
        {"rule": "api_errors", "fires when": f"an API call fails, or > {s.api_error_rate:.0%} of answers are 5xx"},
    ]
)  # fmt: skip
st.dataframe(rules, hide_index=True)
