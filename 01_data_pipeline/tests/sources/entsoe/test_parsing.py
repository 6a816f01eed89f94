"""ENTSO-E parsing: the platform's CSV export, hourly means of 15/30/60-min values, documents."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from edip_pipeline.http import SourceError
from edip_pipeline.ingest import ingest_file
from edip_pipeline.schema import validate
from edip_pipeline.sources.entsoe.parsing import hourly_means, parse_document, parse_export
from edip_pipeline.store import Store

from .conftest import FIX, body

HEADER = (
    '"Time (UTC)","Day-ahead Total Load Forecast [MW] - BZN|FR","Actual Total Load [MW] - BZN|FR"'
)


def by_variable(frame: pd.DataFrame, variable: str) -> pd.Series:
    rows = frame[frame["variable"] == variable]
    return pd.Series(rows["value"].to_numpy(), index=pd.DatetimeIndex(rows["timestamp"]))


def test_hourly_export_of_the_spring_clock_change_day() -> None:
    frame, notes = parse_export(body("total_load_2024-03-31.csv"), where="x")
    validate(frame)
    fc = by_variable(frame, "entsoe_forecast_d1_mw")
    act = by_variable(frame, "entsoe_actual_mw")
    # the Paris day of the spring change: 23 UTC hours; N/A and '-' are missing values
    assert len(fc) == 22
    assert len(act) == 22
    assert pd.Timestamp("2024-03-31T02:00Z") not in fc.index
    assert pd.Timestamp("2024-03-31T04:00Z") not in act.index
    assert fc[pd.Timestamp("2024-03-30T23:00Z")] == 52000.0
    assert act[pd.Timestamp("2024-03-31T21:00Z")] == 51500.0 + 40 * 22
    assert "Day-ahead Total Load Forecast [MW] - BZN|FR: 22 hours, 1 missing value(s)" in notes


def test_quarter_hour_export_keeps_complete_hours_only() -> None:
    frame, notes = parse_export(body("total_load_2025-01-15_15min.csv"), where="x")
    fc = by_variable(frame, "entsoe_forecast_d1_mw")
    act = by_variable(frame, "entsoe_actual_mw")
    assert fc.tolist() == [80030.0, 80110.0]
    assert act.tolist() == [79030.0]  # the second hour lacks a quarter: left out, said
    assert "Actual Total Load [MW] - BZN|FR: 1 incomplete hour(s) left out" in notes


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '"Time (CET/CEST)","Actual Total Load [MW] - BZN|FR"\n'
            '"01.01.2024 00:00 - 01.01.2024 01:00","60000"\n',
            "export it in UTC",
        ),
        ('"Time (UTC)","Load"\n"01.01.2024 00:00 - 01.01.2024 01:00","60000"\n', "neither"),
        (HEADER + '\n"01.01.2024 00:00","1","2"\n', "periods must read"),
        (HEADER + '\n"2024-01-01 00:00 - 2024-01-01 01:00","1","2"\n', "unreadable period"),
        (HEADER + '\n"01.01.2024 00:00 - 01.01.2024 02:00","1","2"\n', "15, 30 or 60 minutes"),
    ],
)
def test_bad_exports_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_export(text.encode(), where="export.csv")


def test_hourly_means_need_a_tiled_hour() -> None:
    idx = pd.DatetimeIndex(
        ["2024-01-01T00:00Z", "2024-01-01T00:30Z", "2024-01-01T01:00Z", "2024-01-01T02:15Z"]
    )
    means, incomplete = hourly_means(pd.Series([1.0, 3.0, 5.0, 7.0], index=idx))
    assert means.tolist() == [2.0, 5.0]
    assert incomplete == 1  # 02:15 alone does not stand for 02:00–03:00


def test_documents_other_than_load_are_refused() -> None:
    with pytest.raises(SourceError, match="not a GL_MarketDocument"):
        parse_document("<html>maintenance</html>", "A01", url="u", source="s")
    frame, notes = parse_document(body("ack_no_data.xml").decode(), "A01", url="u", source="s")
    assert frame.empty
    assert notes[0].startswith("A01: No matching data found")
    with pytest.raises(SourceError, match="Mandatory parameter"):
        parse_document(body("ack_bad_request.xml").decode(), "A01", url="u", source="s")
    broken = body("a65_a01_2024-01-15.xml").decode().replace("<quantity>70000", "<quantity>x")
    with pytest.raises(SourceError, match="unreadable"):
        parse_document(broken, "A01", url="u", source="s")


def test_from_file_ingest(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "Total Load - Day Ahead _ Actual_202403310000-202404010000.csv"
    path.write_bytes((FIX / "total_load_2024-03-31.csv").read_bytes())
    report = ingest_file("entsoe", "total-load", path, store=store)
    assert report.ok, report.error
    assert [w.dataset for w in report.writes] == ["load_entsoe"]
    stored = store.series("load_entsoe", "entsoe_actual_mw")
    assert math.isnan(stored[pd.Timestamp("2024-03-31T04:00Z")])  # a stored hole, not a value
    assert stored.notna().sum() == 22
    assert len(list((store.raw_dir / "entsoe" / "total-load").iterdir())) == 1
