"""EDIP monitoring dashboard (Streamlit), reading everything from the EDIP API."""

__version__ = "0.1.0"
