"""The ``edip`` command line, driven through Typer's test runner against an isolated data dir."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pytest_httpserver import HTTPServer
from typer.testing import CliRunner, Result

from edip_pipeline.cli import app
from edip_pipeline.config import Settings, reset_settings_cache

from .conftest import FIXTURES
from .test_ingest import NATIONAL_CSV

MF_FIXTURES = FIXTURES / "meteofrance"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """The CLI callback reconfigures the root logger: give the next tests theirs back."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def invoke(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def ingested(settings: Settings) -> Settings:
    result = invoke("ingest", "--source", "sample", "--no-prefect")
    assert result.exit_code == 0, result.output
    return settings


def test_ingest_sample(settings: Settings) -> None:
    result = invoke("ingest", "--source", "sample", "--no-prefect")
    assert result.exit_code == 0, result.output
    assert "sample/eco2mix-national-2019-2020" in result.output
    assert "load_national v1" in result.output
    assert (settings.interim_dir / "load_national" / "year=2020" / "part.parquet").is_file()
    assert (settings.data_dir / "manifest.json").is_file()


def test_data_status(ingested: Settings) -> None:
    result = invoke("data", "status")
    assert result.exit_code == 0, result.output
    [line] = [ln for ln in result.output.splitlines() if "load_national" in ln]
    cells = [c.strip() for c in line.strip("│┃| ").split("│")]
    assert cells[:3] == ["load_national", "1", str(3 * (365 + 366) * 48)]
    assert "2020-12-31T22:30:00+00:00" in cells
    assert str(ingested.data_dir) in result.output


def test_data_status_on_an_empty_store(settings: Settings) -> None:
    result = invoke("data", "status")
    assert result.exit_code == 0
    assert "the store is empty" in result.output


def test_features(ingested: Settings) -> None:
    result = invoke("features", "--no-prefect", "--start", "2020-11-01", "--end", "2020-11-30")
    assert result.exit_code == 0, result.output
    path = ingested.processed_dir / "features_day_ahead.parquet"
    assert path.is_file()
    table = pd.read_parquet(path)
    assert len(table) == 30 * 24  # 30 target days, hourly
    targets = pd.DatetimeIndex(table["target_time"]).tz_convert("Europe/Paris")
    assert targets.min() == pd.Timestamp("2020-11-01", tz="Europe/Paris")
    assert targets.max() == pd.Timestamp("2020-11-30 23:00", tz="Europe/Paris")
    assert "features written to" in result.output


def test_eda(ingested: Settings, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = invoke("eda", "--out", str(out), "--start", "2020-01-01", "--end", "2020-03-31")
    assert result.exit_code == 0, result.output
    html = out / "eda.html"
    assert html.is_file()
    assert "<html" in html.read_text(encoding="utf-8").lower()
    assert (out / "eda.md").is_file()


def test_ingest_unknown_source(settings: Settings) -> None:
    result = invoke("ingest", "--source", "nope", "--no-prefect")
    assert result.exit_code == 2
    assert "--source must be one of" in result.output
    assert not settings.data_dir.exists()


def test_ingest_unknown_dataset(settings: Settings) -> None:
    result = invoke("ingest", "--source", "sample", "--dataset", "nope", "--no-prefect")
    assert result.exit_code == 2
    assert "eco2mix-national-2019-2020" in result.output


@pytest.mark.parametrize("source", ["sample", "odre"])
def test_from_file_needs_a_dataset(settings: Settings, tmp_path: Path, source: str) -> None:
    path = tmp_path / "x.csv"
    path.write_text(NATIONAL_CSV, encoding="utf-8")
    result = invoke("ingest", "--source", source, "--from-file", str(path), "--no-prefect")
    assert result.exit_code == 2
    assert "--from-file needs --dataset" in result.output
    assert not settings.data_dir.exists()


def test_from_file_imports_a_portal_export(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text(NATIONAL_CSV, encoding="utf-8")
    args = ["ingest", "--source", "odre", "--dataset", "eco2mix-national-cons-def"]
    result = invoke(*args, "--from-file", str(path))
    assert result.exit_code == 0, result.output
    assert "load_national v1" in result.output
    assert (settings.interim_dir / "load_national" / "year=2021" / "part.parquet").is_file()
    bad = tmp_path / "bad.csv"
    bad.write_text("a;b\n1;2\n", encoding="utf-8")
    result = invoke(*args, "--from-file", str(bad))
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert "missing field" in result.output


@pytest.mark.parametrize("command", ["ingest", "features", "backfill"])
@pytest.mark.parametrize(
    ("dates", "needle"),
    [
        (["--start", "2020-12-31", "--end", "2020-01-01"], "--end 2020-01-01 must be"),
        (["--start", "notadate"], "--start 'notadate' is not a date"),
        (["--start", "2020-01-01", "--end", "2020-13-45"], "--end '2020-13-45' is not a date"),
    ],
)
def test_bad_dates_are_usage_errors(
    settings: Settings, command: str, dates: list[str], needle: str
) -> None:
    """A usage error naming the option (rc 2), never a traceback, before any flow starts."""
    result = invoke(command, *dates, "--no-prefect")
    assert result.exit_code == 2, result.output
    assert needle in " ".join(result.output.split())
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_from_file_imports_synop_files_and_prints_coverage(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from edip_pipeline.sources import meteofrance

    three = tuple(s for s in meteofrance.STATIONS if s.wmo in {"07149", "07481", "07650"})
    monkeypatch.setattr(meteofrance, "STATIONS", three)
    folder = tmp_path / "synop"
    folder.mkdir()
    for name in ("synop.202401.csv", "synop.202402.csv"):
        (folder / name).write_bytes((MF_FIXTURES / name).read_bytes())
    result = invoke("ingest", "--source", "meteofrance", "--from-file", str(folder))
    assert result.exit_code == 0, result.output
    assert "weather_observed v1" in result.output
    assert "cloud_cover_pct: no value at 1 station(s): 07650 Marseille-Marignane" in result.output


def test_backfill_defaults_to_the_sources_dataset(
    settings: Settings, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EDIP_METEOFRANCE_BASE_URL", httpserver.url_for("/Archive"))
    reset_settings_cache()
    httpserver.expect_request("/Archive/synop.202402.csv.gz").respond_with_data("no", status=404)
    args = ["--source", "meteofrance", "--start", "2024-02-10", "--end", "2024-02-11"]
    result = invoke("backfill", *args, "--no-prefect")
    assert result.exit_code == 1
    assert "meteofrance/synop FAILED" in result.output
    assert "synop.202402.csv.gz" in result.output


def test_a_failing_command_is_one_line_and_exit_1_and_v_shows_the_trace(ingested: Settings) -> None:
    """`edip features --start 2030-01-01` (after the stored data) used to print a traceback."""
    result = invoke("features", "--start", "2030-01-01", "--no-prefect")
    assert result.exit_code == 1, result.output
    errors = [ln for ln in result.output.splitlines() if ln.startswith("error:")]
    assert errors == ["error: ValueError: end_day 2020-12-31 is before start_day 2030-01-01"]
    assert "Traceback" not in result.output
    assert isinstance(result.exception, SystemExit)
    verbose = invoke("-v", "features", "--start", "2030-01-01", "--no-prefect")
    assert verbose.exit_code == 1
    assert isinstance(verbose.exception, ValueError)  # re-raised: Typer prints its traceback


@pytest.mark.parametrize(("option", "value"), [("--protocol", "bogus"), ("--weather", "bogus")])
def test_an_unknown_choice_is_a_usage_error(settings: Settings, option: str, value: str) -> None:
    result = invoke("features", option, value, "--no-prefect")
    assert result.exit_code == 2, result.output
    assert "is not one of" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def _truncate_current(settings: Settings, year: int) -> Path:
    path = settings.interim_dir / "load_national" / f"year={year}" / "part.parquet"
    real = path.resolve()
    with open(real, "r+b") as fh:
        fh.truncate(1000)
    return real


def test_a_damaged_partition_is_named_with_its_repair_then_repaired(ingested: Settings) -> None:
    damaged = _truncate_current(ingested, 2020)
    status = invoke("data", "status")
    assert status.exit_code == 1, status.output
    assert "Traceback" not in status.output
    text = " ".join(status.output.split())
    assert f"{damaged.parent.parent.name}/year=2020/part.parquet" in text
    assert "repair: edip data repair --dataset load_national" in text
    assert "│ 2 " in status.output  # the recovered version (v2) is listed
    verify = invoke("data", "verify")
    assert verify.exit_code == 1  # recovered, but 2020 is still missing: the report is open
    assert "DAMAGED" in verify.output

    repair = invoke("data", "repair")
    assert repair.exit_code == 0, repair.output
    assert "load_national repaired" in repair.output
    assert invoke("data", "verify").exit_code == 0
    again = invoke("data", "status")
    assert again.exit_code == 0, again.output
    assert "2020-12-31T22:30:00+00:00" in again.output  # 2020 re-fetched from the sample
