"""Judging forecasters: walk-forward backtests, metrics, reports and the promotion gate."""
