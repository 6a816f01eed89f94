"""Training: `edip train ml` step by step, hyper-parameter tuning, what a run returns."""
