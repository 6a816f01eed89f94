"""The canonical table: one tidy long layout for every dataset, checked by pandera at every write.

Why long rather than one wide table per dataset: every source (national and regional load, Enedis
profiles, weather per city, daily temperatures) maps onto ``(timestamp, area, variable) -> value``
with the same cleaning, dedup-by-vintage and manifest logic, and new variables need no migration.

Columns
-------
``timestamp``  UTC instant at the *start* of the interval (``datetime64[ns, UTC]``).
``area``       ``"FR"`` for national series, an INSEE region code (``"84"``) or a place name.
``variable``   snake_case name with unit suffix, e.g. ``consumption_mw``, ``temperature_2m_c``.
``value``      float64; NaN where the publisher had no value or a gap was too long to fill.
``vintage``    data maturity, higher wins on duplicates (see :class:`Vintage`).
``source``     where the row came from (``odre:eco2mix-national-tr``, ``sample``, …).
``flags``      bit mask of :class:`Flag` set by the cleaner.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, IntFlag

import numpy as np
import pandas as pd
import pandera.pandas as pa

COLUMNS = ["timestamp", "area", "variable", "value", "vintage", "source", "flags"]
KEY = ["timestamp", "area", "variable"]


class Vintage(IntEnum):
    """Maturity of a value: on a duplicate key the highest vintage wins (then the latest write)."""

    FORECAST = 0
    REALTIME = 1
    CONSOLIDATED = 2
    DEFINITIVE = 3


class Flag(IntFlag):
    """Quality flags set by :mod:`edip_pipeline.cleaning`."""

    NONE = 0
    INTERPOLATED = 1  # short gap filled linearly
    MISSING = 2  # gap too long to fill: value is NaN
    FLAT_LINE = 4  # constant run longer than the policy allows
    OUTLIER = 8  # robust z-score above the policy threshold
    IMPLAUSIBLE = 16  # outside the variable's physical range (PLAUSIBLE): value dropped to NaN


@dataclass(frozen=True)
class PlausibleRange:
    """Values a variable can physically take; outside it a value is a publisher/parser error."""

    variable: str
    low: float
    high: float
    area: str | None  # None: every area; "FR": the national series only (checked first)
    why: str


#: The documented table of physical ranges (one mechanism for every source, applied by
#: :func:`edip_pipeline.cleaning.flag_implausible` at every store write). A value outside its
#: range is stored as NaN with ``IMPLAUSIBLE`` (plus MISSING or INTERPOLATED, like any gap): it
#: never reaches a feature and is never used to interpolate a neighbour. The raw layer keeps it.
PLAUSIBLE: tuple[PlausibleRange, ...] = (
    PlausibleRange("consumption_mw", 15_000, 130_000, "FR", "national load: record 102 GW"),
    PlausibleRange("forecast_d1_mw", 15_000, 130_000, "FR", "RTE D-1 forecast of it"),
    PlausibleRange("forecast_d_mw", 15_000, 130_000, "FR", "RTE D forecast of it"),
    PlausibleRange("entsoe_forecast_d1_mw", 15_000, 130_000, "FR", "ENTSO-E: RTE's D-1"),
    PlausibleRange("entsoe_actual_mw", 15_000, 130_000, "FR", "ENTSO-E actual total load"),
    PlausibleRange("consumption_mw", 0, 40_000, None, "one region: load is never negative"),
    PlausibleRange("temperature_2m_c", -60, 60, None, "air temperature in France"),
    PlausibleRange("apparent_temperature_c", -80, 70, None, "felt temperature"),
    PlausibleRange("tmin_c", -60, 60, None, "daily minimum temperature"),
    PlausibleRange("tmax_c", -60, 60, None, "daily maximum temperature"),
    PlausibleRange("tmean_c", -60, 60, None, "daily mean temperature"),
    PlausibleRange("relative_humidity_2m_pct", 0, 100, None, "a percentage"),
    PlausibleRange("cloud_cover_pct", 0, 100, None, "a percentage"),
    PlausibleRange("wind_speed_10m_kmh", 0, 400, None, "a speed is >= 0"),
    PlausibleRange("shortwave_radiation_wm2", 0, 1_500, None, "solar constant 1361 W/m2"),
)


CANONICAL_SCHEMA = pa.DataFrameSchema(
    {
        "timestamp": pa.Column("datetime64[ns, UTC]", nullable=False),
        "area": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "variable": pa.Column(str, pa.Check.str_matches(r"^[a-z0-9_:.\-]+$"), nullable=False),
        # NaN = missing; +/-inf is never a measurement (refused, like any non-finite value)
        "value": pa.Column(float, pa.Check(lambda v: ~np.isinf(v), name="finite"), nullable=True),
        "vintage": pa.Column("int8", pa.Check.isin([int(v) for v in Vintage]), nullable=False),
        "source": pa.Column(str, nullable=False),
        "flags": pa.Column("int8", pa.Check.in_range(0, 31), nullable=False),
    },
    unique=KEY,
    strict=True,
    ordered=True,
    coerce=False,
    name="canonical",
)


def empty_frame() -> pd.DataFrame:
    """An empty canonical frame with the right dtypes."""
    return coerce_canonical(pd.DataFrame({c: [] for c in COLUMNS}))


def coerce_canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Cast a parser's output to canonical dtypes (naive timestamps are refused, not guessed)."""
    missing = [c for c in COLUMNS if c not in frame.columns and c != "flags"]
    if missing:
        raise ValueError(f"canonical frame lacks columns {missing}")
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    ts = pd.to_datetime(frame["timestamp"].to_numpy() if len(frame) else [], utc=False)
    ts = pd.DatetimeIndex(ts)
    if len(ts) and ts.tz is None:
        raise ValueError(
            "canonical timestamps must be time-zone aware (convert to UTC in the parser)"
        )
    out["timestamp"] = (
        ts.tz_convert("UTC") if ts.tz is not None else ts.tz_localize("UTC")
    ).astype("datetime64[ns, UTC]")
    out["area"] = frame["area"].astype(str).to_numpy()
    out["variable"] = frame["variable"].astype(str).to_numpy()
    out["value"] = _numbers(frame["value"])
    out["vintage"] = frame["vintage"].astype("int8").to_numpy()
    out["source"] = frame["source"].astype(str).to_numpy()
    flags = frame["flags"].to_numpy() if "flags" in frame.columns else np.zeros(len(frame))
    out["flags"] = np.asarray(flags).astype("int8")
    return out.astype({"area": "str", "variable": "str", "source": "str"})


def _numbers(values: pd.Series) -> np.ndarray:
    """float64 values; text that is no number and non-finite values are refused, not dropped."""
    numeric = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    text = values.notna().to_numpy() & np.isnan(numeric)
    if text.any():
        bad = values[text]
        raise ValueError(f"{int(text.sum())} values are not numbers, e.g. {bad.iloc[0]!r}")
    if np.isinf(numeric).any():
        n = int(np.isinf(numeric).sum())
        raise ValueError(f"{n} non-finite values (inf) refused: not a measurement")
    return numeric


def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """Raise :class:`pandera.errors.SchemaError` unless ``frame`` is canonical."""
    return CANONICAL_SCHEMA.validate(frame, lazy=False)
