"""API JSON → typed frames: UTC times whatever the offset, floats whatever ``null``, missing columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from edip_dashboard.frames import (
    PREDICTION_COLUMNS,
    actuals_frame,
    features_frame,
    forecast_frame,
    predictions_frame,
    records,
)


def test_predictions_frame_parses_times_and_fills_missing_columns() -> None:
    frame = predictions_frame(
        [{"model_name": None, "origin": "2020-12-20T12:00:00+01:00", "p50": "51000", "p10": None}]
    )
    assert tuple(frame.columns) == PREDICTION_COLUMNS
    assert frame["origin"].iloc[0] == pd.Timestamp("2020-12-20T11:00Z")
    assert frame["p50"].iloc[0] == 51_000.0
    assert np.isnan(frame["p10"].iloc[0])
    assert (frame["model_name"].iloc[0], frame["model_version"].iloc[0]) == ("unknown", "")
    assert predictions_frame([]).empty


def test_actuals_frame_is_sorted_unique_and_utc() -> None:
    frame = actuals_frame(
        [
            {"timestamp": "2020-12-20T02:00:00+01:00", "consumption_mw": 2.0},
            {"timestamp": "2020-12-20T00:00:00Z", "consumption_mw": 1.0},
            {"timestamp": "2020-12-20T01:00:00Z", "consumption_mw": 3.0},  # same instant: last wins
        ]
    )
    assert list(frame.index) == [
        pd.Timestamp("2020-12-20T00:00Z"),
        pd.Timestamp("2020-12-20T01:00Z"),
    ]
    assert list(frame["consumption_mw"]) == [1.0, 3.0]
    assert frame["rte_forecast_d1_mw"].isna().all()


def test_forecast_and_features_frames_are_indexed_by_target_time() -> None:
    body = {"points": [{"target_time": "2020-12-25T01:00:00Z", "horizon_h": 2, "p50": 60_000},
                       {"target_time": "2020-12-25T00:00:00Z", "horizon_h": 1, "p50": 59_000}]}  # fmt: skip
    points = forecast_frame(body)
    assert list(points["horizon_h"]) == [1.0, 2.0]
    assert points["p90"].isna().all()
    assert forecast_frame({}).empty
    feats = features_frame(
        ["load_mw", "t"], [{"target_time": "2020-12-25T00:00:00+01:00", "load_mw": 50_000}]
    )
    assert list(feats.columns) == ["load_mw", "t"]
    assert feats.index[0] == pd.Timestamp("2020-12-24T23:00Z")
    assert np.isnan(feats["t"].iloc[0])
    assert features_frame(["load_mw"], []).empty


def test_records_writes_times_as_iso_text() -> None:
    frame = pd.DataFrame({"at": pd.to_datetime(["2020-12-25T00:00Z", None], utc=True), "n": [1, 2]})
    first, missing = records(frame)
    assert first == {"at": "2020-12-25T00:00:00+00:00", "n": 1}
    assert pd.isna(missing["at"])
