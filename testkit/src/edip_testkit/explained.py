"""Explained forecasts on a running platform: what the loop issues, without running the loop.

Why shared: the dashboard's page and browser tests (and the README screenshots) need a target day
and the same day a week before with their decompositions stored, made the way the loop makes them
(:func:`edip_ml.live.explain.explain_issued`: the native champion, TreeSHAP, checked by the API).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from edip_pipeline.store import Store
from edip_testkit.platform import Registry, RunningApi, temporary_env


def issue_explained(
    api: RunningApi, registry: Registry, store: Store, day: str, horizon: int = 36
) -> dict[str, Any] | None:
    """The champion's day-ahead forecast of Paris ``day`` (origin D-1 12:00 Paris, logged under
    ``issue-<day>``) and its explanation, stored with the API; the stored explanation."""
    from edip_ml.live.api import LoopApi
    from edip_ml.live.config import LiveSettings
    from edip_ml.live.explain import explain_issued

    origin = (pd.Timestamp(day) - pd.Timedelta(hours=12)).tz_localize("Europe/Paris")
    settings = LiveSettings(api_url=api.url, api_key=api.api_key)
    with temporary_env(registry.env()), LoopApi(settings) as client:
        forecast = client.forecast(origin.isoformat(), horizon, f"issue-{day}")
        return explain_issued(client, forecast, day, store)
