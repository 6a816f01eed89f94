"""EDIP data pipeline: connectors, versioned store, features and Prefect flows."""

__version__ = "0.1.0"
