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


CANONICAL_SCHEMA = pa.DataFrameSchema(
    {
        "timestamp": pa.Column("datetime64[ns, UTC]", nullable=False),
        "area": pa.Column(str, pa.Check.str_length(min_value=1), nullable=False),
        "variable": pa.Column(str, pa.Check.str_matches(r"^[a-z0-9_:.\-]+$"), nullable=False),
        "value": pa.Column(float, nullable=True),
        "vintage": pa.Column("int8", pa.Check.isin([int(v) for v in Vintage]), nullable=False),
        "source": pa.Column(str, nullable=False),
        "flags": pa.Column("int8", pa.Check.in_range(0, 15), nullable=False),
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
    out["value"] = pd.to_numeric(frame["value"], errors="coerce").astype("float64").to_numpy()
    out["vintage"] = frame["vintage"].astype("int8").to_numpy()
    out["source"] = frame["source"].astype(str).to_numpy()
    flags = frame["flags"].to_numpy() if "flags" in frame.columns else np.zeros(len(frame))
    out["flags"] = np.asarray(flags).astype("int8")
    return out.astype({"area": "str", "variable": "str", "source": "str"})


def validate(frame: pd.DataFrame) -> pd.DataFrame:
    """Raise :class:`pandera.errors.SchemaError` unless ``frame`` is canonical."""
    return CANONICAL_SCHEMA.validate(frame, lazy=False)
