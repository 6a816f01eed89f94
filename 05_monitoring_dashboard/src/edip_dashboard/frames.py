"""API JSON → typed pandas frames (UTC index).

Why separate: the client stays JSON-only (cacheable, testable against the contract) and the pure
computations get frames with parsed times and floats, whatever ``null`` the API sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

PREDICTION_COLUMNS = (
    "request_id",
    "model_name",
    "model_version",
    "origin",
    "target_time",
    "horizon_h",
    "p10",
    "p50",
    "p90",
    "latency_ms",
    "created_at",
)
ACTUAL_COLUMNS = ("timestamp", "consumption_mw", "rte_forecast_d1_mw")


def to_utc(values: Any) -> Any:
    """ISO strings (any offset) → tz-aware UTC timestamps."""
    return pd.to_datetime(values, utc=True, format="ISO8601")


def _frame(items: Iterable[Mapping[str, Any]], columns: tuple[str, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(list(items))
    for col in columns:
        if col not in frame.columns:
            frame[col] = None
    return frame[list(columns)]


def predictions_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``/v1/predictions`` items; ``model_version`` as a string ("" when none)."""
    frame = _frame(items, PREDICTION_COLUMNS)
    for col in ("origin", "target_time", "created_at"):
        frame[col] = to_utc(frame[col])
    for col in ("horizon_h", "p10", "p50", "p90", "latency_ms"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    frame["model_name"] = frame["model_name"].fillna("unknown").astype(str)
    frame["model_version"] = frame["model_version"].fillna("").astype(str)
    return frame


def actuals_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``/v1/actuals`` items as a frame indexed by UTC ``timestamp`` (sorted, unique)."""
    frame = _frame(items, ACTUAL_COLUMNS)
    frame["timestamp"] = to_utc(frame["timestamp"])
    for col in ("consumption_mw", "rte_forecast_d1_mw"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(float)
    frame = frame.drop_duplicates("timestamp", keep="last").set_index("timestamp").sort_index()
    return frame


def forecast_frame(body: Mapping[str, Any]) -> pd.DataFrame:
    """``/v1/forecast`` points, indexed by UTC ``target_time``."""
    points = pd.DataFrame(list(body.get("points") or []))
    cols = ("target_time", "horizon_h", "p10", "p50", "p90")
    for col in cols:
        if col not in points.columns:
            points[col] = None
    points = points[list(cols)]
    points["target_time"] = to_utc(points["target_time"])
    for col in cols[1:]:
        points[col] = pd.to_numeric(points[col], errors="coerce").astype(float)
    return points.set_index("target_time").sort_index()


def features_frame(columns: list[str], items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """``/v1/features`` rows indexed by UTC ``target_time``, one float column per feature."""
    frame = pd.DataFrame(list(items))
    if "target_time" not in frame.columns:
        frame["target_time"] = pd.Series(dtype=str)
    frame["target_time"] = to_utc(frame["target_time"])
    out = frame.set_index("target_time").sort_index()
    for col in columns:
        out[col] = pd.to_numeric(out[col], errors="coerce") if col in out else float("nan")
    return out[list(columns)].astype(float)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-able records (times as ISO strings), for tables and webhooks."""
    out = frame.copy()
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].map(lambda t: t.isoformat() if pd.notna(t) else None)
    return [{str(k): v for k, v in row.items()} for row in out.to_dict(orient="records")]
