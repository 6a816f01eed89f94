"""ODRÉ connector (Opendatasoft Explore v2.1): éCO2mix load, gross consumption, daily temperatures.

Datasets (ODRÉ id → canonical store dataset)
--------------------------------------------
* ``eco2mix-national-tr`` / ``eco2mix-national-cons-def`` → ``load_national`` (``consumption_mw``,
  ``forecast_d1_mw``, ``forecast_d_mw``; only :00/:30 rows, since the canonical step is 30 min).
* ``eco2mix-regional-tr`` / ``eco2mix-regional-cons-def`` → ``load_regional`` (area = INSEE code).
* ``consommation-quotidienne-brute`` → ``load_national`` (``consumption_mw``, vintage from
  ``statut_rte``).
* ``temperature-quotidienne-regionale`` → ``temperature_daily`` (``tmin_c``/``tmax_c``/``tmean_c``
  per region, plus area ``FR``: the population-weighted mean of the regions present that day).

Transport: periods up to :attr:`OdreSource.RECORDS_MAX_PERIOD` go through paginated ``/records``
(cheap incremental pulls), longer ones through ``/exports/json`` one Paris month per call (exports
have no 10 000-row cap and cost one call of the 50 000/month/dataset quota each). Every response
body is kept in the raw layer before it is parsed.

Time: ``date_heure`` (ISO 8601 with offset) is the only time key. The local ``date``/``heure``
labels are used solely to *detect* clock-change phantoms: ODRÉ writes 48 half-hours (96 quarter
hours) on every local day, so on spring-forward days the rows labelled 02:00/02:30 (a wall-clock
time that never existed) carry the same ``date_heure`` as the real 03:00/03:30 rows with values
copied from neighbours. A row whose label differs from the Paris wall clock of its ``date_heure`` is
dropped. On fall-back days the 02:xx labels appear once, at their second (CET) pass, so the first
pass (00:00/00:30 UTC) is simply absent: the store's cleaner fills that 1-h hole and flags it.
The real ``consommation-quotidienne-brute`` export (2012–2020) shows exactly this on every spring
and autumn day. Converting the local labels with ``cleaning.paris_wallclock_to_utc`` instead would
put autumn's single 02:xx at its first (CEST) pass, one hour early, hence the label *check* only.
Any remaining duplicate instant keeps the highest vintage; if its values still disagree (the 2012–
2020 export has one such stamp) it is dropped and left to the cleaner. Rows with ``flag_ignore``
set ("oui") are skipped.

Files downloaded by hand (``edip ingest --from-file``) go through :func:`parse_file`, which feeds
the same :func:`parse_records` as the API path.
"""

from __future__ import annotations

import gzip
import itertools
import json
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.config import Settings, get_settings
from edip_pipeline.http import HttpClient, SourceError, decode_json
from edip_pipeline.schema import COLUMNS, KEY, Vintage, empty_frame
from edip_pipeline.sources.base import Batch, Period, canonical
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

SOURCE_NAME = "odre"
ATTRIBUTION = "ODRÉ / RTE éCO2mix, Licence Ouverte / Etalab 2.0"

#: INSEE legal populations 2021 ("population municipale", in force on 1 January 2024) of the 13
#: mainland regions, by INSEE region code. Weights of the national temperature: heating and cooling
#: demand follow where people live, not the land area.
REGION_POPULATION: dict[str, int] = {
    "11": 12_317_279,  # Île-de-France
    "24": 2_573_295,  # Centre-Val de Loire
    "27": 2_800_194,  # Bourgogne-Franche-Comté
    "28": 3_327_077,  # Normandie
    "32": 5_997_734,  # Hauts-de-France
    "44": 5_561_287,  # Grand Est
    "52": 3_873_096,  # Pays de la Loire
    "53": 3_394_567,  # Bretagne
    "75": 6_033_952,  # Nouvelle-Aquitaine
    "76": 6_022_176,  # Occitanie
    "84": 8_114_361,  # Auvergne-Rhône-Alpes
    "93": 5_131_187,  # Provence-Alpes-Côte d'Azur
    "94": 347_597,  # Corse
}

Kind = Literal["national", "regional", "cqb", "temperature"]


class OdreFormatError(SourceError, ValueError):
    """A payload or file not in the expected ODRÉ format.

    Both a :class:`SourceError` (the message names dataset and URL or file) and a
    :class:`ValueError`, so callers catching either see it.
    """


@dataclass(frozen=True)
class OdreDataset:
    """How one ODRÉ dataset maps onto the canonical store."""

    id: str
    kind: Kind
    target: str
    family: str
    #: real-time datasets are REALTIME whatever ``nature`` says
    realtime: bool = False
    #: months per ``/exports`` call (temperatures are 13 rows a day: a year is small)
    chunk_months: int = 1
    #: ``select=`` for exports/records; only where field ids are confirmed (a wrong id is a 400)
    select: str | None = None

    @property
    def time_field(self) -> str:
        return "date" if self.kind == "temperature" else "date_heure"


_NATIONAL_SELECT = "date_heure,date,heure,nature,consommation,prevision_j1,prevision_j"
_REGIONAL_SELECT = "date_heure,date,heure,nature,code_insee_region,consommation"

ODRE_DATASETS: dict[str, OdreDataset] = {
    d.id: d
    for d in [
        OdreDataset(
            "eco2mix-national-tr", "national", "load_national", "tr", True, select=_NATIONAL_SELECT
        ),
        OdreDataset(
            "eco2mix-national-cons-def",
            "national",
            "load_national",
            "cons-def",
            select=_NATIONAL_SELECT,
        ),
        OdreDataset(
            "eco2mix-regional-tr", "regional", "load_regional", "tr", True, select=_REGIONAL_SELECT
        ),
        OdreDataset(
            "eco2mix-regional-cons-def",
            "regional",
            "load_regional",
            "cons-def",
            select=_REGIONAL_SELECT,
        ),
        OdreDataset("consommation-quotidienne-brute", "cqb", "load_national", "cons-def"),
        OdreDataset(
            "temperature-quotidienne-regionale",
            "temperature",
            "temperature_daily",
            "cons-def",
            chunk_months=12,
        ),
    ]
}

#: field id → accepted column names (field ids and the French labels of ``use_labels=true``);
#: matched on a slug (ASCII, lower case, alphanumerics only) so accents and punctuation don't matter
_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "date_heure": ("date_heure", "Date - Heure"),
    "date": ("date", "Date"),
    "heure": ("heure", "Heure"),
    "nature": ("nature", "Nature"),
    "consommation": ("consommation", "Consommation (MW)"),
    "prevision_j1": ("prevision_j1", "Prévision J-1 (MW)"),
    "prevision_j": ("prevision_j", "Prévision J (MW)"),
    "code_insee_region": ("code_insee_region", "Code INSEE région"),
    "consommation_brute_electricite_rte": (
        "consommation_brute_electricite_rte",
        "Consommation brute électricité (MW) - RTE",
    ),
    "statut_rte": ("statut_rte", "Statut - RTE"),
    "flag_ignore": ("flag_ignore", "Flag ignore"),
    "tmin": ("tmin", "TMin (°C)"),
    "tmax": ("tmax", "TMax (°C)"),
    "tmoy": ("tmoy", "TMoy (°C)"),
}

#: value field → canonical variable, per dataset kind
_VARIABLES: dict[Kind, dict[str, str]] = {
    "national": {
        "consommation": "consumption_mw",
        "prevision_j1": "forecast_d1_mw",
        "prevision_j": "forecast_d_mw",
    },
    "regional": {"consommation": "consumption_mw"},
    "cqb": {"consommation_brute_electricite_rte": "consumption_mw"},
    "temperature": {"tmin": "tmin_c", "tmax": "tmax_c", "tmoy": "tmean_c"},
}

#: fields that must be present (besides at least one value field)
_REQUIRED: dict[Kind, tuple[str, ...]] = {
    "national": ("date_heure",),
    "regional": ("date_heure", "code_insee_region"),
    "cqb": ("date_heure",),
    "temperature": ("date", "code_insee_region"),
}
_OPTIONAL = ("date", "heure", "nature", "statut_rte", "flag_ignore")


def _slug(name: object) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


_SLUG_TO_FIELD: dict[str, str] = {
    _slug(alias): fid for fid, aliases in _FIELD_ALIASES.items() for alias in aliases
}


def _spec(dataset: str) -> OdreDataset:
    try:
        return ODRE_DATASETS[dataset]
    except KeyError:
        raise ValueError(
            f"unknown ODRE dataset {dataset!r}; known: {sorted(ODRE_DATASETS)}"
        ) from None


# ---------------------------------------------------------------------------------------- parsing
def _resolve_columns(columns: Sequence[object], spec: OdreDataset, origin: str) -> dict[str, str]:
    """Map field ids to the payload's column names; fail clearly when required ones are absent."""
    found: dict[str, str] = {}
    for col in columns:
        fid = _SLUG_TO_FIELD.get(_slug(col))
        if fid is not None and fid not in found:
            found[fid] = str(col)
    wanted_values = _VARIABLES[spec.kind]
    missing = [f for f in _REQUIRED[spec.kind] if f not in found]
    if not any(f in found for f in wanted_values):
        missing.append(" or ".join(wanted_values))
    if missing:
        raise OdreFormatError(
            spec.id,
            origin,
            f"missing field(s) {missing} (ids or French labels accepted); "
            f"columns found: {[str(c) for c in columns][:40]}",
        )
    return {
        f: c
        for f, c in found.items()
        if f in _REQUIRED[spec.kind] or f in wanted_values or f in _OPTIONAL
    }


def _lenient(series: pd.Series) -> np.ndarray:
    """Vectorised :func:`~edip_pipeline.sources.base.lenient_float`: numbers, numeric strings,
    ``"ND"``, ``""``, ``None`` (and ``"1 586"``, ``"5,3"``) → float64 with NaN."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return series.astype(float).to_numpy()
    numeric = pd.to_numeric(series, errors="coerce")
    values = np.array(numeric.to_numpy(dtype=float, na_value=np.nan), dtype=float, copy=True)
    if pd.api.types.is_numeric_dtype(series.dtype):
        return values
    retry = np.isnan(values) & series.notna().to_numpy()
    if retry.any():
        text = (
            series[retry]
            .astype(str)
            .str.replace(r"[\s\u202f\xa0]", "", regex=True)
            .str.replace(",", ".", regex=False)
        )
        values[retry] = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return values


def _instants(series: pd.Series) -> pd.DatetimeIndex:
    """``date_heure`` → UTC instants (NaT where unparseable). Zone-less values are UTC, the
    Explore API's default rendering."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        idx = pd.DatetimeIndex(series)
        idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    else:
        parsed = pd.to_datetime(series.astype(str), utc=True, format="ISO8601", errors="coerce")
        idx = pd.DatetimeIndex(parsed)
    return pd.DatetimeIndex(idx.astype("datetime64[ns, UTC]"))


def _local_days(series: pd.Series) -> pd.DatetimeIndex:
    """A Paris calendar day column → naive midnights. Accepts ``YYYY-MM-DD``, ``dd/mm/yyyy``,
    ``dd/mm/yy`` (the temperature CSV), an ISO instant with offset, or a datetime column."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        idx = pd.DatetimeIndex(series)
        if idx.tz is not None:
            idx = idx.tz_convert(PARIS).tz_localize(None)
        return pd.DatetimeIndex(idx.normalize().astype("datetime64[ns]"))
    text = series.astype(str).str.strip()
    out = pd.Series(pd.NaT, index=series.index, dtype="datetime64[ns]")
    length = text.str.len()
    slash = text.str.contains("/", regex=False).fillna(False).to_numpy(dtype=bool)
    short = (length <= 10).fillna(False).to_numpy(dtype=bool)
    patterns = [
        (slash & (length == 8).fillna(False).to_numpy(dtype=bool), "%d/%m/%y"),
        (slash & (length == 10).fillna(False).to_numpy(dtype=bool), "%d/%m/%Y"),
        (~slash & short, "%Y-%m-%d"),
    ]
    for mask, fmt in patterns:
        if mask.any():
            out[mask] = pd.to_datetime(text[mask], format=fmt, errors="coerce")
    instant = ~slash & ~short & text.notna().to_numpy(dtype=bool)
    if instant.any():
        ts = pd.DatetimeIndex(
            pd.to_datetime(text[instant], utc=True, format="ISO8601", errors="coerce")
        )
        out[instant] = ts.tz_convert(PARIS).tz_localize(None).normalize()
    return pd.DatetimeIndex(out)


def _local_labels(day: pd.Series, hour: pd.Series) -> pd.DatetimeIndex:
    """The naive Paris wall clock written in ``date`` + ``heure`` (``HH:MM``)."""
    hh = hour.astype(str).str.strip().str[:5] + ":00"
    offsets = pd.TimedeltaIndex(pd.to_timedelta(hh, errors="coerce"))
    return pd.DatetimeIndex(_local_days(day) + offsets)


def _vintage_of(label: object, default: Vintage) -> int:
    s = _slug(label)
    if "definiti" in s:
        return int(Vintage.DEFINITIVE)
    if "consolid" in s:
        return int(Vintage.CONSOLIDATED)
    if "tempsreel" in s or "realtime" in s:
        return int(Vintage.REALTIME)
    return int(default)


def _vintages(series: pd.Series | None, n: int, default: Vintage) -> np.ndarray:
    """Per-row vintage from ``nature``/``statut_rte`` (mapped once per distinct label)."""
    if series is None:
        return np.full(n, int(default), dtype="int8")
    codes, uniques = pd.factorize(series)
    table = np.array([_vintage_of(u, default) for u in uniques] + [int(default)], dtype="int8")
    return table[codes]  # code -1 (missing label) picks the trailing default


def _region_codes(series: pd.Series) -> pd.Series:
    """INSEE region codes as strings ("84"), whatever the payload typed them as."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce").astype("Int64")
    text = series.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    return text.where(series.notna() & (text != ""))


def _dedupe(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per key: the highest vintage; equal values collapse, conflicting ones are dropped
    (the publisher gave two answers for one instant; the cleaner then fills or flags the hole)."""
    dup = frame.duplicated(KEY, keep=False).to_numpy()
    if not dup.any():
        return frame.reset_index(drop=True), 0
    d = frame[dup]
    d = d[d["vintage"] == d.groupby(KEY)["vintage"].transform("max")]
    distinct = d.groupby(KEY)["value"].transform("nunique").to_numpy()
    kept = d[distinct <= 1].drop_duplicates(KEY, keep="last")
    dropped = int(d[distinct > 1].drop_duplicates(KEY).shape[0])
    out = pd.concat([frame[~dup], kept], ignore_index=True)
    return out.sort_values(KEY, kind="mergesort").reset_index(drop=True), dropped


def _empty() -> pd.DataFrame:
    """An empty canonical frame whose text columns have the ``str`` dtype the schema expects
    (``schema.empty_frame`` leaves them ``object`` under pandas 3)."""
    return empty_frame().astype({"area": "str", "variable": "str", "source": "str"})


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return _empty()
    return pd.concat(parts, ignore_index=True)[COLUMNS]


def _long_rows(
    ts: pd.DatetimeIndex,
    frame: pd.DataFrame,
    cols: dict[str, str],
    spec: OdreDataset,
    keep: np.ndarray,
    vintage: np.ndarray,
    areas: pd.Series | None,
) -> list[pd.DataFrame]:
    """Canonical rows for every (area, variable), emitting only non-null values."""
    parts: list[pd.DataFrame] = []
    source = f"{SOURCE_NAME}:{spec.id}"
    if areas is None:
        groups: list[tuple[str, np.ndarray]] = [("FR", keep)]
    else:
        area_arr = areas.to_numpy(dtype=object)
        valid = keep & areas.notna().to_numpy(dtype=bool)
        groups = [(str(a), valid & (area_arr == a)) for a in pd.unique(area_arr[valid])]
    for fid, variable in _VARIABLES[spec.kind].items():
        if fid not in cols:
            continue
        values = _lenient(frame[cols[fid]])
        has_value = ~np.isnan(values)
        for area, mask in groups:
            m = mask & has_value
            if m.any():
                parts.append(
                    canonical(
                        ts[m],
                        values[m],
                        variable=variable,
                        area=area,
                        vintage=vintage[m],
                        source=source,
                    )
                )
    return parts


def _parse_load(
    frame: pd.DataFrame, cols: dict[str, str], spec: OdreDataset, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    raw_ts = frame[cols["date_heure"]]
    ts = _instants(raw_ts)
    keep = ~np.asarray(ts.isna(), dtype=bool)
    unparsed = int((~keep & raw_ts.notna().to_numpy(dtype=bool)).sum())
    if unparsed:
        notes.append(f"{unparsed} rows with an unreadable date_heure skipped")
        log.warning("%s (%s): %d rows with an unreadable date_heure", spec.id, origin, unparsed)
    if "date" in cols and "heure" in cols:
        label = _local_labels(frame[cols["date"]], frame[cols["heure"]])
        wall = ts.tz_convert(PARIS).tz_localize(None)
        has_label = ~np.asarray(label.isna(), dtype=bool)
        mismatch = keep & has_label & np.asarray(label != wall)
        # only a label naming a wall-clock time that never existed (spring 02:xx) marks a phantom;
        # other mismatches would mean labels in another clock: date_heure stays the truth
        never = np.asarray(
            label.tz_localize(
                PARIS, ambiguous=np.ones(len(label), dtype=bool), nonexistent="NaT"
            ).isna(),
            dtype=bool,
        )
        phantom = mismatch & has_label & never
        if phantom.any():
            notes.append(f"{int(phantom.sum())} clock-change phantom rows dropped")
            log.info("%s: dropped %d clock-change phantom rows", spec.id, int(phantom.sum()))
        odd = int((mismatch & ~phantom).sum())
        if odd:
            log.warning(
                "%s (%s): %d rows whose date/heure disagree with date_heure (kept, "
                "date_heure wins)",
                spec.id,
                origin,
                odd,
            )
        keep &= ~phantom
    # the canonical step is 30 min: :15/:45 rows (éCO2mix TR, cons-def forecasts) are not emitted
    keep &= np.asarray((ts.minute % 30 == 0) & (ts.second == 0), dtype=bool)
    if "flag_ignore" in cols:
        flag = frame[cols["flag_ignore"]].astype(str).str.strip().str.lower()
        ignored = flag.isin(["oui", "true", "1", "yes"]).to_numpy(dtype=bool)
        keep &= ~ignored
    if spec.realtime:
        vintage = np.full(len(frame), int(Vintage.REALTIME), dtype="int8")
    elif spec.kind == "cqb":
        vintage = _vintages(
            frame[cols["statut_rte"]] if "statut_rte" in cols else None,
            len(frame),
            Vintage.REALTIME,
        )
    else:
        vintage = _vintages(
            frame[cols["nature"]] if "nature" in cols else None, len(frame), Vintage.CONSOLIDATED
        )
    areas = _region_codes(frame[cols["code_insee_region"]]) if spec.kind == "regional" else None
    unreadable = _unreadable_values(frame, cols, spec, keep)
    if unreadable:
        notes.append(f"{unreadable} unreadable values skipped")
        log.warning("%s (%s): %d values are no number (skipped)", spec.id, origin, unreadable)
    return _concat(_long_rows(ts, frame, cols, spec, keep, vintage, areas)), notes


#: what the portal writes for "no value": skipped silently (any other text is counted)
_NO_VALUE = frozenset({"", "nd", "n/a", "na", "-", "nan", "null", "none"})


def _unreadable_values(
    frame: pd.DataFrame, cols: dict[str, str], spec: OdreDataset, keep: np.ndarray
) -> int:
    """Values that are text but no number (``abc``): skipped like a gap, but counted."""
    n = 0
    for fid in _VARIABLES[spec.kind]:
        if fid not in cols:
            continue
        raw = frame[cols[fid]]
        words = raw.astype(str).str.strip().str.lower().isin(_NO_VALUE).to_numpy(dtype=bool)
        blank = raw.isna().to_numpy(dtype=bool) | words
        n += int((keep & np.isnan(_lenient(raw)) & ~blank).sum())
    return n


def national_temperature(regional: pd.DataFrame) -> pd.DataFrame:
    """Area ``FR``: per day and variable, the mean of the regions present weighted by
    :data:`REGION_POPULATION` (weights renormalised over those regions; unknown codes ignored)."""
    weights = regional["area"].map(REGION_POPULATION).astype(float)
    sub = regional.assign(_w=weights, _wv=weights * regional["value"])
    sub = sub[sub["_w"].notna() & sub["value"].notna()]
    if sub.empty:
        return _empty()
    agg = sub.groupby(["timestamp", "variable"], sort=True).agg(
        _w=("_w", "sum"), _wv=("_wv", "sum"), vintage=("vintage", "min"), source=("source", "first")
    )
    agg = agg.reset_index()
    out = pd.DataFrame(
        {
            "timestamp": agg["timestamp"],
            "area": "FR",
            "variable": agg["variable"],
            "value": (agg["_wv"] / agg["_w"]).to_numpy(dtype=float),
            "vintage": agg["vintage"].astype("int8"),
            "source": agg["source"],
            "flags": np.zeros(len(agg), dtype="int8"),
        }
    )
    return out[COLUMNS]


def _parse_temperature(
    frame: pd.DataFrame, cols: dict[str, str], spec: OdreDataset, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    notes: list[str] = []
    days = _local_days(frame[cols["date"]])
    keep = ~np.asarray(days.isna(), dtype=bool)
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} rows with an unreadable date skipped")
        log.warning("%s (%s): %d rows with an unreadable date", spec.id, origin, int((~keep).sum()))
    # a day is the Paris calendar day: its instant is local midnight in UTC (never ambiguous)
    ts = pd.DatetimeIndex(days.tz_localize(PARIS).tz_convert("UTC").astype("datetime64[ns, UTC]"))
    vintage = np.full(len(frame), int(Vintage.DEFINITIVE), dtype="int8")
    areas = _region_codes(frame[cols["code_insee_region"]])
    regional = _concat(_long_rows(ts, frame, cols, spec, keep, vintage, areas))
    return regional, notes


def parse_records(
    dataset_id: str,
    records: pd.DataFrame | Sequence[Mapping[str, Any]],
    *,
    origin: str,
) -> list[Batch]:
    """ODRÉ records (API results, export rows or a file's table) → canonical batches.

    ``origin`` (URL or file path) is named in every error. Columns may be field ids or the French
    labels of ``use_labels=true``; extra columns are ignored.
    """
    spec = _spec(dataset_id)
    frame = (
        records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    )
    if frame.empty:
        return [Batch(spec.target, _empty(), [ATTRIBUTION])]
    frame = frame.reset_index(drop=True)
    cols = _resolve_columns(list(frame.columns), spec, origin)
    if spec.kind == "temperature":
        rows, notes = _parse_temperature(frame, cols, spec, origin)
    else:
        rows, notes = _parse_load(frame, cols, spec, origin)
    rows, conflicts = _dedupe(rows)
    if conflicts:
        notes.append(f"{conflicts} keys with conflicting duplicate values dropped")
        log.warning("%s (%s): %d keys with conflicting values dropped", spec.id, origin, conflicts)
    if spec.kind == "temperature":
        rows = _concat([rows, national_temperature(rows)])
    rows = rows.sort_values(KEY, kind="mergesort").reset_index(drop=True)
    return [Batch(spec.target, rows, [ATTRIBUTION, *notes])]


# ------------------------------------------------------------------------------------------ files
def _file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    known = {
        ".csv": "csv",
        ".json": "json",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
    if ext in known:
        return known[ext]
    head = _read_bytes(path)[:4096]
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        return "jsonl" if "\n{" in text else "json"
    return "csv"


def _read_bytes(path: Path) -> bytes:
    if path.suffix.lower() == ".gz":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def _read_csv(path: Path, spec: OdreDataset) -> pd.DataFrame:
    """The portal's CSV export (``;``, UTF-8 BOM); ``,`` also accepted. Only needed columns are
    read, all as text, so lenient parsing sees exactly what was written."""
    header = pd.read_csv(path, sep=";", nrows=0, encoding="utf-8-sig")
    sep = ";"
    if len(header.columns) == 1 and "," in str(header.columns[0]):
        sep = ","
        header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig")
    cols = _resolve_columns(list(header.columns), spec, str(path))
    return pd.read_csv(
        path,
        sep=sep,
        encoding="utf-8-sig",
        dtype=str,
        usecols=list(cols.values()),
        keep_default_na=False,
        na_values=[""],
    )


def _refuse_truncated_csv(data: bytes, dataset: str, origin: str) -> None:
    """A CSV cut short (an interrupted download, ``head -c``) is refused, never imported.

    The portal ends every export with a newline, so a file ending mid-row lost at least part of
    its last row (possibly digits of a value); a last row with fewer fields than the header
    is cut too.
    """
    text = data.rstrip(b"\r\n")
    if not text:
        return
    if not data.endswith(b"\n"):
        raise OdreFormatError(
            dataset,
            origin,
            "truncated CSV: the file ends mid-row (no final newline); "
            "nothing was imported: download the export again",
        )
    lines = text.split(b"\n")
    header, last = lines[0], lines[-1]
    sep = b";" if header.count(b";") else b","
    if len(lines) > 1 and last.count(sep) < header.count(sep):
        raise OdreFormatError(
            dataset,
            origin,
            f"truncated CSV: the last row has {last.count(sep) + 1} of "
            f"{header.count(sep) + 1} fields; nothing was imported: download the export again",
        )


def _rows_from_json(payload: Any, dataset: str, origin: str) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        payload = payload["results"]  # a saved /records page
    if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
        raise OdreFormatError(dataset, origin, "expected a JSON array of flat records")
    return payload


def parse_file(dataset_id: str, path: Path) -> list[Batch]:
    """Parse a file exported from the ODRÉ portal (CSV with ids or labels, JSON, JSONL, parquet;
    optionally gzipped) through the same record parser as the API path."""
    spec = _spec(dataset_id)
    path = Path(path)
    origin = str(path)
    if not path.is_file():
        raise OdreFormatError(dataset_id, origin, "no such file")
    fmt = _file_format(path)
    try:
        if fmt == "csv":
            _refuse_truncated_csv(_read_bytes(path), dataset_id, origin)
            frame = _read_csv(path, spec)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "json":
            frame = pd.DataFrame.from_records(
                _rows_from_json(
                    json.loads(_read_bytes(path).decode("utf-8-sig")), dataset_id, origin
                )
            )
        else:
            lines = _read_bytes(path).decode("utf-8-sig").splitlines()
            frame = pd.DataFrame.from_records(
                _rows_from_json([json.loads(x) for x in lines if x.strip()], dataset_id, origin)
            )
    except OdreFormatError:
        raise
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        # a JSON/JSONL/parquet/gzip file cut short fails to parse here (EOFError: gzip)
        raise OdreFormatError(
            dataset_id, origin, f"unreadable {fmt} file (truncated download?): {exc}"
        ) from exc
    log.info("%s: %d rows read from %s", dataset_id, len(frame), path)
    return parse_records(dataset_id, frame, origin=origin)


# ------------------------------------------------------------------------------------- transport
def _day_ceil(ts: pd.Timestamp) -> pd.Timestamp:
    """First Paris midnight at or after ``ts`` (in UTC)."""
    local = ts.tz_convert(PARIS)
    midnight = local_day_bounds(local.date())[0]
    return midnight if midnight >= ts else local_day_bounds(local.date() + timedelta(days=1))[0]


class OdreSource:
    """Connector for the ODRÉ Explore v2.1 API (see the module docstring)."""

    name: ClassVar[str] = SOURCE_NAME
    datasets: ClassVar[tuple[str, ...]] = tuple(ODRE_DATASETS)
    revision_family: ClassVar[dict[str, str]] = {k: v.family for k, v in ODRE_DATASETS.items()}
    #: periods up to this long use ``/records`` (a few pages: incremental pulls); longer ones use
    #: monthly ``/exports/json`` (one call per month, no row cap)
    RECORDS_MAX_PERIOD: ClassVar[pd.Timedelta] = pd.Timedelta(days=2)
    #: ``/records`` page size (the API's maximum)
    PAGE_LIMIT: ClassVar[int] = 100
    #: ``/records`` refuses ``offset + limit`` above this: larger windows are halved
    RECORDS_CAP: ClassVar[int] = 10_000

    def __init__(self, settings: Settings | None = None, client: HttpClient | None = None) -> None:
        self.settings = settings or get_settings()
        self.client = client or HttpClient(self.settings)
        self.base_url = self.settings.odre_base_url.rstrip("/")

    def target_datasets(self, dataset: str) -> list[str]:
        return [_spec(dataset).target]

    # ---------------------------------------------------------------- windows and where clauses
    def _window(self, spec: OdreDataset, period: Period) -> tuple[pd.Timestamp, pd.Timestamp]:
        start, end = period.start.tz_convert("UTC"), period.end.tz_convert("UTC")
        if spec.kind == "temperature":  # days whose local midnight lies in the period
            return _day_ceil(start), _day_ceil(end)
        return start, end

    @staticmethod
    def _where(spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp) -> str:
        if spec.kind == "temperature":
            d0, d1 = lo.tz_convert(PARIS).date(), hi.tz_convert(PARIS).date()
            return f"date >= date'{d0.isoformat()}' and date < date'{d1.isoformat()}'"
        fmt = "%Y-%m-%dT%H:%M:%S"
        return (
            f"date_heure >= '{lo.strftime(fmt)}+00:00' and date_heure < '{hi.strftime(fmt)}+00:00'"
        )

    @staticmethod
    def _split(
        spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp
    ) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """Midpoint of a window (a Paris midnight for daily data), or None if it can't be split."""
        if spec.kind == "temperature":
            d0, d1 = lo.tz_convert(PARIS).date(), hi.tz_convert(PARIS).date()
            days = (d1 - d0).days
            if days < 2:
                return None
            mid = local_day_bounds(d0 + timedelta(days=days // 2))[0]
        else:
            mid = (lo + (hi - lo) / 2).floor("min")
        return (lo, mid) if lo < mid < hi else None

    @staticmethod
    def _chunks(
        spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp
    ) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """Cut ``[lo, hi)`` at Paris month (or year) starts: one export call per chunk."""
        local = lo.tz_convert(PARIS)
        first = pd.Timestamp(year=local.year, month=local.month, day=1)
        freq = "YS" if spec.chunk_months >= 12 else f"{spec.chunk_months}MS"
        if spec.chunk_months >= 12:
            first = pd.Timestamp(year=local.year, month=1, day=1)
        edges = pd.date_range(first, hi.tz_convert(PARIS).tz_localize(None), freq=freq)
        cuts = (
            [lo] + [e for e in (local_day_bounds(x.date())[0] for x in edges) if lo < e < hi] + [hi]
        )
        return list(itertools.pairwise(cuts))

    def _params(self, spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp) -> dict[str, Any]:
        params: dict[str, Any] = {
            "where": self._where(spec, lo, hi),
            "order_by": spec.time_field,
            "timezone": "UTC",
        }
        if spec.select:
            params["select"] = spec.select
        return params

    # ---------------------------------------------------------------- HTTP
    def _get(
        self, spec: OdreDataset, endpoint: str, params: dict[str, Any], store: Store
    ) -> tuple[str, Any]:
        url = f"{self.base_url}/catalog/datasets/{spec.id}/{endpoint}"
        resp = self.client.get(url, dataset=spec.id, params=params)
        store.save_raw(SOURCE_NAME, spec.id, resp.content, "json")  # raw first, parse after
        return resp.url, decode_json(resp, spec.id)

    def _records_window(
        self, spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp, store: Store
    ) -> tuple[str, list[dict[str, Any]]] | None:
        """Every record of one window through ``/records``, or None when it holds more rows than
        ``offset + limit <= RECORDS_CAP`` can reach (the caller then splits the window)."""
        records: list[dict[str, Any]] = []
        first_url = ""
        offset = 0
        while True:
            if offset + self.PAGE_LIMIT > self.RECORDS_CAP:
                return None
            params = {**self._params(spec, lo, hi), "limit": self.PAGE_LIMIT, "offset": offset}
            url, payload = self._get(spec, "records", params, store)
            first_url = first_url or url
            if not (
                isinstance(payload, dict)
                and isinstance(payload.get("results"), list)
                and isinstance(payload.get("total_count"), int)
            ):
                keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
                raise OdreFormatError(
                    spec.id, url, f"expected {{'total_count': int, 'results': [...]}}, got {keys}"
                )
            total = int(payload["total_count"])
            if total > self.RECORDS_CAP:
                log.info("%s: %d rows in %s → %s, splitting", spec.id, total, lo, hi)
                return None
            results = _rows_from_json(payload["results"], spec.id, url)
            records.extend(results)
            offset += self.PAGE_LIMIT
            if not results or offset >= total:
                return first_url, records

    def _fetch_records(
        self, spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp, store: Store
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        out: list[tuple[str, list[dict[str, Any]]]] = []
        pending = [(lo, hi)]
        while pending:
            a, b = pending.pop(0)
            got = self._records_window(spec, a, b, store)
            if got is not None:
                out.append(got)
                continue
            half = self._split(spec, a, b)
            if half is None:
                url = f"{self.base_url}/catalog/datasets/{spec.id}/records"
                raise SourceError(
                    spec.id, url, f"window {a} → {b} exceeds {self.RECORDS_CAP} rows, can't split"
                )
            pending[0:0] = [(a, half[1]), (half[1], b)]
        return out

    def _fetch_exports(
        self, spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp, store: Store
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        out: list[tuple[str, list[dict[str, Any]]]] = []
        for a, b in self._chunks(spec, lo, hi):
            url, payload = self._get(spec, "exports/json", self._params(spec, a, b), store)
            if not isinstance(payload, list):
                kind = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
                raise OdreFormatError(spec.id, url, f"expected a bare JSON array, got {kind}")
            out.append((url, _rows_from_json(payload, spec.id, url)))
            log.info("%s: %d rows for %s → %s", spec.id, len(payload), a, b)
        return out

    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        """Download ``dataset`` over ``period`` (UTC, half-open), keep raw bodies, parse."""
        spec = _spec(dataset)
        lo, hi = self._window(spec, period)
        if lo >= hi:
            return [Batch(spec.target, _empty(), [ATTRIBUTION])]
        if period.end - period.start <= self.RECORDS_MAX_PERIOD:
            pages = self._fetch_records(spec, lo, hi, store)
        else:
            pages = self._fetch_exports(spec, lo, hi, store)
        frames: list[pd.DataFrame] = []
        notes: list[str] = [ATTRIBUTION]
        for url, records in pages:
            for batch in parse_records(dataset, records, origin=url):
                frames.append(batch.frame)
                notes.extend(n for n in batch.notes if n != ATTRIBUTION)
        rows, conflicts = _dedupe(_concat(frames))  # pages may overlap if ODRÉ republished
        if conflicts:
            notes.append(f"{conflicts} keys with conflicting duplicate values dropped")
        rows = rows.sort_values(KEY, kind="mergesort").reset_index(drop=True)
        return [Batch(spec.target, rows, notes)]
