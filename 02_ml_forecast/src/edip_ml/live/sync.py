"""``sync-actuals``: measured consumption and RTE's D-1 forecast from the store into the log store.

Hourly. Each run re-sends the last ``sync_lookback_h`` hours (revised values are upserts, a null
never overwrites) and, after downtime, everything since the API's last stored actual (at most 92
days), so no hour is left out. Only hours before the loop's now, and complete in the store, are
sent. ``POST /v1/actuals`` stays open for data from outside EDIP.
"""

from __future__ import annotations

import logging

import pandas as pd
from prefect import flow

from edip_ml.live.api import LoopApi
from edip_ml.live.config import live_settings
from edip_pipeline import clock
from edip_pipeline.actuals import hourly_actuals
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

CHUNK = 5000
MAX_CATCH_UP = pd.Timedelta(days=92)


@flow(name="sync-actuals", log_prints=False)
def sync_actuals_flow(lookback_h: int | None = None) -> int:
    """Upsert the recent hourly actuals; returns how many hours were sent."""
    settings = live_settings()
    now = clock.now()
    start = now - pd.Timedelta(hours=lookback_h or settings.sync_lookback_h)
    with LoopApi(settings) as api:
        last = api.loop_status().get("last_actual")
        if last is not None:
            start = min(start, pd.Timestamp(last))
        start = max(start, now - MAX_CATCH_UP)
        rows = hourly_actuals(Store(), start, now)
        sent = sum(api.post_actuals(rows[i : i + CHUNK]) for i in range(0, len(rows), CHUNK))
    log.info("synced %d hourly actuals from %s to %s", sent, start.isoformat(), now.isoformat())
    return sent
