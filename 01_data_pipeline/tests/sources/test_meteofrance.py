"""Météo-France SYNOP connector against a real local HTTP server serving hand-written monthly files.

The fixtures under ``fixtures/meteofrance`` are written by hand in the archive's format (full
header, trailing ``;``, ``mq`` for missing, kelvin): three mainland stations and one overseas one.
"""

from __future__ import annotations

import gzip
import json
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pytest_httpserver import HTTPServer

from edip_pipeline.config import Settings, get_settings, reset_settings_cache
from edip_pipeline.features.weather import choose_weather
from edip_pipeline.flows.backfill import backfill_flow, checkpoint_path
from edip_pipeline.http import SourceError
from edip_pipeline.ingest import ingest_dataset, ingest_file
from edip_pipeline.schema import Vintage, validate
from edip_pipeline.sources import get_source, meteofrance
from edip_pipeline.sources.base import Period
from edip_pipeline.sources.meteofrance import (
    STATIONS,
    MeteoFranceSource,
    months_for,
    national,
    read_synop,
    to_hourly,
)
from edip_pipeline.store import Store

FIX = Path(__file__).resolve().parents[1] / "fixtures" / "meteofrance"
ARCHIVE = "/donnees_libres/Txt/Synop/Archive"
THREE = tuple(s for s in STATIONS if s.wmo in {"07149", "07481", "07650"})
W = {"07149": 12_260.0, "07481": 5_820.0, "07650": 2_600.0}


def gz(name: str) -> bytes:
    return gzip.compress((FIX / name).read_bytes())


@pytest.fixture
def mf_settings(
    settings: Settings, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Settings:
    monkeypatch.setenv("EDIP_METEOFRANCE_BASE_URL", httpserver.url_for(ARCHIVE))
    reset_settings_cache()
    return get_settings()


def serve_months(httpserver: HTTPServer) -> None:
    for month in ("202401", "202402"):
        httpserver.expect_request(f"{ARCHIVE}/synop.{month}.csv.gz").respond_with_data(
            gz(f"synop.{month}.csv"), content_type="application/x-gzip"
        )


def test_weights_cover_each_mainland_department_once() -> None:
    depts = [d for s in STATIONS for d in s.departments]
    mainland = {f"{i:02d}" for i in range(1, 96) if i != 20}
    assert len(depts) == len(set(depts)) == 94  # 01–95 less Corsica (20)
    assert set(depts) == mainland
    assert len({s.wmo for s in STATIONS}) == len(STATIONS) >= 30
    assert all(s.wmo.startswith("07") for s in STATIONS)
    assert 63_000 < sum(s.population_k for s in STATIONS) < 66_000


def test_read_synop_converts_units_and_missing_values() -> None:
    obs = read_synop(gz("synop.202402.csv"))
    assert list(obs.columns) == [
        "station",
        "timestamp",
        "temperature_2m_c",
        "cloud_cover_pct",
        "wind_speed_10m_kmh",
    ]
    assert str(obs["timestamp"].dt.tz) == "UTC"
    first = obs[obs["timestamp"] == pd.Timestamp("2024-02-01", tz="UTC")]
    [orly] = [row for _, row in first.iterrows() if row["station"] == "07149"]
    assert orly["temperature_2m_c"] == pytest.approx(3.0)
    assert orly["wind_speed_10m_kmh"] == pytest.approx(9.0)
    assert orly["cloud_cover_pct"] == 75
    lyon = obs[obs["station"] == "07481"]
    assert lyon["temperature_2m_c"].isna().sum() == 1  # 'mq'
    assert lyon["cloud_cover_pct"].notna().all()
    # the same bytes uncompressed parse the same
    plain = read_synop((FIX / "synop.202402.csv").read_bytes())
    pd.testing.assert_frame_equal(plain, obs)


def test_read_synop_drops_impossible_values_and_refuses_other_files() -> None:
    text = (FIX / "synop.202402.csv").read_text().replace("276.150000", "0.000000")
    obs = read_synop(text.encode())
    orly = obs[obs["station"] == "07149"]
    assert orly["temperature_2m_c"].isna().sum() == 1  # 0 K is a missing value, not −273 °C
    with pytest.raises(SourceError, match="not a SYNOP file"):
        read_synop(b"Date;Heure;Consommation\n01/01/2024;00:00;50000\n")
    with pytest.raises(SourceError, match="gzip"):
        read_synop(gz("synop.202402.csv")[:40])


def test_to_hourly_interpolates_short_gaps_only() -> None:
    t = pd.DatetimeIndex(
        ["2024-01-01 00:00", "2024-01-01 03:00", "2024-01-01 09:00", "2024-01-01 18:00"], tz="UTC"
    )
    grid = pd.date_range("2023-12-31 23:00", "2024-01-01 19:00", freq="1h", tz="UTC")
    out = pd.Series(to_hourly(t, np.array([0.0, 3.0, 9.0, 0.0]), grid), grid)
    assert math.isnan(out.iloc[0])  # before the first report
    assert out["2024-01-01 00:00"] == 0.0
    assert out["2024-01-01 02:00"] == pytest.approx(2.0)
    assert out["2024-01-01 06:00"] == pytest.approx(6.0)  # 6 h gap: bridged
    assert out["2024-01-01 09:00"] == 9.0
    assert out["2024-01-01 10:00":"2024-01-01 17:00"].isna().all()  # 9 h gap: left missing
    assert out["2024-01-01 18:00"] == 0.0
    assert math.isnan(out.iloc[-1])


def test_national_fills_a_missing_station_with_its_usual_offset() -> None:
    grid = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC")
    hourly = pd.DataFrame(
        {
            "07149": [10.0, 10.0, 10.0, np.nan],
            "07481": [4.0, 4.0, np.nan, np.nan],
            "07650": [16.0, 16.0, 16.0, 16.0],
        },
        index=grid,
    )
    weights = pd.Series(W)
    out = national(hourly, weights)
    full = (10 * W["07149"] + 4 * W["07481"] + 16 * W["07650"]) / sum(W.values())
    assert out.iloc[0] == pytest.approx(full)
    # Lyon missing at hour 2: its monthly mean plus the others' mean anomaly (0) → same value
    assert out.iloc[2] == pytest.approx(full)
    # hour 3: only 12.6 % of the weight reports → no national value
    assert math.isnan(out.iloc[3])


def test_months_for_a_paris_day_include_the_neighbouring_report() -> None:
    period = Period.parse("2024-02-01", "2024-02-02")  # 2024-01-31T23:00Z → 2024-02-01T23:00Z
    assert [str(m) for m in months_for(period)] == ["2024-01", "2024-02"]
    assert [str(m) for m in months_for(Period.parse("2024-02-10", "2024-02-12"))] == ["2024-02"]


def test_fetch_builds_the_weighted_national_hourly_series(
    mf_settings: Settings, httpserver: HTTPServer, store: Store
) -> None:
    serve_months(httpserver)
    source = MeteoFranceSource(mf_settings, stations=THREE)
    [batch] = source.fetch("synop", Period.parse("2024-02-01", "2024-02-02"), store)
    paths = [req.path for req, _ in httpserver.log]
    assert paths == [f"{ARCHIVE}/synop.202401.csv.gz", f"{ARCHIVE}/synop.202402.csv.gz"]
    assert len(list((store.raw_dir / "meteofrance" / "synop").glob("*.csv.gz"))) == 2
    frame = validate(batch.frame)
    assert batch.dataset == "weather_observed"
    assert set(frame["area"]) == {"FR"}
    assert (frame["vintage"] == int(Vintage.DEFINITIVE)).all()
    temp = frame[frame["variable"] == "temperature_2m_c"].set_index("timestamp")["value"]
    # first hour of the Paris day: 23:00Z, interpolated between 21:00Z (January file) and 00:00Z
    orly, lyon, marignane = 4.0 - 2 / 3, 1.0 - 2 / 3, 9.0 - 2 / 3  # Lyon bridges its 00:00 'mq'
    expected = (orly * W["07149"] + lyon * W["07481"] + marignane * W["07650"]) / sum(W.values())
    assert temp.index[0] == pd.Timestamp("2024-01-31T23:00Z")
    assert temp.iloc[0] == pytest.approx(expected)
    assert temp.index[-1] == pd.Timestamp("2024-02-01T06:00Z")  # last report: nothing invented
    wind = frame[frame["variable"] == "wind_speed_10m_kmh"].set_index("timestamp")["value"]
    exp_wind = 3.6 * (2.5 * W["07149"] + 1.75 * W["07481"] + 4.0 * W["07650"]) / sum(W.values())
    assert wind[pd.Timestamp("2024-02-01T00:00Z")] == pytest.approx(exp_wind)
    cloud = frame[frame["variable"] == "cloud_cover_pct"].set_index("timestamp")["value"]
    # Marignane never reports cloudiness: the mean is over Orly and Lyon
    exp_cloud = (75 * W["07149"] + 25 * W["07481"]) / (W["07149"] + W["07481"])
    assert cloud[pd.Timestamp("2024-02-01T00:00Z")] == pytest.approx(exp_cloud)
    notes = "\n".join(batch.notes)
    assert "cloud_cover_pct: no value at 1 station(s): 07650 Marseille-Marignane" in notes
    assert "Météo-France" in notes


def test_fetch_retries_then_reports_a_missing_month(
    mf_settings: Settings, httpserver: HTTPServer, store: Store
) -> None:
    url = f"{ARCHIVE}/synop.202402.csv.gz"
    httpserver.expect_ordered_request(url).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(url).respond_with_data(gz("synop.202402.csv"))
    source = MeteoFranceSource(mf_settings, stations=THREE)
    [batch] = source.fetch("synop", Period.parse("2024-02-10", "2024-02-11"), store)
    assert len(httpserver.log) == 2
    assert batch.frame.empty  # the fixture has no report on 10 February
    httpserver.clear()
    httpserver.expect_request(url).respond_with_data("<html>Not Found</html>", status=404)
    report = ingest_dataset(
        "meteofrance", "synop", start="2024-02-10", end="2024-02-11", store=store
    )
    assert len(httpserver.log) == 1  # a 404 is not retried
    assert not report.ok
    assert "HTTP 404" in (report.error or "")
    assert "synop.202402.csv.gz" in (report.error or "")


@pytest.fixture
def three_stations(monkeypatch: pytest.MonkeyPatch) -> None:
    """The connector's stations are the fixtures' three (their weights renormalised)."""
    monkeypatch.setattr(meteofrance, "STATIONS", THREE)


def test_too_few_stations_give_no_national_value(
    mf_settings: Settings, httpserver: HTTPServer, store: Store
) -> None:
    serve_months(httpserver)
    report = ingest_dataset(
        "meteofrance", "synop", start="2024-02-01", end="2024-02-02", store=store
    )
    assert report.ok, report.error
    assert report.rows == 0  # 3 stations hold 32 % of France's population: under the 50 % floor
    notes = "\n".join(report.notes)
    assert "temperature_2m_c: 24 of 24 FR hours without enough stations" in notes
    assert "07015 Lille-Lesquin" in notes  # named as all-null


@pytest.mark.usefixtures("three_stations")
def test_ingest_stores_observed_weather_that_features_use(
    mf_settings: Settings, httpserver: HTTPServer, store: Store
) -> None:
    serve_months(httpserver)
    assert isinstance(get_source("meteofrance", mf_settings), MeteoFranceSource)
    report = ingest_dataset(
        "meteofrance", "synop", start="2024-02-01", end="2024-02-02", store=store
    )
    assert report.ok, report.error
    assert [w.dataset for w in report.writes] == ["weather_observed"]
    rows = store.read("weather_observed")
    assert set(rows["area"]) == {"FR"}
    assert rows["source"].eq("meteofrance:synop").all()
    targets = pd.date_range("2024-02-01T00:00Z", periods=6, freq="1h")
    choice = choose_weather(store, targets, store.params.features, "observed")
    assert choice.description == "hourly:weather_observed"
    assert choice.hourly.loc[targets, "temperature_2m_c"].notna().all()


@pytest.mark.usefixtures("three_stations")
def test_from_file_takes_a_file_or_a_folder(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    folder = tmp_path / "synop"
    folder.mkdir()
    for month in ("202401", "202402"):
        (folder / f"synop.{month}.csv.gz").write_bytes(gz(f"synop.{month}.csv"))
    report = ingest_file("meteofrance", "synop", folder, store=store)
    assert report.ok, report.error
    temp = store.series("weather_observed", "temperature_2m_c", area="FR").dropna()
    assert temp.index[0] == pd.Timestamp("2024-01-31T18:00Z")
    assert temp.index[-1] == pd.Timestamp("2024-02-01T06:00Z")
    assert len(list((store.raw_dir / "meteofrance" / "synop").iterdir())) == 2
    bad = ingest_file("meteofrance", "synop", tmp_path / "nope.csv.gz", store=store)
    assert not bad.ok
    assert "no such file" in (bad.error or "")
    (tmp_path / "odre.csv").write_text("Date;Heure\n")
    assert "not a SYNOP file" in (
        ingest_file("meteofrance", "synop", tmp_path / "odre.csv").error or ""
    )


@pytest.mark.usefixtures("three_stations")
def test_backfill_resumes_month_by_month(
    mf_settings: Settings, httpserver: HTTPServer, store: Store
) -> None:
    url = f"{ARCHIVE}/synop.202402.csv.gz"
    httpserver.expect_request(f"{ARCHIVE}/synop.202401.csv.gz").respond_with_data(
        gz("synop.202401.csv")
    )
    httpserver.expect_request(url).respond_with_data("gone", status=404)
    kwargs = {
        "source": "meteofrance",
        "dataset": "synop",
        "start": "2024-01-31",
        "end": "2024-02-02",
    }
    reports = backfill_flow.fn(**kwargs, chunk_days=1)
    assert [r.ok for r in reports] == [False]  # chunk 1 needs February's first report too
    httpserver.clear()
    serve_months(httpserver)
    reports = backfill_flow.fn(**kwargs, chunk_days=1)
    assert [r.ok for r in reports] == [True, True]
    done = json.loads(checkpoint_path(store, "meteofrance", "synop").read_text())["done"]
    assert len(done) == 2
    assert backfill_flow.fn(**kwargs, chunk_days=1) == []
    temp = store.series("weather_observed", "temperature_2m_c", area="FR").dropna()
    assert temp.index[0] == pd.Timestamp("2024-01-31T18:00Z")


@pytest.fixture
def points_file(
    mf_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    """A points file in RTE's format (made-up weights), named by EDIP_WEATHER_POINTS."""
    path = tmp_path / "stations.csv"
    monkeypatch.setenv("EDIP_WEATHER_POINTS", str(path))
    yield path
    reset_settings_cache()


def fetch_feb1(
    httpserver: HTTPServer, store: Store
) -> tuple[MeteoFranceSource, pd.Series, list[str]]:
    """The connector on the current settings, the fixtures' 1 February: FR temperature, notes."""
    reset_settings_cache()
    serve_months(httpserver)
    source = MeteoFranceSource(get_settings())
    [batch] = source.fetch("synop", Period.parse("2024-02-01", "2024-02-02"), store)
    temp = batch.frame[batch.frame["variable"] == "temperature_2m_c"].set_index("timestamp")
    return source, temp["value"], batch.notes


ORLY, LYON = 4.0 - 2 / 3, 1.0 - 2 / 3  # 1 February, 23:00Z, as in the three-station test above


def test_stations_come_from_weather_points_naming_synop_stations(
    points_file: Path, httpserver: HTTPServer, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    points_file.write_text(
        "ID;Nom;longitude;latitude;Poids\n149;ORLY;2.38;48.72;3\n481;LYON;5.08;45.73;1\n"
    )
    source, temp, notes = fetch_feb1(httpserver, store)
    assert [(s.wmo, s.population_k) for s in source.stations] == [("07149", 3.0), ("07481", 1.0)]
    assert temp.iloc[0] == pytest.approx((3 * ORLY + LYON) / 4)
    assert any(n.startswith(f"stations: weather points {points_file.resolve()}#") for n in notes)
    # the default preset (cities15) names no station: the built-in stations stand
    monkeypatch.setenv("EDIP_WEATHER_POINTS", "cities15")
    reset_settings_cache()
    assert MeteoFranceSource(get_settings()).stations == STATIONS


def test_a_station_missing_from_the_files_reads_the_nearest_reporting_one(
    points_file: Path, httpserver: HTTPServer, store: Store
) -> None:
    """Paris-Montsouris is not in the public files: it reads Orly; a station far from any
    reporting one has no stand-in and the weights renormalise over the others."""
    points_file.write_text(
        "ID;Nom;longitude;latitude;Poids\n"
        "156;PARIS-MONTSOURIS;2.338;48.822;2\n"
        "481;LYON;5.08;45.73;1\n"
        "999;OFFSHORE;-12.0;47.0;1\n"
    )
    _, temp, notes = fetch_feb1(httpserver, store)
    assert temp.iloc[0] == pytest.approx((2 * ORLY + LYON) / 3)
    assert "07156 PARIS-MONTSOURIS: not in the SYNOP files, read from 07149 (12 km)" in notes
    assert not any(n.startswith("07999") for n in notes)
