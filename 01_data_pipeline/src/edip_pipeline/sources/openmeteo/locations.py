"""Open-Meteo weather points: the big French cities, their population weights, and the
population-weighted FR mean (renormalised over the cities that have a value, so a missing city
does not drag the mean to 0)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from edip_pipeline.schema import Vintage, empty_frame
from edip_pipeline.sources.base import canonical


@dataclass(frozen=True)
class City:
    """A weather point: ``slug`` is the canonical ``area``; ``population`` is its weight."""

    slug: str
    name: str
    lat: float
    lon: float
    population: int


#: Big metropolitan cities spread over the 12 mainland regions (Corsica is outside RTE's national
#: perimeter). Coordinates: city centre. Weight basis: INSEE "aires d'attraction des villes 2020"
#: (AAV, zoning 2020, population municipale 2017; French part only for Lille and Strasbourg),
#: rounded to the thousand. Only the *relative* weights matter: a few % error on one city moves
#: the FR mean by hundredths of a degree.
CITIES: tuple[City, ...] = (
    City("paris", "Paris", 48.8566, 2.3522, 13_025_000),
    City("lyon", "Lyon", 45.7640, 4.8357, 2_281_000),
    City("marseille", "Marseille", 43.2965, 5.3698, 1_874_000),
    City("lille", "Lille", 50.6292, 3.0573, 1_510_000),
    City("toulouse", "Toulouse", 43.6047, 1.4442, 1_361_000),
    City("bordeaux", "Bordeaux", 44.8378, -0.5792, 1_248_000),
    City("nantes", "Nantes", 47.2184, -1.5536, 973_000),
    City("strasbourg", "Strasbourg", 48.5734, 7.7521, 790_000),
    City("montpellier", "Montpellier", 43.6108, 3.8767, 788_000),
    City("rennes", "Rennes", 48.1173, -1.6778, 733_000),
    City("rouen", "Rouen", 49.4432, 1.0999, 706_000),
    City("nice", "Nice", 43.7102, 7.2620, 624_000),
    City("tours", "Tours", 47.3941, 0.6848, 516_000),
    City("clermont-ferrand", "Clermont-Ferrand", 45.7772, 3.0870, 502_000),
    City("dijon", "Dijon", 47.3220, 5.0415, 386_000),
)


def national_mean(
    city_rows: pd.DataFrame, cities: Sequence[City], *, vintage: Vintage, source: str
) -> pd.DataFrame:
    """Population-weighted FR mean per (variable, hour), renormalised over cities with a value."""
    weights = {c.slug: float(c.population) for c in cities}
    rows = city_rows[city_rows["area"].isin(list(weights)) & city_rows["value"].notna()]
    if rows.empty:
        return empty_frame()
    w = rows["area"].map(weights).astype(float)
    tmp = pd.DataFrame(
        {
            "timestamp": rows["timestamp"],
            "variable": rows["variable"],
            "wv": rows["value"] * w,
            "w": w,
        }
    )
    sums = tmp.groupby(["variable", "timestamp"], sort=True)[["wv", "w"]].sum()
    sums = sums[sums["w"] > 0]
    frames = [
        canonical(
            pd.DatetimeIndex(part.index.get_level_values("timestamp")),
            (part["wv"] / part["w"]).to_numpy(),
            variable=str(variable),
            area="FR",
            vintage=int(vintage),
            source=source,
        )
        for variable, part in sums.groupby(level="variable", sort=True)
    ]
    return pd.concat(frames, ignore_index=True) if frames else empty_frame()
