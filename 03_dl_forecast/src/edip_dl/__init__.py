"""EDIP deep-learning forecasters: LSTM, GRU, TCN and Transformer on the edip_ml harness."""

__version__ = "0.1.0"
