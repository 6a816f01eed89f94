"""EDIP classic ML forecasters (day-ahead and rolling 24 h)."""

__version__ = "0.1.0"
