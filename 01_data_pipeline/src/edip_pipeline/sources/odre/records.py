"""ODRÉ records (API pages, export rows, a file's table) → canonical frames.

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
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.schema import COLUMNS, KEY, Vintage, empty_frame
from edip_pipeline.sources.base import Batch, canonical
from edip_pipeline.sources.odre.datasets import (
    ATTRIBUTION,
    REGION_POPULATION,
    SOURCE_NAME,
    VARIABLES,
    OdreDataset,
    dataset_spec,
)
from edip_pipeline.sources.odre.fields import (
    instants,
    lenient,
    local_days,
    local_labels,
    region_codes,
    resolve_columns,
    vintages,
)

log = logging.getLogger(__name__)


def dedupe(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
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


def empty() -> pd.DataFrame:
    """An empty canonical frame whose text columns have the ``str`` dtype the schema expects
    (``schema.empty_frame`` leaves them ``object`` under pandas 3)."""
    return empty_frame().astype({"area": "str", "variable": "str", "source": "str"})


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return empty()
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
    for fid, variable in VARIABLES[spec.kind].items():
        if fid not in cols:
            continue
        values = lenient(frame[cols[fid]])
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


def _load_instants(
    frame: pd.DataFrame, cols: dict[str, str], spec: OdreDataset, origin: str, notes: list[str]
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """``date_heure`` → UTC instants and the mask of rows that have one (unreadable ones noted)."""
    raw_ts = frame[cols["date_heure"]]
    ts = instants(raw_ts)
    keep = ~np.asarray(ts.isna(), dtype=bool)
    unparsed = int((~keep & raw_ts.notna().to_numpy(dtype=bool)).sum())
    if unparsed:
        notes.append(f"{unparsed} rows with an unreadable date_heure skipped")
        log.warning("%s (%s): %d rows with an unreadable date_heure", spec.id, origin, unparsed)
    return ts, keep


def _phantoms(
    frame: pd.DataFrame,
    cols: dict[str, str],
    spec: OdreDataset,
    origin: str,
    ts: pd.DatetimeIndex,
    keep: np.ndarray,
    notes: list[str],
) -> np.ndarray:
    """Clock-change phantom rows: a ``date``/``heure`` label that never existed in Paris."""
    label = local_labels(frame[cols["date"]], frame[cols["heure"]])
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
            "%s (%s): %d rows whose date/heure disagree with date_heure (kept, date_heure wins)",
            spec.id,
            origin,
            odd,
        )
    return phantom


def _ignored(frame: pd.DataFrame, cols: dict[str, str]) -> np.ndarray:
    """Rows the publisher marked ``flag_ignore`` ("oui")."""
    if "flag_ignore" not in cols:
        return np.zeros(len(frame), dtype=bool)
    flag = frame[cols["flag_ignore"]].astype(str).str.strip().str.lower()
    return flag.isin(["oui", "true", "1", "yes"]).to_numpy(dtype=bool)


def _load_vintages(frame: pd.DataFrame, cols: dict[str, str], spec: OdreDataset) -> np.ndarray:
    """REALTIME for real-time datasets, else from ``statut_rte`` (cqb) or ``nature``."""
    if spec.realtime:
        return np.full(len(frame), int(Vintage.REALTIME), dtype="int8")
    if spec.kind == "cqb":
        return vintages(
            frame[cols["statut_rte"]] if "statut_rte" in cols else None,
            len(frame),
            Vintage.REALTIME,
        )
    return vintages(
        frame[cols["nature"]] if "nature" in cols else None, len(frame), Vintage.CONSOLIDATED
    )


def _parse_load(
    frame: pd.DataFrame, cols: dict[str, str], spec: OdreDataset, origin: str
) -> tuple[pd.DataFrame, list[str]]:
    """Half-hourly load rows: instants, minus phantoms, off-grid and ignored rows."""
    notes: list[str] = []
    ts, keep = _load_instants(frame, cols, spec, origin, notes)
    if "date" in cols and "heure" in cols:
        keep &= ~_phantoms(frame, cols, spec, origin, ts, keep, notes)
    # the canonical step is 30 min: :15/:45 rows (éCO2mix TR, cons-def forecasts) are not emitted
    keep &= np.asarray((ts.minute % 30 == 0) & (ts.second == 0), dtype=bool)
    keep &= ~_ignored(frame, cols)
    vintage = _load_vintages(frame, cols, spec)
    areas = region_codes(frame[cols["code_insee_region"]]) if spec.kind == "regional" else None
    unreadable = _unreadable_values(frame, cols, spec, keep)
    if unreadable:
        notes.append(f"{unreadable} unreadable values skipped")
        log.warning("%s (%s): %d values are no number (skipped)", spec.id, origin, unreadable)
    return concat(_long_rows(ts, frame, cols, spec, keep, vintage, areas)), notes


#: what the portal writes for "no value": skipped silently (any other text is counted)
_NO_VALUE = frozenset({"", "nd", "n/a", "na", "-", "nan", "null", "none"})


def _unreadable_values(
    frame: pd.DataFrame, cols: dict[str, str], spec: OdreDataset, keep: np.ndarray
) -> int:
    """Values that are text but no number (``abc``): skipped like a gap, but counted."""
    n = 0
    for fid in VARIABLES[spec.kind]:
        if fid not in cols:
            continue
        raw = frame[cols[fid]]
        words = raw.astype(str).str.strip().str.lower().isin(_NO_VALUE).to_numpy(dtype=bool)
        blank = raw.isna().to_numpy(dtype=bool) | words
        n += int((keep & np.isnan(lenient(raw)) & ~blank).sum())
    return n


def national_temperature(regional: pd.DataFrame) -> pd.DataFrame:
    """Area ``FR``: per day and variable, the mean of the regions present weighted by
    :data:`REGION_POPULATION` (weights renormalised over those regions; unknown codes ignored)."""
    weights = regional["area"].map(REGION_POPULATION).astype(float)
    sub = regional.assign(_w=weights, _wv=weights * regional["value"])
    sub = sub[sub["_w"].notna() & sub["value"].notna()]
    if sub.empty:
        return empty()
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
    days = local_days(frame[cols["date"]])
    keep = ~np.asarray(days.isna(), dtype=bool)
    if (~keep).any():
        notes.append(f"{int((~keep).sum())} rows with an unreadable date skipped")
        log.warning("%s (%s): %d rows with an unreadable date", spec.id, origin, int((~keep).sum()))
    # a day is the Paris calendar day: its instant is local midnight in UTC (never ambiguous)
    ts = pd.DatetimeIndex(days.tz_localize(PARIS).tz_convert("UTC").astype("datetime64[ns, UTC]"))
    vintage = np.full(len(frame), int(Vintage.DEFINITIVE), dtype="int8")
    areas = region_codes(frame[cols["code_insee_region"]])
    regional = concat(_long_rows(ts, frame, cols, spec, keep, vintage, areas))
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
    spec = dataset_spec(dataset_id)
    frame = (
        records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    )
    if frame.empty:
        return [Batch(spec.target, empty(), [ATTRIBUTION])]
    frame = frame.reset_index(drop=True)
    cols = resolve_columns(list(frame.columns), spec, origin)
    if spec.kind == "temperature":
        rows, notes = _parse_temperature(frame, cols, spec, origin)
    else:
        rows, notes = _parse_load(frame, cols, spec, origin)
    rows, conflicts = dedupe(rows)
    if conflicts:
        notes.append(f"{conflicts} keys with conflicting duplicate values dropped")
        log.warning("%s (%s): %d keys with conflicting values dropped", spec.id, origin, conflicts)
    if spec.kind == "temperature":
        rows = concat([rows, national_temperature(rows)])
    rows = rows.sort_values(KEY, kind="mergesort").reset_index(drop=True)
    return [Batch(spec.target, rows, [ATTRIBUTION, *notes])]
