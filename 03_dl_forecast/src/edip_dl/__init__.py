"""EDIP deep-learning forecasters: LSTM, GRU, TCN and Transformer on the edip_ml harness."""

from edip_pipeline.runtime import configure as _configure_runtime

__version__ = "0.1.0"

# once, before any module of the package imports LightGBM, XGBoost or torch: OpenMP reads its
# wait policy and thread count when it loads (edip_pipeline.runtime says why)
_configure_runtime()
