"""Column-level readers of ODRÉ records: field resolution, lenient numbers, instants, local
days and labels, vintages, region codes. Each works on a whole column (vectorised)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.schema import Vintage
from edip_pipeline.sources.odre.datasets import (
    OPTIONAL,
    REQUIRED,
    SLUG_TO_FIELD,
    VARIABLES,
    OdreDataset,
    OdreFormatError,
    slug,
)


def resolve_columns(columns: Sequence[object], spec: OdreDataset, origin: str) -> dict[str, str]:
    """Map field ids to the payload's column names; fail clearly when required ones are absent."""
    found: dict[str, str] = {}
    for col in columns:
        fid = SLUG_TO_FIELD.get(slug(col))
        if fid is not None and fid not in found:
            found[fid] = str(col)
    wanted_values = VARIABLES[spec.kind]
    missing = [f for f in REQUIRED[spec.kind] if f not in found]
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
        if f in REQUIRED[spec.kind] or f in wanted_values or f in OPTIONAL
    }


def lenient(series: pd.Series) -> np.ndarray:
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


def instants(series: pd.Series) -> pd.DatetimeIndex:
    """``date_heure`` → UTC instants (NaT where unparseable). Zone-less values are UTC, the
    Explore API's default rendering."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        idx = pd.DatetimeIndex(series)
        idx = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    else:
        parsed = pd.to_datetime(series.astype(str), utc=True, format="ISO8601", errors="coerce")
        idx = pd.DatetimeIndex(parsed)
    return pd.DatetimeIndex(idx.astype("datetime64[ns, UTC]"))


def local_days(series: pd.Series) -> pd.DatetimeIndex:
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


def local_labels(day: pd.Series, hour: pd.Series) -> pd.DatetimeIndex:
    """The naive Paris wall clock written in ``date`` + ``heure`` (``HH:MM``)."""
    hh = hour.astype(str).str.strip().str[:5] + ":00"
    offsets = pd.TimedeltaIndex(pd.to_timedelta(hh, errors="coerce"))
    return pd.DatetimeIndex(local_days(day) + offsets)


def _vintage_of(label: object, default: Vintage) -> int:
    s = slug(label)
    if "definiti" in s:
        return int(Vintage.DEFINITIVE)
    if "consolid" in s:
        return int(Vintage.CONSOLIDATED)
    if "tempsreel" in s or "realtime" in s:
        return int(Vintage.REALTIME)
    return int(default)


def vintages(series: pd.Series | None, n: int, default: Vintage) -> np.ndarray:
    """Per-row vintage from ``nature``/``statut_rte`` (mapped once per distinct label)."""
    if series is None:
        return np.full(n, int(default), dtype="int8")
    codes, uniques = pd.factorize(series)
    table = np.array([_vintage_of(u, default) for u in uniques] + [int(default)], dtype="int8")
    return table[codes]  # code -1 (missing label) picks the trailing default


def region_codes(series: pd.Series) -> pd.Series:
    """INSEE region codes as strings ("84"), whatever the payload typed them as."""
    if pd.api.types.is_numeric_dtype(series.dtype):
        series = pd.to_numeric(series, errors="coerce").astype("Int64")
    text = series.astype(str).str.strip().str.replace(r"\.0$", "", regex=True)
    return text.where(series.notna() & (text != ""))
