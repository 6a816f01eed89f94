"""Leak-free load-forecasting features, shared by training, backtests and serving.

Public API::

    pairs = day_ahead_pairs("2020-01-01", "2020-12-31", step="1h", origin_hour_local=12)
    ft = build_feature_table(store, pairs, params, weather="auto")   # many origins, vectorised
    ft = build_features(store, origin, targets, params)              # one origin (serving)
    write_feature_table(store, ft, "features_day_ahead"); read_feature_table(store, name)
    y = load_target(store, targets, step="1h")                       # the matching label

Modules: :mod:`.calendar` (Paris calendar, protocol grids), :mod:`.holidays` (public/school
holidays, bridges), :mod:`.load` (history features and the availability rule), :mod:`.weather`
(temperature/weather at targets), :mod:`.builder` (assembly, :class:`FeatureFrame`, storage).
"""

from edip_pipeline.calendar import local_day_bounds
from edip_pipeline.features.builder import (
    GROUPS,
    FeatureFrame,
    build_feature_table,
    build_features,
    feature_groups,
    feature_names,
    read_feature_table,
    write_feature_table,
)
from edip_pipeline.features.calendar import day_ahead_pairs, intraday_pairs, rolling_pairs
from edip_pipeline.features.load import LeakageError, load_target
from edip_pipeline.features.weather import WeatherMode, WeatherSource

__all__ = [
    "GROUPS",
    "FeatureFrame",
    "LeakageError",
    "WeatherMode",
    "WeatherSource",
    "build_feature_table",
    "build_features",
    "day_ahead_pairs",
    "feature_groups",
    "feature_names",
    "intraday_pairs",
    "load_target",
    "local_day_bounds",
    "read_feature_table",
    "rolling_pairs",
    "write_feature_table",
]
