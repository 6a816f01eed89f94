"""Météo-France SYNOP observations → an hourly national (FR) temperature, cloudiness and wind.

Source (Licence Ouverte): one file a month, all WMO stations, every 3 h, since 1996::

    {EDIP_METEOFRANCE_BASE_URL}/synop.YYYYMM.csv.gz
    default https://donneespubliques.meteofrance.fr/donnees_libres/Txt/Synop/Archive

``;``-separated with a trailing ``;``, ``mq`` = missing, ``numer_sta`` the WMO id, ``date``
``YYYYmmddHHMMSS`` in UTC, ``t`` air temperature in kelvin, ``n`` total cloudiness in %, ``ff`` mean
10-min wind at 10 m in m/s.

How the national series is made (all documented choices):

1. **Stations**: the weather points of ``EDIP_WEATHER_POINTS`` when every point is a SYNOP station
   (a ``wmo`` column: the ``rte35`` preset, or RTE's development-only weights file), else the 36
   mainland stations of :data:`STATIONS` (Corsica is outside RTE's continental perimeter; exposed
   capes and islands are left out: they are not where people live). Stations absent from the
   public SYNOP files (a dozen of the ``rte35`` ones) read the nearest station that reports
   (:func:`~edip_pipeline.sources.synop_stations.stand_ins`; notes name them). Values outside physical bounds
   (:data:`BOUNDS`) count as missing.
2. **3-hourly → hourly, per station**: linear in time between two observations at most
   :data:`MAX_GAP` apart (one missing 3-hourly report is bridged); hours in a longer gap stay
   missing for that station. Linear interpolation slightly smooths the afternoon maximum; the
   daily cycle is otherwise kept, which a daily mean spread over the hours is not.
3. **Weights**: each station stands for the départements around it; its weight is their
   population (:class:`Station`). Electric heating follows people, so population is the first-order
   weight.
4. **Gaps** (the anomaly method): a missing station value at an hour is replaced by that
   station's mean over the calendar month plus the weighted mean anomaly (value − own monthly
   mean) of the stations present at that hour, so losing a cold or a heavy station does not shift
   the national mean; an hour where stations holding less than :data:`MIN_WEIGHT_SHARE` of the
   weight report is left out (the store flags the hole). A station without any value in the
   month drops out and the weights are renormalised over the others.
   Coverage is reported per station and variable (:func:`coverage_notes`).

The national rows go to ``weather_observed`` (area ``FR``, the variable names Open-Meteo uses), so
the feature builder reads them as observed weather, an oracle when used for target times. Station
rows are not stored in the canonical layer: the raw monthly files under ``data/raw`` hold them.
If Open-Meteo's archive is imported too, the latest import of an hour wins (same vintage).
"""

from __future__ import annotations

import gzip
import io
import logging
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from edip_pipeline.config import Settings, get_settings
from edip_pipeline.http import HttpClient, SourceError
from edip_pipeline.schema import COLUMNS, Vintage, empty_frame
from edip_pipeline.sources.base import Batch, Period, canonical
from edip_pipeline.sources.synop_stations import POSITIONS, STATIONS, Station, stand_ins
from edip_pipeline.weather_points import PointSet, load_points

if TYPE_CHECKING:
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

ATTRIBUTION = "Observations: Météo-France SYNOP (Licence Ouverte / Etalab 2.0)"
DATASET = "synop"
STORE_DATASET = "weather_observed"
SOURCE = "meteofrance:synop"
AREA = "FR"
HOUR = pd.Timedelta(hours=1)
#: longest time between two observations that is interpolated across (one missing report)
MAX_GAP = pd.Timedelta(hours=6)
#: an hour needs stations holding at least this share of the weight for a national value
MIN_WEIGHT_SHARE = 0.5
#: a station with less than this share of its 3-hourly reports is named in the coverage notes
LOW_COVERAGE = 0.9
REPORTS_PER_DAY = 8


@dataclass(frozen=True)
class Variable:
    """A SYNOP column and how it becomes a canonical variable."""

    column: str
    name: str
    scale: float
    offset: float
    low: float
    high: float


#: SYNOP column → canonical variable (value × scale + offset), with physical bounds after conversion
VARIABLES: tuple[Variable, ...] = (
    Variable("t", "temperature_2m_c", 1.0, -273.15, -40.0, 50.0),
    Variable("n", "cloud_cover_pct", 1.0, 0.0, 0.0, 100.0),
    Variable("ff", "wind_speed_10m_kmh", 3.6, 0.0, 0.0, 250.0),
)
BOUNDS = {v.name: (v.low, v.high) for v in VARIABLES}


def stations_for(points: PointSet) -> tuple[tuple[Station, ...], str]:
    """The points' stations when each is a SYNOP station, else :data:`STATIONS`; and a note."""
    weights = points.stations()
    if weights is None:
        return STATIONS, f"stations: the {len(STATIONS)} built-in ones ({points.ident} names none)"
    names = {str(p.wmo): p.name for p in points.points}
    where = {str(p.wmo): (p.lat, p.lon) for p in points.points}
    stations = tuple(Station(wmo, names[wmo], w, position=where[wmo]) for wmo, w in weights.items())
    return stations, f"stations: weather points {points.ident} ({len(stations)} stations)"


def month_url(base_url: str, month: pd.Period) -> str:
    return f"{base_url.rstrip('/')}/synop.{month.year:04d}{month.month:02d}.csv.gz"


def months_for(period: Period) -> list[pd.Period]:
    """Monthly files needed for ``period``: one report on each side for the interpolation."""
    first = (period.start - MAX_GAP / 2).tz_convert("UTC").tz_localize(None).to_period("M")
    last = (period.end + MAX_GAP / 2).tz_convert("UTC").tz_localize(None).to_period("M")
    return list(pd.period_range(first, last, freq="M"))


def read_synop(content: bytes, *, where: str = "synop") -> pd.DataFrame:
    """Observations ``station, timestamp, <variable>...`` from one SYNOP file (gz or not).

    One row per report, one column per canonical variable (NaN when missing or out of bounds).
    Raises :class:`SourceError` when the file is not in the SYNOP format.
    """
    if content[:2] == b"\x1f\x8b":
        try:
            content = gzip.decompress(content)
        except (OSError, EOFError) as exc:
            raise SourceError(DATASET, where, f"truncated or corrupt gzip: {exc}") from exc
    header = content.split(b"\n", 1)[0].decode("latin-1").strip().split(";")
    wanted = ["numer_sta", "date", *(v.column for v in VARIABLES)]
    missing = [c for c in wanted if c not in header]
    if missing:
        raise SourceError(DATASET, where, f"not a SYNOP file: columns {missing} missing")
    raw = pd.read_csv(
        io.BytesIO(content),
        sep=";",
        usecols=wanted,
        index_col=False,  # the trailing ';' must not turn the first column into an index
        dtype={"numer_sta": "str", "date": "int64"},
        na_values=["mq"],
        keep_default_na=False,
        encoding="latin-1",
    )
    out = pd.DataFrame(
        {
            "station": raw["numer_sta"].astype(str).str.strip().astype("category"),
            "timestamp": pd.to_datetime(
                raw["date"].astype(str), format="%Y%m%d%H%M%S", utc=True, errors="coerce"
            ),
        }
    )
    for var in VARIABLES:
        value = pd.to_numeric(raw[var.column], errors="coerce").astype(float)
        value = value * var.scale + var.offset
        out[var.name] = value.where(value.between(var.low, var.high))
    return out.dropna(subset=["timestamp"]).reset_index(drop=True)


def to_hourly(times: pd.DatetimeIndex, values: np.ndarray, grid: pd.DatetimeIndex) -> np.ndarray:
    """Linear interpolation of one station's observations on an hourly grid (see module doc)."""
    out = np.full(len(grid), np.nan)
    ok = ~np.isnan(values)
    t, v = pd.DatetimeIndex(times).as_unit("ns").asi8[ok], values[ok]
    if not len(t):
        return out
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    g = pd.DatetimeIndex(grid).as_unit("ns").asi8
    right = np.searchsorted(t, g, side="left")
    exact = (right < len(t)) & (t[np.minimum(right, len(t) - 1)] == g)
    inside = (right > 0) & (right < len(t))
    ri = np.minimum(right, len(t) - 1)
    li = np.maximum(right - 1, 0)
    span = t[ri] - t[li]
    bridge = inside & ~exact & (span <= MAX_GAP.value)
    frac = np.where(span > 0, (g - t[li]) / np.where(span > 0, span, 1), 0.0)
    out[bridge] = (v[li] + frac * (v[ri] - v[li]))[bridge]
    out[exact] = v[ri][exact]
    return out


def national(hourly: pd.DataFrame, weights: pd.Series) -> pd.Series:
    """Weighted national mean of ``hourly`` (hours × stations) with gap filling (module doc, 4)."""
    w = weights.reindex(hourly.columns).fillna(0.0).to_numpy()
    x = hourly.to_numpy(dtype=float)
    present = ~np.isnan(x)
    share = (present * w).sum(axis=1) / w.sum()
    months = pd.DatetimeIndex(hourly.index).tz_convert("UTC").tz_localize(None).to_period("M")
    normal = hourly.groupby(months).transform("mean").to_numpy()  # station's monthly mean
    with np.errstate(invalid="ignore", divide="ignore"):
        anomaly = np.nansum(np.where(present, x - normal, 0.0) * w, axis=1) / (present * w).sum(
            axis=1
        )
        filled = np.where(present, x, normal + anomaly[:, None])
        usable = ~np.isnan(filled)
        value = np.nansum(np.where(usable, filled, 0.0) * w, axis=1) / (usable * w).sum(axis=1)
    value[share < MIN_WEIGHT_SHARE] = np.nan
    return pd.Series(value, index=hourly.index)


def coverage(obs: pd.DataFrame, period: Period, stations: Sequence[Station]) -> pd.DataFrame:
    """Share of the expected 3-hourly reports with a valid value, per station × variable."""
    inside = obs[(obs["timestamp"] >= period.start) & (obs["timestamp"] < period.end)]
    expected = max(1.0, (period.end - period.start) / pd.Timedelta(hours=24 / REPORTS_PER_DAY))
    names = [v.name for v in VARIABLES]
    counts = inside[names].notna().groupby(inside["station"].astype(str)).sum()
    table = counts.reindex(index=[s.wmo for s in stations], columns=names)
    return (table.fillna(0.0) / expected).clip(upper=1.0)


def coverage_notes(table: pd.DataFrame, stations: Sequence[Station]) -> list[str]:
    """Human-readable coverage: all-null stations (warned) and stations under :data:`LOW_COVERAGE`."""
    names = {s.wmo: s.name for s in stations}
    notes = []
    for variable in table.columns:
        col = table[variable]
        dead = [f"{wmo} {names[str(wmo)]}" for wmo in col.index[col == 0]]
        low = [
            f"{wmo} {names[str(wmo)]} {share:.0%}"
            for wmo, share in col.items()
            if 0 < share < LOW_COVERAGE
        ]
        if dead:
            log.warning("meteofrance: %s all-null at %s", variable, ", ".join(dead))
            notes.append(f"{variable}: no value at {len(dead)} station(s): {', '.join(dead)}")
        if low:
            notes.append(f"{variable}: low coverage at {', '.join(low)}")
        notes.append(f"{variable}: mean station coverage {col.mean():.1%}")
    return notes


def combine(
    obs: pd.DataFrame, period: Period, stations: Sequence[Station] | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Canonical national hourly rows inside ``period`` and the coverage notes."""
    stations = STATIONS if stations is None else stations
    wmo = [s.wmo for s in stations]
    weights = pd.Series({s.wmo: float(s.population_k) for s in stations})
    obs = obs[obs["station"].astype(str).isin(set(wmo) | set(POSITIONS))]
    notes = coverage_notes(coverage(obs, period, stations), stations)
    grid = pd.date_range(period.start.ceil(HOUR), period.end - pd.Timedelta(1, "ns"), freq=HOUR)
    grid = grid.as_unit("ns")
    by_station = {
        str(k): rows
        for k, rows in obs.groupby(obs["station"].astype(str), observed=True)
        if rows[VARIABLES[0].name].notna().any()
    }
    substitutes, more = stand_ins(tuple(stations), set(by_station))
    by_station |= {absent: by_station[near] for absent, near in substitutes.items()}
    notes += more
    frames = []
    for variable in sorted(v.name for v in VARIABLES):
        cols = {}
        for station, rows in by_station.items():
            times = pd.DatetimeIndex(rows["timestamp"])
            cols[station] = to_hourly(times, rows[variable].to_numpy(dtype=float), grid)
        hourly = pd.DataFrame(cols, index=grid).reindex(columns=wmo)
        series = national(hourly, weights).dropna()
        lost = len(grid) - len(series)
        if lost:
            notes.append(f"{variable}: {lost} of {len(grid)} FR hours without enough stations")
        frames.append(
            canonical(
                pd.DatetimeIndex(series.index),
                series.to_numpy(),
                variable=str(variable),
                area=AREA,
                vintage=int(Vintage.DEFINITIVE),
                source=SOURCE,
            )
        )
    frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
    return frame.sort_values(["timestamp", "variable"]).reset_index(drop=True)[COLUMNS], notes


def synop_files(path: Path) -> list[Path]:
    """``path`` itself, or the ``synop.*.csv[.gz]`` files of a directory in month order."""
    if path.is_dir():
        files = sorted(p for p in path.glob("synop.*.csv*") if p.is_file())
        if not files:
            raise ValueError(f"no synop.YYYYMM.csv.gz file in {path}")
        return files
    return [path]


def parse_file(dataset: str, path: Path) -> list[Batch]:
    """Import downloaded monthly files (one file or a directory of them) as one national series."""
    if dataset != DATASET:
        raise ValueError(f"meteofrance has one dataset, {DATASET!r}, not {dataset!r}")
    stations, which = stations_for(load_points(get_settings().weather_points))
    wmo = {s.wmo for s in stations} | set(POSITIONS)  # the others may stand in (stand_ins)

    def one(file: Path) -> pd.DataFrame:
        obs = read_synop(file.read_bytes(), where=str(file))
        return obs[obs["station"].astype(str).isin(wmo)]

    # gunzip and the C CSV parser release the GIL: two threads read two months at a time
    with ThreadPoolExecutor(max_workers=2) as pool:
        obs = pd.concat(list(pool.map(one, synop_files(path))), ignore_index=True)
    if obs.empty:
        raise ValueError(f"{path}: no observation rows")
    start = obs["timestamp"].min().floor(HOUR)
    end = obs["timestamp"].max() + HOUR
    frame, notes = combine(obs, Period(start, end), stations)
    return [Batch(STORE_DATASET, frame, [ATTRIBUTION, which, *notes])]


class MeteoFranceSource:
    """Monthly SYNOP archive files → national hourly ``weather_observed`` rows."""

    name: ClassVar[str] = "meteofrance"
    datasets: ClassVar[tuple[str, ...]] = (DATASET,)
    revision_family: ClassVar[dict[str, str]] = {DATASET: "weather"}

    def __init__(
        self,
        settings: Settings | None = None,
        client: HttpClient | None = None,
        *,
        stations: Iterable[Station] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.client = client or HttpClient(self.settings)
        if stations is None:
            self.stations, self.which = stations_for(load_points(self.settings.weather_points))
        else:
            self.stations, self.which = tuple(stations), "stations: given"
        if not self.stations:
            raise ValueError("at least one station is needed")

    def target_datasets(self, dataset: str) -> list[str]:
        return [STORE_DATASET]

    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        """Download the months around ``period``, keep each file raw, return national rows."""
        if dataset != DATASET:
            raise SourceError(dataset, self.settings.meteofrance_base_url, "unknown dataset")
        now = pd.Timestamp.now(tz="UTC").tz_localize(None).to_period("M")
        frames = []
        for month in months_for(period):
            if month > now:
                continue  # not published yet
            url = month_url(self.settings.meteofrance_base_url, month)
            resp = self.client.get(url, dataset=dataset)
            store.save_raw(self.name, dataset, resp.content, "csv.gz")
            frames.append(read_synop(resp.content, where=resp.url))
        obs = pd.concat(frames, ignore_index=True) if frames else None
        if obs is None or obs.empty:
            return [Batch(STORE_DATASET, empty_frame(), [ATTRIBUTION, "no SYNOP rows"])]
        frame, notes = combine(obs, period, self.stations)
        log.info("%s: %d FR rows for %s → %s", SOURCE, len(frame), period.start, period.end)
        for note in notes:
            log.info("meteofrance: %s", note)
        return [Batch(STORE_DATASET, frame, [ATTRIBUTION, self.which, *notes])]
