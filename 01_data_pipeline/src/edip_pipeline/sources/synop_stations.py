"""SYNOP stations: the built-in set weighted by the population of départements, the public
positions of the mainland SYNOP stations, and stand-ins for stations the public files lack.

Why stand-ins: a points file may name stations that are not in the public SYNOP archive (a
dozen of the 35 RTE uses, among them Paris-Montsouris and Trappes). Renormalising over the others
would drop the Paris region from the national mean; instead an absent station reads the nearest
station that reports (within :data:`MAX_STAND_IN_KM`), e.g. Paris-Montsouris reads Orly, 12 km
away, and the notes say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

#: farthest a reporting station may be to stand in for an absent one
MAX_STAND_IN_KM = 150.0


@dataclass(frozen=True)
class Station:
    """A SYNOP station and its weight: the population (thousands) of the départements it stands
    for in :data:`STATIONS`, the weight of its weather point otherwise."""

    wmo: str
    name: str
    population_k: float
    departments: tuple[str, ...] = ()
    #: (latitude, longitude) when known (points files), to find a stand-in when it is absent
    position: tuple[float, float] | None = None


#: Weights: INSEE "populations légales 2019" (population municipale, millésime 2019, published
#: 2021-12) of the départements assigned to the nearest representative inland station, rounded to
#: 10 000. Each of the 94 continental départements is assigned exactly once (checked by a test). Only
#: relative weights matter: a few % error on one station moves the FR mean by hundredths of a degree.
STATIONS: tuple[Station, ...] = (
    Station("07149", "Paris-Orly", 12_260, ("75", "77", "78", "91", "92", "93", "94", "95")),
    Station("07015", "Lille-Lesquin", 4_070, ("59", "62")),
    Station("07005", "Abbeville", 1_930, ("02", "60", "80")),
    Station("07037", "Rouen-Boos", 1_850, ("27", "76")),
    Station("07027", "Caen-Carpiquet", 1_190, ("14", "50")),
    Station("07139", "Alençon", 1_150, ("53", "61", "72")),
    Station("07110", "Brest-Guipavas", 920, ("29",)),
    Station("07130", "Rennes-St-Jacques", 2_440, ("22", "35", "56")),
    Station("07222", "Nantes-Bouguenais", 2_930, ("44", "49", "85")),
    Station("07240", "Tours", 2_050, ("28", "37", "41", "45")),
    Station("07255", "Bourges", 730, ("18", "36", "58")),
    Station("07280", "Dijon-Longvic", 2_120, ("21", "25", "39", "70", "71")),
    Station("07072", "Reims-Prunay", 840, ("08", "51")),
    Station("07168", "Troyes-Barberey", 820, ("10", "52", "89")),
    Station("07181", "Nancy-Ochey", 2_330, ("54", "55", "57", "88")),
    Station("07190", "Strasbourg-Entzheim", 1_130, ("67",)),
    Station("07299", "Bâle-Mulhouse", 910, ("68", "90")),
    Station("07510", "Bordeaux-Mérignac", 2_370, ("24", "33", "47")),
    Station("07335", "Poitiers-Biard", 1_820, ("16", "17", "79", "86")),
    Station("07434", "Limoges-Bellegarde", 730, ("19", "23", "87")),
    Station("07607", "Mont-de-Marsan", 1_100, ("40", "64")),
    Station("07481", "Lyon-St-Exupéry", 5_820, ("01", "38", "42", "69", "73", "74")),
    Station("07460", "Clermont-Ferrand", 1_140, ("03", "15", "63")),
    Station("07471", "Le Puy-Loudes", 230, ("43",)),
    Station("07577", "Montélimar", 840, ("07", "26")),
    Station("07630", "Toulouse-Blagnac", 2_240, ("31", "32", "81", "82")),
    Station("07627", "St-Girons", 150, ("09",)),
    Station("07535", "Gourdon", 170, ("46",)),
    Station("07558", "Millau", 360, ("12", "48")),
    Station("07621", "Tarbes-Ossun", 230, ("65",)),
    Station("07643", "Montpellier", 1_920, ("30", "34")),
    Station("07747", "Perpignan", 850, ("11", "66")),
    Station("07650", "Marseille-Marignane", 2_600, ("13", "84")),
    Station("07661", "Toulon-Cap Cépet", 1_080, ("83",)),
    Station("07690", "Nice", 1_090, ("06",)),
    Station("07591", "Embrun", 310, ("04", "05")),
)


#: Public positions (Météo-France ``postesSynop``, rounded to 0.001°) of the mainland SYNOP
#: stations of the archive files, Corsica aside: where a stand-in is looked for.
POSITIONS: dict[str, tuple[float, float]] = {
    "07005": (50.136, 1.834), "07015": (50.570, 3.098), "07020": (49.725, -1.940),
    "07027": (49.180, -0.456), "07037": (49.383, 1.182), "07072": (49.210, 4.155),
    "07110": (48.444, -4.412), "07117": (48.826, -3.473), "07130": (48.069, -1.734),
    "07139": (48.446, 0.110), "07149": (48.717, 2.384), "07168": (48.325, 4.020),
    "07181": (48.581, 5.960), "07190": (48.550, 7.640), "07207": (47.294, -3.218),
    "07222": (47.150, -1.609), "07240": (47.445, 0.727), "07255": (47.059, 2.360),
    "07280": (47.268, 5.088), "07299": (47.614, 7.510), "07314": (46.047, -1.412),
    "07335": (46.594, 0.314), "07434": (45.861, 1.175), "07460": (45.787, 3.149),
    "07471": (45.075, 3.764), "07481": (45.727, 5.078), "07510": (44.831, -0.691),
    "07535": (44.745, 1.397), "07558": (44.119, 3.020), "07577": (44.581, 4.733),
    "07591": (44.566, 6.502), "07607": (43.910, -0.500), "07621": (43.188, 0.000),
    "07627": (43.005, 1.107), "07630": (43.621, 1.379), "07643": (43.577, 3.963),
    "07650": (43.438, 5.216), "07661": (43.079, 5.941), "07690": (43.649, 7.209),
    "07747": (42.737, 2.873),
}  # fmt: skip


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (latitude, longitude) points."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def stand_ins(
    stations: tuple[Station, ...], reporting: set[str]
) -> tuple[dict[str, str], list[str]]:
    """Absent station → the nearest reporting station (module doc), and a note for each."""
    out: dict[str, str] = {}
    notes: list[str] = []
    for s in stations:
        if s.wmo in reporting or s.position is None:
            continue
        near = sorted(
            (distance_km(s.position, pos), wmo)
            for wmo, pos in POSITIONS.items()
            if wmo in reporting
        )
        if near and near[0][0] <= MAX_STAND_IN_KM:
            km, wmo = near[0]
            out[s.wmo] = wmo
            notes.append(f"{s.wmo} {s.name}: not in the SYNOP files, read from {wmo} ({km:.0f} km)")
    return out, notes
