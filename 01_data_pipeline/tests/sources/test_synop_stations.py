"""SYNOP station positions and the stand-ins of stations absent from the public files."""

from __future__ import annotations

import pytest

from edip_pipeline.sources.synop_stations import (
    POSITIONS,
    STATIONS,
    Station,
    distance_km,
    stand_ins,
)
from edip_pipeline.weather_points import load_points


def test_positions_are_mainland_and_cover_the_builtin_stations() -> None:
    assert {s.wmo for s in STATIONS} <= set(POSITIONS)
    for lat, lon in POSITIONS.values():
        assert 42.3 < lat < 51.2
        assert -5.0 < lon < 8.3
    assert distance_km(POSITIONS["07149"], POSITIONS["07650"]) == pytest.approx(626, abs=5)


def test_every_rte35_station_has_a_stand_in_or_reports() -> None:
    """Each of the 35 reads itself or a public station within reach (Paris reads Orly)."""
    points = load_points("rte35")
    stations = tuple(
        Station(str(p.wmo), p.name, p.weight, position=(p.lat, p.lon)) for p in points.points
    )
    subs, notes = stand_ins(stations, set(POSITIONS))
    absent = {s.wmo for s in stations} - set(POSITIONS)
    assert set(subs) == absent
    assert len(absent) == 12
    assert subs["07156"] == "07149"
    assert subs["07145"] == "07149"
    assert subs["07070"] == "07072"
    assert subs["07180"] == "07181"
    assert len(notes) == 12
    # nothing reports: no stand-in
    assert stand_ins(stations, set()) == ({}, [])
