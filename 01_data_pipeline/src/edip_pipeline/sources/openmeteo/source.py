"""The Open-Meteo connector: one multi-location call per chunk (calendar years for archive,
historical-forecast and previous-runs; ``past_days``/``forecast_days`` for the live forecast),
always in GMT, each call through the weighted rate limiter; raw bodies kept before parsing."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, ClassVar, NoReturn

import pandas as pd

from edip_pipeline.config import Settings, get_settings
from edip_pipeline.http import HttpClient, Response, SourceError, decode_json
from edip_pipeline.schema import COLUMNS, empty_frame
from edip_pipeline.sources.base import Batch, Period
from edip_pipeline.sources.openmeteo.datasets import (
    ATTRIBUTION,
    DATASETS,
    FORECAST_DAYS,
    FORECAST_RUNS_DATASET,
    MAX_PAST_DAYS,
    VARIABLES,
    DatasetSpec,
)
from edip_pipeline.sources.openmeteo.parsing import coverage_notes, national_rows, parse_locations
from edip_pipeline.sources.openmeteo.ratelimit import LIMITER, WeightedRateLimiter, weighted_calls
from edip_pipeline.sources.openmeteo.vintages import forecast_vintages
from edip_pipeline.weather_points import PointSet, load_points

if TYPE_CHECKING:
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

STREAM_ERROR_MARKER = b"Unexpected error while streaming data"


def _http_error_reason(exc: SourceError) -> NoReturn:
    """Re-raise an HTTP error with Open-Meteo's ``{"error": true, "reason": ...}`` reason."""
    match = re.match(r"HTTP (\d+): (.*)", exc.reason, re.S)
    if match:
        try:
            body = json.loads(match.group(2))
        except json.JSONDecodeError:
            body = None
        if isinstance(body, dict) and body.get("reason"):
            raise SourceError(
                exc.dataset, exc.url, f"HTTP {match.group(1)}: {body['reason']}"
            ) from exc
    raise exc


def _year_chunks(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    out: list[tuple[dt.date, dt.date]] = []
    cur = first
    while cur <= last:
        end = min(last, dt.date(cur.year, 12, 31))
        out.append((cur, end))
        cur = end + dt.timedelta(days=1)
    return out


class OpenMeteoSource:
    """Open-Meteo archive, forecast, historical-forecast and previous-runs at the weather points
    (``EDIP_WEATHER_POINTS``, :mod:`edip_pipeline.weather_points`)."""

    name: ClassVar[str] = "openmeteo"
    datasets: ClassVar[tuple[str, ...]] = (
        "archive",
        "forecast",
        "historical-forecast",
        "previous-runs",
    )
    revision_family: ClassVar[dict[str, str]] = dict.fromkeys(datasets, "weather")

    def __init__(
        self,
        settings: Settings | None = None,
        client: HttpClient | None = None,
        *,
        points: PointSet | None = None,
        limiter: WeightedRateLimiter | None = None,
        clock: Callable[[], pd.Timestamp] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.client = client or HttpClient(self.settings)
        self.points = points or load_points(self.settings.weather_points)
        self.limiter = limiter or LIMITER
        self._clock = clock or (lambda: pd.Timestamp.now(tz="UTC"))

    def target_datasets(self, dataset: str) -> list[str]:
        extra = [FORECAST_RUNS_DATASET] if dataset == "forecast" else []
        return [self._spec(dataset).store_dataset, *extra]

    def _spec(self, dataset: str) -> DatasetSpec:
        try:
            return DATASETS[dataset]
        except KeyError:
            raise SourceError(
                dataset,
                self.settings.openmeteo_archive_url,
                f"unknown dataset; known: {list(DATASETS)}",
            ) from None

    def _base_params(self, variables: Mapping[str, tuple[str, str]] = VARIABLES) -> dict[str, str]:
        return {
            "latitude": ",".join(str(p.lat) for p in self.points.points),
            "longitude": ",".join(str(p.lon) for p in self.points.points),
            "hourly": ",".join(variables),
            "timezone": "GMT",
        }

    def requests(self, dataset: str, period: Period) -> list[tuple[dict[str, str], float]]:
        """Query parameters and weighted cost of each call needed for ``period``."""
        spec = self._spec(dataset)
        today = self._clock().tz_convert("UTC").date()
        first = period.start.tz_convert("UTC").date()
        last = (period.end - pd.Timedelta(1, "ns")).tz_convert("UTC").date()
        n_loc, n_vars = len(self.points.points), len(spec.variables)
        out: list[tuple[dict[str, str], float]] = []
        if not spec.chunked:
            past = (today - first).days
            if past > MAX_PAST_DAYS:
                log.info(
                    "%s: forecast reaches back %d days only, not to %s",
                    dataset,
                    MAX_PAST_DAYS,
                    first,
                )
            past = min(max(past, 0), MAX_PAST_DAYS)
            params = {
                **self._base_params(),
                "past_days": str(past),
                "forecast_days": str(FORECAST_DAYS),
            }
            return [(params, weighted_calls(n_vars, past + FORECAST_DAYS, n_loc))]
        if dataset == "archive" and last > today:
            last = today  # the archive refuses future end dates
        for a, b in _year_chunks(first, last):
            params = {
                **self._base_params(spec.variables),
                "start_date": a.isoformat(),
                "end_date": b.isoformat(),
            }
            out.append((params, weighted_calls(n_vars, (b - a).days + 1, n_loc)))
        return out

    def _get(self, url: str, dataset: str, params: Mapping[str, str]) -> Response:
        try:
            return self.client.get(url, dataset=dataset, params=params)
        except SourceError as exc:
            _http_error_reason(exc)

    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        """Download, keep raw bodies, and return per-point and FR rows inside ``period``.

        ``forecast`` ignores ``period.end``: it returns the current run to the end of day+2 (GMT),
        from ``period.start`` (at most 92 days back), and the same run as vintages for
        ``weather_forecast_runs`` (:func:`forecast_vintages`, issued at the fetch time).
        """
        issued = self._clock().tz_convert("UTC").floor("min")
        spec = self._spec(dataset)
        url = str(getattr(self.settings, spec.url_setting))
        source = f"{self.name}:{dataset}"
        frames: list[pd.DataFrame] = []
        points_notes: list[str] = []
        for params, weight in self.requests(dataset, period):
            self.limiter.acquire(weight)
            resp = self._get(url, dataset, params)
            store.save_raw(self.name, dataset, resp.content, "json")
            if STREAM_ERROR_MARKER in resp.content:
                tail = resp.content[resp.content.find(STREAM_ERROR_MARKER) :][:300]
                raise SourceError(dataset, resp.url, tail.decode("utf-8", errors="replace"))
            payload = decode_json(resp, dataset)
            rows = parse_locations(
                payload,
                dataset=dataset,
                url=resp.url,
                points=self.points.points,
                vintage=spec.vintage,
                source=source,
                variables=spec.variables,
            )
            fr, notes = national_rows(rows, self.points, vintage=spec.vintage, source=source)
            frames += [f for f in (rows, fr) if not f.empty]
            points_notes += notes
        frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
        keep = frame["timestamp"] >= period.start
        if spec.chunked:
            keep &= frame["timestamp"] < period.end
        frame = frame[keep].drop_duplicates(["timestamp", "area", "variable"], keep="last")
        frame = frame.sort_values(["timestamp", "area", "variable"]).reset_index(drop=True)[COLUMNS]
        log.info("%s: %d rows for %s → %s", source, len(frame), period.start, period.end)
        notes = [
            ATTRIBUTION,
            f"weather points {self.points.ident} ({len(self.points.points)} points)",
            *coverage_notes(frame, self.points.points, spec.variables),
            *points_notes,
        ]
        batches = [Batch(spec.store_dataset, frame, notes)]
        if dataset == "forecast":
            runs = forecast_vintages(frame, issued)
            batches.append(
                Batch(FORECAST_RUNS_DATASET, runs, [ATTRIBUTION, f"run issued {issued}"])
            )
        return batches
