"""Streamlit entry point (``streamlit run app.py`` / ``edip dashboard``): the seven pages."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

PAGES = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="EDIP monitoring", page_icon=":material/bolt:", layout="wide")
navigation = st.navigation(
    [
        st.Page(PAGES / "now.py", title="Now", icon=":material/bolt:", default=True),
        st.Page(PAGES / "updates.py", title="Forecast updates", icon=":material/update:"),
        st.Page(PAGES / "why.py", title="Why this forecast", icon=":material/waterfall_chart:"),
        st.Page(PAGES / "performance.py", title="Performance", icon=":material/monitoring:"),
        st.Page(PAGES / "data_health.py", title="Data health", icon=":material/health_and_safety:"),
        st.Page(PAGES / "drift.py", title="Drift", icon=":material/thermostat:"),
        st.Page(PAGES / "alerts.py", title="Alerts", icon=":material/notifications_active:"),
    ]
)
navigation.run()
