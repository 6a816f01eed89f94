"""The service layer: model manager, forecast building, fallback, store snapshots."""
