"""The named contributions a forecast's P50 is split into, and the one feature → name mapping.

Why here: the loop computes a decomposition with the model library (``edip_ml``), the API stores
and returns it (``edip_api``, no training library) and both must agree on the names; the features
they map come from :mod:`edip_pipeline.features`. Every row's contributions add up to its P50.

The mapping (documented in the README, "Why this forecast"):

* ``baseline`` — the model's constant at that hour of day (the GAM's per-hour level);
* ``temperature_instant`` — the temperature at the target hour (``temperature_c``, heating and
  cooling degrees, apparent temperature);
* ``temperature_smoothed`` — the exponentially smoothed temperatures (building inertia);
* ``time_of_year`` — month and the annual cycle (``doy_sin``/``doy_cos``);
* ``day_type_holidays`` — day of week, week-end, public, bridge, school, Christmas and August
  holidays, clock-change days;
* ``time_of_day`` — the hour features of the trees (the GAM has one fit per hour: its baseline);
* ``recent_load`` — every load-history feature, and for the trees (which learn a ratio to the
  last known load) the tree's average ratio times that reference load;
* ``online_correction`` — what the online state changes against the fitted model (the Kalman
  re-weighting of the GAM's effects);
* ``other`` — any other feature (humidity, cloud, wind, radiation, the lead time).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from edip_pipeline.features.holidays import HOLIDAY_FEATURES

BASELINE = "baseline"
RECENT_LOAD = "recent_load"
ONLINE_CORRECTION = "online_correction"
OTHER = "other"

#: name → what a grid analyst reads, in the order reports show them
CONTRIBUTIONS: dict[str, str] = {
    BASELINE: "Model baseline for the hour",
    "temperature_instant": "Temperature at the hour",
    "temperature_smoothed": "Temperature of the past days (building inertia)",
    "time_of_year": "Time of year",
    "day_type_holidays": "Day type and holidays",
    "time_of_day": "Hour of the day",
    RECENT_LOAD: "Recent load level",
    ONLINE_CORRECTION: "Online correction",
    OTHER: "Other (weather, lead time)",
}

_INSTANT = {"temperature_c", "heating_degrees", "cooling_degrees", "apparent_temperature_c"}
_TIME_OF_YEAR = {"month", "doy_sin", "doy_cos"}
_TIME_OF_DAY = {"hour", "hour_sin", "hour_cos"}
_DAY_TYPE = {"dow", "is_weekend", "is_clock_change_day", *HOLIDAY_FEATURES}


def contribution_of(feature: str) -> str:
    """The named contribution a feature's effect is counted in (``other`` when unmapped)."""
    if feature in _INSTANT:
        return "temperature_instant"
    if feature.startswith("temperature_ewm_"):
        return "temperature_smoothed"
    if feature in _TIME_OF_YEAR:
        return "time_of_year"
    if feature in _TIME_OF_DAY:
        return "time_of_day"
    if feature in _DAY_TYPE:
        return "day_type_holidays"
    if feature.startswith("load_"):
        return RECENT_LOAD
    if feature in CONTRIBUTIONS:  # a named part given as such (the baseline, the correction)
        return feature
    return OTHER


def grouped(
    values: np.ndarray, features: Sequence[str], index: pd.Index | None = None
) -> pd.DataFrame:
    """``[N, F]`` contributions of ``features`` (or of named parts) → ``[N, C]`` named ones.

    Columns are every name of :data:`CONTRIBUTIONS` in order (0 where nothing maps to it), so
    each row still adds up to what ``values`` added up to.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    names = list(CONTRIBUTIONS)
    onehot = np.zeros((len(features), len(names)))
    for j, feature in enumerate(features):
        onehot[j, names.index(contribution_of(feature))] = 1.0
    return pd.DataFrame(np.nan_to_num(values) @ onehot, columns=names, index=index)


def unknown_names(names: Sequence[str]) -> list[str]:
    """Names that are not named contributions (the API refuses them)."""
    return [n for n in names if n not in CONTRIBUTIONS]
