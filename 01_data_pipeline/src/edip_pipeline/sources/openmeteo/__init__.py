"""Open-Meteo connector: hourly weather at the weather points and their weighted FR mean.

Why these choices:

* **One multi-location call** per chunk (comma-separated ``latitude``/``longitude``): the server
  answers a JSON array (first object without ``location_id``, then ``location_id`` 1, 2, …); a
  single location answers a bare object. Both are handled.
* **Always GMT**: with a named zone Open-Meteo applies the offset valid *at request time* to the
  whole series (no DST handling), so we ask for GMT and read ``hourly.time`` as UTC ourselves,
  refusing any response whose ``utc_offset_seconds`` is not 0.
* **Quota**: the free API counts *weighted* calls,
  ``max(1, n_vars / 10 * max(1, days / 14)) * n_locations`` (see :func:`weighted_calls`), against
  600/min, 5 000/h and 10 000/day per IP. Archive and historical-forecast periods are chunked by
  calendar year (6 variables × 366 days × 15 points ≈ 235 weighted calls per chunk) and every call
  goes through a process-wide sliding-window limiter (:class:`WeightedRateLimiter`).
* **Points** (:mod:`edip_pipeline.weather_points`): the places asked for and their weights come
  from ``EDIP_WEATHER_POINTS`` (a preset, ``cities15`` by default, or a CSV); each point's rows are
  stored under its slug, so the feature builder can weigh them itself.
* **FR**: per variable and hour, the weighted mean over the points that have a value,
  renormalised over them (a missing point does not drag the mean to 0); an hour whose points
  hold under half of the weight has none, and the ingest notes count both cases.
* **previous-runs** (``previous-runs-api``, dataset ``weather_previous_runs``): the forecast
  *vintages*. ``<var>_previous_dayN`` at valid time ``t`` is "the value predicted N x 24 h before
  ``t``", i.e. issued at about ``t - N x 24 h`` (plus the model's publication delay). For a
  day-ahead origin at D-1 12:00 Paris, ``_previous_day1`` is issued *after* the origin for most of
  D (the value for D 23:00 was issued about D-1 23:00), so it is known at the origin only for
  the first hours after it; ``_previous_day2`` (issued about ``t - 48 h``, i.e. during D-2 for
  D) is known at the origin for every hour of D. Both leads are fetched and stored under the
  canonical names with the suffix kept (``temperature_2m_c_previous_day1``, ``…_day2``: the lead
  is the vintage); the feature builder picks, per hour, the shortest lead issued at least
  :data:`~edip_pipeline.features.weather_sources.PREVIOUS_RUNS_LAG` before the origin (see
  :func:`~edip_pipeline.features.weather_sources.previous_runs_hourly`). Archived since 2024-01 for
  most models (GFS ``temperature_2m`` since 2021): earlier years come back null.
* **Live vintages** (``forecast``, dataset ``weather_forecast_runs``): ``weather_forecast`` keeps
  the latest run only (each ingest overwrites it), so every ``forecast`` fetch also stores the
  run as vintages in the previous-runs format (:func:`forecast_vintages`): a value for ``t``
  fetched at ``I`` is stored as ``<var>_previous_dayN`` with ``N = floor((t − I) / 24 h)``
  (N in :data:`PREVIOUS_RUNS_LEADS`), i.e. it was known at least ``N x 24 h`` before ``t``;
  per (t, N) the latest run wins, and the row's ``source`` records its issue (fetch) time.
  Tomorrow's training thus reads today's forecast as it was known at each origin.


Modules: :mod:`.datasets` (endpoints,
variables, previous-runs leads), :mod:`.vintages` (a live run stored as vintages),
:mod:`.ratelimit` (weighted-call quota), :mod:`.parsing` (JSON payload → canonical rows, coverage),
:mod:`.source` (the HTTP connector). The package re-exports what the source registry imports.

Data: Open-Meteo.com, CC BY 4.0 (attribution required; the free tier is non-commercial).
"""

from __future__ import annotations

from edip_pipeline.sources.openmeteo.datasets import (
    ATTRIBUTION,
    DATASETS,
    FORECAST_RUNS_DATASET,
    PREVIOUS_RUNS_LEADS,
    PREVIOUS_RUNS_VARIABLES,
    VARIABLES,
)
from edip_pipeline.sources.openmeteo.parsing import coverage_notes, national_rows, parse_locations
from edip_pipeline.sources.openmeteo.ratelimit import LIMITER, WeightedRateLimiter, weighted_calls
from edip_pipeline.sources.openmeteo.source import OpenMeteoSource
from edip_pipeline.sources.openmeteo.vintages import forecast_vintages

__all__ = [
    "ATTRIBUTION",
    "DATASETS",
    "FORECAST_RUNS_DATASET",
    "LIMITER",
    "PREVIOUS_RUNS_LEADS",
    "PREVIOUS_RUNS_VARIABLES",
    "VARIABLES",
    "OpenMeteoSource",
    "WeightedRateLimiter",
    "coverage_notes",
    "forecast_vintages",
    "national_rows",
    "parse_locations",
    "weighted_calls",
]
