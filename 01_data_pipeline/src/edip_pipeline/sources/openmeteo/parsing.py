"""Open-Meteo JSON payloads → canonical per-point rows, and per-point coverage notes.

One multi-location call answers a JSON array (first object without ``location_id``, then
``location_id`` 1, 2, …); a single location answers a bare object. Both are handled. Times are
read as UTC: any response whose ``utc_offset_seconds`` is not 0 (GMT) is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from edip_pipeline.http import SourceError
from edip_pipeline.schema import Vintage, empty_frame
from edip_pipeline.sources.base import canonical, lenient_numbers
from edip_pipeline.sources.openmeteo.datasets import VARIABLES
from edip_pipeline.weather_points import PointSet, WeatherPoint, share_notes, weighted_mean

log = logging.getLogger(__name__)


def _parse_times(
    hourly: Mapping[str, Any], unit: str | None, dataset: str, url: str
) -> pd.DatetimeIndex:
    times = hourly.get("time")
    if not isinstance(times, list):
        raise SourceError(dataset, url, "hourly.time is missing or not an array")
    try:
        if unit == "unixtime":
            idx = pd.to_datetime(times, unit="s", utc=True)
        else:  # GMT wall clock "YYYY-MM-DDTHH:MM", no offset
            idx = pd.to_datetime(times, format="%Y-%m-%dT%H:%M", utc=True)
    except (ValueError, TypeError) as exc:
        raise SourceError(dataset, url, f"unreadable hourly.time: {exc}") from exc
    return pd.DatetimeIndex(pd.DatetimeIndex(idx).astype("datetime64[ns, UTC]"))


def _location_objects(payload: Any, n_points: int, dataset: str, url: str) -> list[Any]:
    """The payload's per-location objects: a bare object (one location) or an array."""
    if isinstance(payload, dict) and payload.get("error"):
        raise SourceError(dataset, url, f"Open-Meteo error: {payload.get('reason')}")
    if isinstance(payload, dict):
        objects: list[Any] = [payload]
    elif isinstance(payload, list):
        objects = payload
    else:
        raise SourceError(
            dataset, url, f"expected a JSON object or array, got {type(payload).__name__}"
        )
    if len(objects) != n_points:
        raise SourceError(dataset, url, f"expected {n_points} locations, got {len(objects)}")
    return objects


def _location_point(
    obj: Any, points: Sequence[WeatherPoint], seen: set[int], dataset: str, url: str
) -> WeatherPoint:
    """The point a location object answers for (``location_id``, once each), checked to be GMT."""
    if not isinstance(obj, dict):
        raise SourceError(dataset, url, "location entry is not a JSON object")
    loc = obj.get("location_id", 0)
    if (
        isinstance(loc, bool)
        or not isinstance(loc, int)
        or not 0 <= loc < len(points)
        or loc in seen
    ):
        raise SourceError(dataset, url, f"unexpected location_id {loc!r}")
    seen.add(loc)
    point = points[loc]
    if obj.get("utc_offset_seconds") != 0:
        raise SourceError(
            dataset,
            url,
            f"utc_offset_seconds is {obj.get('utc_offset_seconds')!r}, expected 0 (GMT)",
        )
    return point


def _point_rows(
    obj: dict[str, Any],
    point: WeatherPoint,
    *,
    dataset: str,
    url: str,
    vintage: Vintage,
    source: str,
    variables: Mapping[str, tuple[str, str]],
) -> list[pd.DataFrame]:
    """Canonical rows of one location object, one frame per variable with a value."""
    hourly = obj.get("hourly")
    units = obj.get("hourly_units") or {}
    if not isinstance(hourly, dict) or not isinstance(units, dict):
        raise SourceError(dataset, url, f"{point.slug}: 'hourly' section missing")
    times = _parse_times(hourly, units.get("time"), dataset, url)
    frames: list[pd.DataFrame] = []
    for api_var, (variable, unit) in variables.items():
        raw = hourly.get(api_var)
        if not isinstance(raw, list) or len(raw) != len(times):
            raise SourceError(
                dataset, url, f"{point.slug}: hourly.{api_var} missing or not {len(times)} long"
            )
        if api_var in units and units[api_var] != unit:
            raise SourceError(dataset, url, f"{api_var} in {units[api_var]!r}, expected {unit!r}")
        values = lenient_numbers(raw)
        keep = ~np.isnan(values)
        if keep.any():
            frames.append(
                canonical(
                    times[keep],
                    values[keep],
                    variable=variable,
                    area=point.slug,
                    vintage=int(vintage),
                    source=source,
                )
            )
    return frames


def parse_locations(
    payload: Any,
    *,
    dataset: str,
    url: str,
    points: Sequence[WeatherPoint],
    vintage: Vintage,
    source: str,
    variables: Mapping[str, tuple[str, str]] = VARIABLES,
) -> pd.DataFrame:
    """Canonical per-point rows (non-null values only) from one Open-Meteo JSON payload."""
    frames: list[pd.DataFrame] = []
    seen: set[int] = set()
    for obj in _location_objects(payload, len(points), dataset, url):
        point = _location_point(obj, points, seen, dataset, url)
        frames += _point_rows(
            obj,
            point,
            dataset=dataset,
            url=url,
            vintage=vintage,
            source=source,
            variables=variables,
        )
    return pd.concat(frames, ignore_index=True) if frames else empty_frame()


def coverage_notes(
    frame: pd.DataFrame,
    points: Sequence[WeatherPoint],
    variables: Mapping[str, tuple[str, str]] = VARIABLES,
) -> list[str]:
    """Per variable: points with no value at all (warned), low coverage, and the mean coverage.

    Coverage is the share of the batch's hours with a value for that point; an all-null point
    (a grid cell the model does not cover, a wrong coordinate) would otherwise pass unnoticed
    because the FR mean renormalises over the points present.
    """
    hours = frame["timestamp"].nunique()
    if not hours:
        return ["no hourly value in the response"]
    counts = frame[frame["area"] != "FR"].groupby(["variable", "area"]).size()
    notes = []
    for variable, _unit in variables.values():
        per_point = {c.slug: counts.get((variable, c.slug), 0) / hours for c in points}
        dead = [slug for slug, share in per_point.items() if share == 0]
        low = [f"{slug} {share:.0%}" for slug, share in per_point.items() if 0 < share < 0.9]
        if dead:
            log.warning("open-meteo: %s all-null at %s", variable, ", ".join(dead))
            notes.append(f"{variable}: no value at {len(dead)} point(s): {', '.join(dead)}")
        if low:
            notes.append(f"{variable}: low coverage at {', '.join(low)}")
        notes.append(f"{variable}: mean point coverage {np.mean(list(per_point.values())):.1%}")
    return notes


def national_rows(
    point_rows: pd.DataFrame, points: PointSet, *, vintage: Vintage, source: str
) -> tuple[pd.DataFrame, list[str]]:
    """Canonical FR rows, the weighted mean of the points present (renormalised, hours under
    the minimum weight share left out), and notes saying how many hours were re-weighted."""
    means = weighted_mean(point_rows, points)
    hours = point_rows["timestamp"].nunique()
    frames = [
        canonical(
            pd.DatetimeIndex(part["timestamp"]),
            part["value"].to_numpy(dtype=float),
            variable=str(variable),
            area="FR",
            vintage=int(vintage),
            source=source,
        )
        for variable, part in means.groupby("variable", sort=True)
    ]
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    return frame, share_notes(means, hours)
