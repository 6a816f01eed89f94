"""One module per resource, joined in :mod:`edip_api.api.main`."""
