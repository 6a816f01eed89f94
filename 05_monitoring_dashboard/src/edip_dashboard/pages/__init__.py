"""Streamlit pages of the dashboard (run by ``st.navigation`` in :mod:`edip_dashboard.app`)."""
