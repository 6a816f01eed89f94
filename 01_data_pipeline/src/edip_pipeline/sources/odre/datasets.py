"""ODRÉ dataset definitions: ids, store targets, revision families and the field names they carry.

Field ids and the French labels of ``use_labels=true`` are both accepted; they are matched on a
:func:`slug` so accents and punctuation don't matter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from edip_pipeline.http import SourceError

SOURCE_NAME = "odre"
ATTRIBUTION = "ODRÉ / RTE éCO2mix, Licence Ouverte / Etalab 2.0"

#: INSEE legal populations 2021 ("population municipale", in force on 1 January 2024) of the 13
#: mainland regions, by INSEE region code. Weights of the national temperature: heating and cooling
#: demand follow where people live, not the land area.
REGION_POPULATION: dict[str, int] = {
    "11": 12_317_279,  # Île-de-France
    "24": 2_573_295,  # Centre-Val de Loire
    "27": 2_800_194,  # Bourgogne-Franche-Comté
    "28": 3_327_077,  # Normandie
    "32": 5_997_734,  # Hauts-de-France
    "44": 5_561_287,  # Grand Est
    "52": 3_873_096,  # Pays de la Loire
    "53": 3_394_567,  # Bretagne
    "75": 6_033_952,  # Nouvelle-Aquitaine
    "76": 6_022_176,  # Occitanie
    "84": 8_114_361,  # Auvergne-Rhône-Alpes
    "93": 5_131_187,  # Provence-Alpes-Côte d'Azur
    "94": 347_597,  # Corse
}

Kind = Literal["national", "regional", "cqb", "temperature"]


class OdreFormatError(SourceError, ValueError):
    """A payload or file not in the expected ODRÉ format.

    Both a :class:`SourceError` (the message names dataset and URL or file) and a
    :class:`ValueError`, so callers catching either see it.
    """


@dataclass(frozen=True)
class OdreDataset:
    """How one ODRÉ dataset maps onto the canonical store."""

    id: str
    kind: Kind
    target: str
    family: str
    #: real-time datasets are REALTIME whatever ``nature`` says
    realtime: bool = False
    #: months per ``/exports`` call (temperatures are 13 rows a day: a year is small)
    chunk_months: int = 1
    #: ``select=`` for exports/records; only where field ids are confirmed (a wrong id is a 400)
    select: str | None = None

    @property
    def time_field(self) -> str:
        return "date" if self.kind == "temperature" else "date_heure"


_NATIONAL_SELECT = "date_heure,date,heure,nature,consommation,prevision_j1,prevision_j"
_REGIONAL_SELECT = "date_heure,date,heure,nature,code_insee_region,consommation"

ODRE_DATASETS: dict[str, OdreDataset] = {
    d.id: d
    for d in [
        OdreDataset(
            "eco2mix-national-tr", "national", "load_national", "tr", True, select=_NATIONAL_SELECT
        ),
        OdreDataset(
            "eco2mix-national-cons-def",
            "national",
            "load_national",
            "cons-def",
            select=_NATIONAL_SELECT,
        ),
        OdreDataset(
            "eco2mix-regional-tr", "regional", "load_regional", "tr", True, select=_REGIONAL_SELECT
        ),
        OdreDataset(
            "eco2mix-regional-cons-def",
            "regional",
            "load_regional",
            "cons-def",
            select=_REGIONAL_SELECT,
        ),
        OdreDataset("consommation-quotidienne-brute", "cqb", "load_national", "cons-def"),
        OdreDataset(
            "temperature-quotidienne-regionale",
            "temperature",
            "temperature_daily",
            "cons-def",
            chunk_months=12,
        ),
    ]
}

#: field id → accepted column names (field ids and the French labels of ``use_labels=true``);
#: matched on a slug (ASCII, lower case, alphanumerics only) so accents and punctuation don't matter
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "date_heure": ("date_heure", "Date - Heure"),
    "date": ("date", "Date"),
    "heure": ("heure", "Heure"),
    "nature": ("nature", "Nature"),
    "consommation": ("consommation", "Consommation (MW)"),
    "prevision_j1": ("prevision_j1", "Prévision J-1 (MW)"),
    "prevision_j": ("prevision_j", "Prévision J (MW)"),
    "code_insee_region": ("code_insee_region", "Code INSEE région"),
    "consommation_brute_electricite_rte": (
        "consommation_brute_electricite_rte",
        "Consommation brute électricité (MW) - RTE",
    ),
    "statut_rte": ("statut_rte", "Statut - RTE"),
    "flag_ignore": ("flag_ignore", "Flag ignore"),
    "tmin": ("tmin", "TMin (°C)"),
    "tmax": ("tmax", "TMax (°C)"),
    "tmoy": ("tmoy", "TMoy (°C)"),
}

#: value field → canonical variable, per dataset kind
VARIABLES: dict[Kind, dict[str, str]] = {
    "national": {
        "consommation": "consumption_mw",
        "prevision_j1": "forecast_d1_mw",
        "prevision_j": "forecast_d_mw",
    },
    "regional": {"consommation": "consumption_mw"},
    "cqb": {"consommation_brute_electricite_rte": "consumption_mw"},
    "temperature": {"tmin": "tmin_c", "tmax": "tmax_c", "tmoy": "tmean_c"},
}

#: fields that must be present (besides at least one value field)
REQUIRED: dict[Kind, tuple[str, ...]] = {
    "national": ("date_heure",),
    "regional": ("date_heure", "code_insee_region"),
    "cqb": ("date_heure",),
    "temperature": ("date", "code_insee_region"),
}
OPTIONAL = ("date", "heure", "nature", "statut_rte", "flag_ignore")


def slug(name: object) -> str:
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]", "", text)


SLUG_TO_FIELD: dict[str, str] = {
    slug(alias): fid for fid, aliases in FIELD_ALIASES.items() for alias in aliases
}


def dataset_spec(dataset: str) -> OdreDataset:
    try:
        return ODRE_DATASETS[dataset]
    except KeyError:
        raise ValueError(
            f"unknown ODRE dataset {dataset!r}; known: {sorted(ODRE_DATASETS)}"
        ) from None
