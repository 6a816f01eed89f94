"""Open-Meteo connector: hourly weather for the big French cities and a population-weighted FR mean.

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
  calendar year (6 variables × 366 days × 15 cities ≈ 235 weighted calls per chunk) and every call
  goes through a process-wide sliding-window limiter (:class:`WeightedRateLimiter`).
* **FR**: per variable and hour, the mean over the cities that have a value, weighted by
  population and renormalised over those cities (a missing city does not drag the mean to 0).
* **previous-runs** (``previous-runs-api``, dataset ``weather_previous_runs``): the forecast
  *vintages*. ``<var>_previous_dayN`` at valid time ``t`` is "the value predicted N x 24 h before
  ``t``", i.e. issued at about ``t - N x 24 h`` (plus the model's publication delay). For a
  day-ahead origin at D-1 12:00 Paris, ``_previous_day1`` is issued *after* the origin for most of
  D (the value for D 23:00 was issued about D-1 23:00), so it is known at the origin only for
  the first hours after it; ``_previous_day2`` (issued about ``t - 48 h``, i.e. during D-2 for
  D) is known at the origin for every hour of D. Both leads are fetched and stored under the
  canonical names with the suffix kept (``temperature_2m_c_previous_day1``, ``…_day2``: the lead
  is the vintage); the feature builder picks, per hour, the shortest lead issued at least
  :data:`~edip_pipeline.features.weather.PREVIOUS_RUNS_LAG` before the origin (see
  :func:`~edip_pipeline.features.weather.previous_runs_hourly`). Archived since 2024-01 for
  most models (GFS ``temperature_2m`` since 2021): earlier years come back null.
* **Live vintages** (``forecast``, dataset ``weather_forecast_runs``): ``weather_forecast`` keeps
  the latest run only (each ingest overwrites it), so every ``forecast`` fetch also stores the
  run as vintages in the previous-runs format (:func:`forecast_vintages`): a value for ``t``
  fetched at ``I`` is stored as ``<var>_previous_dayN`` with ``N = floor((t − I) / 24 h)``
  (N in :data:`PREVIOUS_RUNS_LEADS`), i.e. it was known at least ``N x 24 h`` before ``t``;
  per (t, N) the latest run wins, and the row's ``source`` records its issue (fetch) time.
  Tomorrow's training thus reads today's forecast as it was known at each origin.

Data: Open-Meteo.com, CC BY 4.0 (attribution required; the free tier is non-commercial).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import numpy as np
import pandas as pd

from edip_pipeline.config import Settings, get_settings
from edip_pipeline.http import HttpClient, Response, SourceError, decode_json
from edip_pipeline.schema import COLUMNS, Vintage, empty_frame
from edip_pipeline.sources.base import Batch, Period, canonical, lenient_numbers

if TYPE_CHECKING:
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

ATTRIBUTION = "Weather data by Open-Meteo.com (CC BY 4.0)"
STREAM_ERROR_MARKER = b"Unexpected error while streaming data"


@dataclass(frozen=True)
class City:
    """A weather point: ``slug`` is the canonical ``area``; ``population`` is its weight."""

    slug: str
    name: str
    lat: float
    lon: float
    population: int


#: Big metropolitan cities spread over the 12 mainland regions (Corsica is outside RTE's national
#: perimeter). Coordinates: city centre. Weight basis: INSEE "aires d'attraction des villes 2020"
#: (AAV, zoning 2020, population municipale 2017; French part only for Lille and Strasbourg),
#: rounded to the thousand. Only the *relative* weights matter: a few % error on one city moves
#: the FR mean by hundredths of a degree.
CITIES: tuple[City, ...] = (
    City("paris", "Paris", 48.8566, 2.3522, 13_025_000),
    City("lyon", "Lyon", 45.7640, 4.8357, 2_281_000),
    City("marseille", "Marseille", 43.2965, 5.3698, 1_874_000),
    City("lille", "Lille", 50.6292, 3.0573, 1_510_000),
    City("toulouse", "Toulouse", 43.6047, 1.4442, 1_361_000),
    City("bordeaux", "Bordeaux", 44.8378, -0.5792, 1_248_000),
    City("nantes", "Nantes", 47.2184, -1.5536, 973_000),
    City("strasbourg", "Strasbourg", 48.5734, 7.7521, 790_000),
    City("montpellier", "Montpellier", 43.6108, 3.8767, 788_000),
    City("rennes", "Rennes", 48.1173, -1.6778, 733_000),
    City("rouen", "Rouen", 49.4432, 1.0999, 706_000),
    City("nice", "Nice", 43.7102, 7.2620, 624_000),
    City("tours", "Tours", 47.3941, 0.6848, 516_000),
    City("clermont-ferrand", "Clermont-Ferrand", 45.7772, 3.0870, 502_000),
    City("dijon", "Dijon", 47.3220, 5.0415, 386_000),
)

#: Open-Meteo hourly variable -> (canonical variable, unit the server must echo in hourly_units)
VARIABLES: dict[str, tuple[str, str]] = {
    "temperature_2m": ("temperature_2m_c", "°C"),
    "apparent_temperature": ("apparent_temperature_c", "°C"),
    "relative_humidity_2m": ("relative_humidity_2m_pct", "%"),
    "cloud_cover": ("cloud_cover_pct", "%"),
    "wind_speed_10m": ("wind_speed_10m_kmh", "km/h"),
    "shortwave_radiation": ("shortwave_radiation_wm2", "W/m²"),
}

#: leads fetched from previous-runs (``_previous_day1``, ``_previous_day2``), see the module doc
PREVIOUS_RUNS_LEADS: tuple[int, ...] = (1, 2)
#: previous-runs hourly variable -> (canonical variable with the lead suffix, unit)
PREVIOUS_RUNS_VARIABLES: dict[str, tuple[str, str]] = {
    f"{api}_previous_day{n}": (f"{canonical}_previous_day{n}", unit)
    for n in PREVIOUS_RUNS_LEADS
    for api, (canonical, unit) in VARIABLES.items()
}

FORECAST_DAYS = 3  # today + 2 days (GMT): always covers the next 48 h
MAX_PAST_DAYS = 92  # forecast API limit for past_days


@dataclass(frozen=True)
class _DatasetSpec:
    store_dataset: str
    url_setting: str
    vintage: Vintage
    chunked: bool  # start_date/end_date by calendar year (else past_days/forecast_days)
    variables: Mapping[str, tuple[str, str]] = field(default_factory=lambda: VARIABLES)


DATASETS: dict[str, _DatasetSpec] = {
    "archive": _DatasetSpec("weather_observed", "openmeteo_archive_url", Vintage.DEFINITIVE, True),
    "forecast": _DatasetSpec("weather_forecast", "openmeteo_forecast_url", Vintage.FORECAST, False),
    "historical-forecast": _DatasetSpec(
        "weather_historical_forecast",
        "openmeteo_historical_forecast_url",
        Vintage.FORECAST,
        True,
    ),
    "previous-runs": _DatasetSpec(
        "weather_previous_runs",
        "openmeteo_previous_runs_url",
        Vintage.FORECAST,
        True,
        PREVIOUS_RUNS_VARIABLES,
    ),
}


FORECAST_RUNS_DATASET = "weather_forecast_runs"


def forecast_vintages(frame: pd.DataFrame, issued: pd.Timestamp) -> pd.DataFrame:
    """A live forecast run as vintages: ``<var>_previous_dayN``, ``N = floor((t − issued) / 24 h)``.

    Only leads in :data:`PREVIOUS_RUNS_LEADS` are kept; ``source`` gets ``@<issue time>``.
    """
    if frame.empty:
        return empty_frame()
    lead = (frame["timestamp"] - issued) // pd.Timedelta(days=1)
    keep = lead.isin(list(PREVIOUS_RUNS_LEADS))
    out = frame[keep].copy()
    out["variable"] = out["variable"] + "_previous_day" + lead[keep].astype(int).astype(str)
    out["source"] = out["source"] + "@" + issued.strftime("%Y-%m-%dT%H:%MZ")
    return out.sort_values(["timestamp", "area", "variable"]).reset_index(drop=True)[COLUMNS]


def weighted_calls(n_vars: int, days: float, n_locations: int) -> float:
    """Open-Meteo's weighted call count: >10 variables or >2 weeks count as several calls."""
    return max(1.0, n_vars / 10 * max(1.0, days / 14)) * n_locations


class WeightedRateLimiter:
    """Sliding-window client-side limiter over weighted calls (600/min, 5 000/h, 10 000/day).

    Blocking before the call is cheaper than a 429, which Open-Meteo answers for a full minute.
    A single call heavier than a window's cap is let through once that window is empty.
    """

    def __init__(
        self,
        limits: Sequence[tuple[float, float]] = (
            (60.0, 600.0),
            (3600.0, 5000.0),
            (86400.0, 10000.0),
        ),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = tuple(limits)
        self._clock = clock
        self._sleep = sleep
        self._events: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def _wait_needed(self, now: float, weight: float) -> float:
        wait = 0.0
        for window, cap in self.limits:
            inside = [(t, w) for t, w in self._events if t > now - window]
            used = sum(w for _, w in inside)
            if not inside or used + weight <= cap:
                continue
            # wait until enough of the oldest calls leave the window
            for t, w in inside:
                used -= w
                if used + weight <= cap or used <= 0:
                    wait = max(wait, t + window - now)
                    break
        return wait

    def acquire(self, weight: float) -> None:
        """Block until ``weight`` more weighted calls fit in every window, then record them."""
        with self._lock:
            while True:
                now = self._clock()
                horizon = max(w for w, _ in self.limits)
                while self._events and self._events[0][0] <= now - horizon:
                    self._events.popleft()
                wait = self._wait_needed(now, weight)
                if wait <= 0:
                    self._events.append((now, weight))
                    return
                log.info("open-meteo: client-side rate limit, waiting %.1f s", wait)
                self._sleep(wait)


#: shared by every OpenMeteoSource of the process: the quota is per IP, not per instance
LIMITER = WeightedRateLimiter()


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


def parse_locations(
    payload: Any,
    *,
    dataset: str,
    url: str,
    cities: Sequence[City],
    vintage: Vintage,
    source: str,
    variables: Mapping[str, tuple[str, str]] = VARIABLES,
) -> pd.DataFrame:
    """Canonical per-city rows (non-null values only) from one Open-Meteo JSON payload."""
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
    if len(objects) != len(cities):
        raise SourceError(dataset, url, f"expected {len(cities)} locations, got {len(objects)}")
    frames: list[pd.DataFrame] = []
    seen: set[int] = set()
    for obj in objects:
        if not isinstance(obj, dict):
            raise SourceError(dataset, url, "location entry is not a JSON object")
        loc = obj.get("location_id", 0)
        if (
            isinstance(loc, bool)
            or not isinstance(loc, int)
            or not 0 <= loc < len(cities)
            or loc in seen
        ):
            raise SourceError(dataset, url, f"unexpected location_id {loc!r}")
        seen.add(loc)
        city = cities[loc]
        if obj.get("utc_offset_seconds") != 0:
            raise SourceError(
                dataset,
                url,
                f"utc_offset_seconds is {obj.get('utc_offset_seconds')!r}, expected 0 (GMT)",
            )
        hourly = obj.get("hourly")
        units = obj.get("hourly_units") or {}
        if not isinstance(hourly, dict) or not isinstance(units, dict):
            raise SourceError(dataset, url, f"{city.slug}: 'hourly' section missing")
        times = _parse_times(hourly, units.get("time"), dataset, url)
        for api_var, (variable, unit) in variables.items():
            raw = hourly.get(api_var)
            if not isinstance(raw, list) or len(raw) != len(times):
                raise SourceError(
                    dataset, url, f"{city.slug}: hourly.{api_var} missing or not {len(times)} long"
                )
            if api_var in units and units[api_var] != unit:
                raise SourceError(
                    dataset, url, f"{api_var} in {units[api_var]!r}, expected {unit!r}"
                )
            values = lenient_numbers(raw)
            keep = ~np.isnan(values)
            if keep.any():
                frames.append(
                    canonical(
                        times[keep],
                        values[keep],
                        variable=variable,
                        area=city.slug,
                        vintage=int(vintage),
                        source=source,
                    )
                )
    return pd.concat(frames, ignore_index=True) if frames else empty_frame()


def national_mean(
    city_rows: pd.DataFrame, cities: Sequence[City], *, vintage: Vintage, source: str
) -> pd.DataFrame:
    """Population-weighted FR mean per (variable, hour), renormalised over cities with a value."""
    weights = {c.slug: float(c.population) for c in cities}
    rows = city_rows[city_rows["area"].isin(list(weights)) & city_rows["value"].notna()]
    if rows.empty:
        return empty_frame()
    w = rows["area"].map(weights).astype(float)
    tmp = pd.DataFrame(
        {
            "timestamp": rows["timestamp"],
            "variable": rows["variable"],
            "wv": rows["value"] * w,
            "w": w,
        }
    )
    sums = tmp.groupby(["variable", "timestamp"], sort=True)[["wv", "w"]].sum()
    sums = sums[sums["w"] > 0]
    frames = [
        canonical(
            pd.DatetimeIndex(part.index.get_level_values("timestamp")),
            (part["wv"] / part["w"]).to_numpy(),
            variable=str(variable),
            area="FR",
            vintage=int(vintage),
            source=source,
        )
        for variable, part in sums.groupby(level="variable", sort=True)
    ]
    return pd.concat(frames, ignore_index=True) if frames else empty_frame()


def coverage_notes(
    frame: pd.DataFrame,
    cities: Sequence[City],
    variables: Mapping[str, tuple[str, str]] = VARIABLES,
) -> list[str]:
    """Per variable: cities with no value at all (warned), low coverage, and the mean coverage.

    Coverage is the share of the batch's hours with a value for that city; an all-null city
    (a grid cell the model does not cover, a wrong coordinate) would otherwise pass unnoticed
    because the FR mean renormalises over the cities present.
    """
    hours = frame["timestamp"].nunique()
    if not hours:
        return ["no hourly value in the response"]
    counts = frame[frame["area"] != "FR"].groupby(["variable", "area"]).size()
    notes = []
    for variable, _unit in variables.values():
        per_city = {c.slug: counts.get((variable, c.slug), 0) / hours for c in cities}
        dead = [slug for slug, share in per_city.items() if share == 0]
        low = [f"{slug} {share:.0%}" for slug, share in per_city.items() if 0 < share < 0.9]
        if dead:
            log.warning("open-meteo: %s all-null at %s", variable, ", ".join(dead))
            notes.append(f"{variable}: no value at {len(dead)} city(ies): {', '.join(dead)}")
        if low:
            notes.append(f"{variable}: low coverage at {', '.join(low)}")
        notes.append(f"{variable}: mean city coverage {np.mean(list(per_city.values())):.1%}")
    return notes


def _year_chunks(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    out: list[tuple[dt.date, dt.date]] = []
    cur = first
    while cur <= last:
        end = min(last, dt.date(cur.year, 12, 31))
        out.append((cur, end))
        cur = end + dt.timedelta(days=1)
    return out


class OpenMeteoSource:
    """Open-Meteo archive, forecast, historical-forecast and previous-runs for :data:`CITIES`."""

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
        cities: Sequence[City] = CITIES,
        limiter: WeightedRateLimiter | None = None,
        clock: Callable[[], pd.Timestamp] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.client = client or HttpClient(self.settings)
        if not cities:
            raise ValueError("at least one city is needed")
        self.cities = tuple(cities)
        self.limiter = limiter or LIMITER
        self._clock = clock or (lambda: pd.Timestamp.now(tz="UTC"))

    def target_datasets(self, dataset: str) -> list[str]:
        extra = [FORECAST_RUNS_DATASET] if dataset == "forecast" else []
        return [self._spec(dataset).store_dataset, *extra]

    def _spec(self, dataset: str) -> _DatasetSpec:
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
            "latitude": ",".join(str(c.lat) for c in self.cities),
            "longitude": ",".join(str(c.lon) for c in self.cities),
            "hourly": ",".join(variables),
            "timezone": "GMT",
        }

    def requests(self, dataset: str, period: Period) -> list[tuple[dict[str, str], float]]:
        """Query parameters and weighted cost of each call needed for ``period``."""
        spec = self._spec(dataset)
        today = self._clock().tz_convert("UTC").date()
        first = period.start.tz_convert("UTC").date()
        last = (period.end - pd.Timedelta(1, "ns")).tz_convert("UTC").date()
        n_loc, n_vars = len(self.cities), len(spec.variables)
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
        """Download, keep raw bodies, and return per-city and FR rows inside ``period``.

        ``forecast`` ignores ``period.end``: it returns the current run to the end of day+2 (GMT),
        from ``period.start`` (at most 92 days back), and the same run as vintages for
        ``weather_forecast_runs`` (:func:`forecast_vintages`, issued at the fetch time).
        """
        issued = self._clock().tz_convert("UTC").floor("min")
        spec = self._spec(dataset)
        url = str(getattr(self.settings, spec.url_setting))
        source = f"{self.name}:{dataset}"
        frames: list[pd.DataFrame] = []
        for params, weight in self.requests(dataset, period):
            self.limiter.acquire(weight)
            resp = self._get(url, dataset, params)
            store.save_raw(self.name, dataset, resp.content, "json")
            if STREAM_ERROR_MARKER in resp.content:
                tail = resp.content[resp.content.find(STREAM_ERROR_MARKER) :][:300]
                raise SourceError(dataset, resp.url, tail.decode("utf-8", errors="replace"))
            payload = decode_json(resp, dataset)
            cities = parse_locations(
                payload,
                dataset=dataset,
                url=resp.url,
                cities=self.cities,
                vintage=spec.vintage,
                source=source,
                variables=spec.variables,
            )
            fr = national_mean(cities, self.cities, vintage=spec.vintage, source=source)
            frames += [f for f in (cities, fr) if not f.empty]
        frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
        keep = frame["timestamp"] >= period.start
        if spec.chunked:
            keep &= frame["timestamp"] < period.end
        frame = frame[keep].drop_duplicates(["timestamp", "area", "variable"], keep="last")
        frame = frame.sort_values(["timestamp", "area", "variable"]).reset_index(drop=True)[COLUMNS]
        log.info("%s: %d rows for %s → %s", source, len(frame), period.start, period.end)
        notes = [ATTRIBUTION, *coverage_notes(frame, self.cities, spec.variables)]
        batches = [Batch(spec.store_dataset, frame, notes)]
        if dataset == "forecast":
            runs = forecast_vintages(frame, issued)
            batches.append(
                Batch(FORECAST_RUNS_DATASET, runs, [ATTRIBUTION, f"run issued {issued}"])
            )
        return batches
