"""Weather points: the shipped presets, CSV formats, identities and the weighted national mean."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from edip_pipeline.config import FeatureParams, reset_settings_cache
from edip_pipeline.weather_points import (
    PRESETS_DIR,
    PointSet,
    WeatherPoint,
    load_points,
    parse_points,
    preset_names,
    share_notes,
    weighted_mean,
)

from .conftest import shared_file


def _departements() -> dict[str, int]:
    lines = [
        ln
        for ln in (PRESETS_DIR / "departements.csv").read_text().splitlines()
        if not ln.startswith("#")
    ]
    return {r["code"]: int(r["population_k"]) for r in csv.DictReader(lines)}


def test_presets_are_shipped_and_sane() -> None:
    assert preset_names() == ["cities15", "rte35"]
    for name in preset_names():
        points = load_points(name)
        assert points.ident == f"{name}#{points.digest}"
        assert re.fullmatch(r"[0-9a-f]{8}", points.digest)
        for p in points.points:
            assert re.fullmatch(r"[a-z0-9\-]+", p.slug)
            assert 42.3 < p.lat < 51.2
            assert -4.8 < p.lon < 8.3
            assert p.weight > 0
    cities = load_points("cities15")
    assert len(cities.points) == 15
    assert cities.points[0].slug == "paris"
    assert cities.stations() is None


def test_rte35_weights_are_the_population_of_each_stations_departements() -> None:
    """Each continental département once; each weight = INSEE populations of its départements."""
    pop = _departements()
    assert len(pop) == 94
    assert 63_000 < sum(pop.values()) < 66_000
    rows = list(
        csv.DictReader(
            ln
            for ln in (PRESETS_DIR / "rte35.csv").read_text().splitlines()
            if not ln.startswith("#")
        )
    )
    assert len(rows) == 35
    deps = [d for r in rows for d in r["departements"].split()]
    assert sorted(deps) == sorted(pop)  # every département exactly once
    for r in rows:
        assert float(r["weight"]) == sum(pop[d] for d in r["departements"].split())
    stations = load_points("rte35").stations()
    assert stations is not None
    assert len(stations) == 35
    assert all(re.fullmatch(r"07\d{3}", w) for w in stations)
    assert stations["07156"] == pop["75"] + pop["92"] + pop["93"] + pop["94"]


def test_rte_file_format_is_read(tmp_path: Path) -> None:
    """``ID;Nom;longitude;latitude;Poids`` (made-up values): 3-digit ids, weight 0 left out."""
    path = tmp_path / "weights.csv"
    path.write_text(
        "ID;Nom;longitude;latitude;Poids\n"
        "156;PARIS-MONTSOURIS;2.33;48.82;0.3\n"
        "070;REIMS;4.03;49.26;0\n"
        "510;BORDEAUX;-0.58;44.84;0.1\n"
    )
    points = load_points(str(path))
    assert points.name == str(path.resolve())
    assert [(p.slug, p.wmo, p.lat, p.lon, p.weight) for p in points.points] == [
        ("07156-paris-montsouris", "07156", 48.82, 2.33, 0.3),
        ("07510-bordeaux", "07510", 44.84, -0.58, 0.1),
    ]
    assert load_points(points.ident) == points  # a recorded identity loads the same points


def test_identity_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    path.write_text(
        "# my points\nname,latitude,longitude,weight\nParis,48.85,2.35,2\nLyon,45.76,4.84,1\n"
    )
    ident = load_points(str(path)).ident
    path.write_text("name,latitude,longitude,weight\nParis,48.85,2.35,3\nLyon,45.76,4.84,1\n")
    with pytest.raises(ValueError, match="changed: recorded"):
        load_points(ident)
    assert load_points(str(path)).ident != ident
    with pytest.raises(ValueError, match="'rte35' changed"):
        load_points("rte35#00000000")
    with pytest.raises(ValueError, match="neither a preset"):
        load_points("nowhere")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,latitude,longitude\nParis,48.8,2.3\n", r"columns \['weight'\] missing"),
        ("name,latitude,longitude,weight\nParis,48.8,2.3,-1\n", "must be a number >= 0"),
        ("name,latitude,longitude,weight\nParis,98.8,2.3,1\n", "out of range"),
        ("name,latitude,longitude,weight\nParis,48.8,2.3,0\n", "no point with a positive"),
        ("name,latitude,longitude,weight\nParis,4x,2.3,1\n", "row 1 .'Paris'."),
        ("name,latitude,longitude,weight\nParis,48,2,1\nparis,45,4,1\n", "duplicate slugs"),
        ("# only comments\n", "no weather point"),
    ],
)
def test_bad_point_files_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_points(text, "bad")


def test_feature_params_record_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDIP_WEATHER_POINTS", "rte35")
    reset_settings_cache()
    try:
        assert FeatureParams().weather_points == load_points("rte35").ident
        assert FeatureParams(weather_points="cities15").weather_points.startswith("cities15#")
        with pytest.raises(ValueError, match="changed"):
            FeatureParams(weather_points="cities15#00000000")
    finally:
        reset_settings_cache()


def test_dev_rte_weights_file_loads_when_present() -> None:
    path = shared_file("meteofrance/rte_station_weights.csv")
    points = load_points(str(path))
    assert 25 <= len(points.points) <= 35  # stations of weight 0 are left out
    assert points.stations() is not None


def test_weighted_mean_renormalises_and_drops_thin_hours() -> None:
    pts = PointSet(
        "t",
        (
            WeatherPoint("a", "A", 48.0, 2.0, 6.0),
            WeatherPoint("b", "B", 45.0, 5.0, 3.0),
            WeatherPoint("c", "C", 43.0, 5.0, 1.0),
        ),
        "0" * 8,
    )
    h0, h1, h2 = pd.date_range("2024-01-15", periods=3, freq="h", tz="UTC")
    rows = pd.DataFrame(
        {
            "timestamp": [h0, h0, h0, h1, h1, h2, h2, h2],
            "area": ["a", "b", "c", "a", "c", "a", "b", "FR"],
            "variable": "t",
            "value": [1.0, 4.0, 10.0, 2.0, 12.0, np.nan, 5.0, 99.0],
        }
    )
    means = weighted_mean(rows, pts).set_index("timestamp")
    assert means.loc[h0, "value"] == pytest.approx((6 + 12 + 10) / 10)
    assert means.loc[h1, "value"] == pytest.approx((12 + 12) / 7)
    assert means.loc[h1, "share"] == pytest.approx(0.7)
    assert h2 not in means.index  # only b (30 %): under half of the weight; FR rows ignored
    assert share_notes(means.reset_index(), 3) == [
        "t: 1 of 3 FR hours re-weighted over the points present (lowest weight share 70%)",
        "t: 1 of 3 FR hours left out (points holding under 50% of the weight)",
    ]
