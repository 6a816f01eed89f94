"""ENTSO-E Transparency Platform: RTE's day-ahead total-load forecast and the actual load.

Why this source when ODRÉ has éCO2mix's ``prevision_j1``: the platform publishes RTE's D-1
forecast for France for every year since 2015 under one API (EU Regulation 543/2013, art. 6.1.B),
so RTE's forecast can be an expert, and a benchmark, over any backtest period.

Protocol (entsoe-py, :mod:`.client`): ``GET {EDIP_ENTSOE_BASE_URL}?securityToken=…&documentType=A65
&processType=A01|A16&outBiddingZone_Domain=10YFR-RTE------C&periodStart=yyyyMMddHHmm
&periodEnd=…`` with UTC bounds, at most a year per query (:func:`.source.year_chunks`), 400
queries a minute at most (a client-side limiter), retries like the other connectors. The token
(``EDIP_ENTSOE_TOKEN``, a secret) is never logged. Without it the connector is disabled.

Store: ``load_entsoe`` (hourly, area ``FR``): ``entsoe_forecast_d1_mw`` (A01, vintage FORECAST)
and ``entsoe_actual_mw`` (A16, REALTIME), hourly means of the published 15/30/60-min values.
The actual is ENTSO-E's perimeter, about 600 MW below ODRÉ's consumption: a forecast is scored
against the actual of its own source (:mod:`edip_pipeline.rte_forecast`).

Availability: the D-1 forecast for day D is taken as known at 10:00 Paris on D-1 (it must be
published two hours before the day-ahead gate closure, 12:00 CET);
:func:`edip_pipeline.rte_forecast.known_at` applies it.

``--from-file`` reads the platform's CSV export "Total Load - Day Ahead / Actual"
(:func:`.parsing.parse_export`).
"""

from __future__ import annotations

from edip_pipeline.extras import missing_extra

try:
    import entsoe  # noqa: F401  (checked here, once: every module of this package needs it)
except ImportError as exc:
    raise missing_extra("sources", exc, feature="the ENTSO-E source") from exc

from edip_pipeline.sources.entsoe.parsing import (
    ACTUAL,
    DATASET,
    FORECAST,
    STORE_DATASET,
    parse_document,
    parse_export,
    parse_file,
)
from edip_pipeline.sources.entsoe.source import ZONE, EntsoeSource, year_chunks

__all__ = [
    "ACTUAL",
    "DATASET",
    "FORECAST",
    "STORE_DATASET",
    "ZONE",
    "EntsoeSource",
    "parse_document",
    "parse_export",
    "parse_file",
    "year_chunks",
]
