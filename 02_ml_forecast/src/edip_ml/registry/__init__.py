"""MLflow integration: the tracking server, run logging, registry versions and aliases."""
