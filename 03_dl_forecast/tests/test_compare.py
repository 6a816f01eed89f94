"""``edip compare`` on tiny hand-made forecast frames: families, common rows, fairness checks,
the ranking and its files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from edip_dl.compare import CompareError, combine, family_of, ranking, ranking_markdown, run_compare
from edip_ml.evaluation.backtest_files import write_forecasts


def _frame(model: str, hours: int, error_mw: float, version: str = "v1") -> pd.DataFrame:
    """``hours`` day-ahead rows of one model whose P50 misses a 50 GW load by ``error_mw``."""
    target = pd.date_range("2020-01-02", periods=hours, freq="h", tz="UTC")
    actual = 50_000.0
    df = pd.DataFrame(
        {
            "origin": pd.Timestamp("2020-01-01 11:00", tz="UTC"),
            "target_time": target,
            "model": model,
            "horizon_h": 13.0 + pd.RangeIndex(hours).to_numpy(float),
            "p10": actual + error_mw - 1000.0,
            "p50": actual + error_mw,
            "p90": actual + error_mw + 1000.0,
            "actual": actual,
        }
    )
    df.attrs.update({"data_version": version, "protocol": "day-ahead"})
    return df


def test_family_of_each_kind_of_model() -> None:
    assert family_of("lstm") == "dl"
    assert family_of("tcn") == "dl"
    assert family_of("ridge") == "ml"
    assert family_of("same_hour_last_week") == "baseline"
    assert family_of("rte_j1") == "reference"


def test_combine_keeps_the_rows_every_model_forecast_and_duplicates_once() -> None:
    a = _frame("tcn", 24, 100.0)
    b = _frame("ridge", 20, 300.0)  # 4 hours fewer: those rows leave the comparison
    twice = _frame("same_hour_last_week", 24, 900.0)
    out = combine([a, b, twice, twice])
    assert len(out) == 3 * 20
    assert out.groupby("model").size().to_dict() == {
        "ridge": 20,
        "same_hour_last_week": 20,
        "tcn": 20,
    }
    assert out.attrs == {"data_version": "v1", "protocol": "day-ahead"}


def test_combine_refuses_other_data_and_disjoint_rows() -> None:
    a = _frame("x", 1, 0.0)
    b = _frame("y", 1, 0.0, version="v2")
    with pytest.raises(CompareError, match="data_version"):
        combine([a, b])
    b.attrs["data_version"] = "v1"
    c = b.assign(target_time=b["target_time"] + pd.Timedelta(hours=1))
    with pytest.raises(CompareError, match="share no"):
        combine([a, c])
    with pytest.raises(CompareError, match="nothing to compare"):
        combine([])


def test_ranking_orders_by_mape_with_families() -> None:
    forecasts = combine([_frame("ridge", 24, 300.0), _frame("tcn", 24, -100.0)])
    table = ranking(forecasts)
    assert list(table.index) == ["tcn", "ridge"]
    assert list(table["rank"]) == [1, 2]
    assert list(table["family"]) == ["dl", "ml"]
    assert table.loc["tcn", "mape"] == pytest.approx(100.0 / 50_000.0)
    md = ranking_markdown(table)
    assert "MAPE %" in md
    assert "0.2" in md  # tcn: 0.2 %


def test_run_compare_from_files_writes_the_report(tmp_path: Path) -> None:
    files = [
        write_forecasts(_frame("tcn", 24, 100.0), tmp_path / "dl.parquet"),
        write_forecasts(_frame("ridge", 24, 300.0), tmp_path / "ml.parquet"),
    ]
    result = run_compare(tmp_path / "report", forecasts_files=files)
    assert list(result.ranking.index) == ["tcn", "ridge"]
    assert all(p.is_file() for p in result.files)
    csv = pd.read_csv(tmp_path / "report" / "ranking.csv", index_col=0)
    assert list(csv.index) == ["tcn", "ridge"]
