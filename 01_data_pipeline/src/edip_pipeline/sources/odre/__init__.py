"""ODRÉ connector (Opendatasoft Explore v2.1): éCO2mix load, gross consumption, daily temperatures.

Datasets (ODRÉ id → canonical store dataset)
--------------------------------------------
* ``eco2mix-national-tr`` / ``eco2mix-national-cons-def`` → ``load_national`` (``consumption_mw``,
  ``forecast_d1_mw``, ``forecast_d_mw``; only :00/:30 rows, since the canonical step is 30 min).
* ``eco2mix-regional-tr`` / ``eco2mix-regional-cons-def`` → ``load_regional`` (area = INSEE code).
* ``consommation-quotidienne-brute`` → ``load_national`` (``consumption_mw``, vintage from
  ``statut_rte``).
* ``temperature-quotidienne-regionale`` → ``temperature_daily`` (``tmin_c``/``tmax_c``/``tmean_c``
  per region, plus area ``FR``: the population-weighted mean of the regions present that day).

Modules: :mod:`.datasets` (definitions), :mod:`.fields` (column readers), :mod:`.records`
(records → canonical rows, clock-change phantoms), :mod:`.files` (hand-downloaded exports),
:mod:`.paging` (query windows and chunks), :mod:`.source` (the HTTP connector).

This package re-exports what the source registry (``OdreSource``), ``edip ingest --from-file``
(``parse_file``) and the benches import by the package name.
"""

from __future__ import annotations

from edip_pipeline.sources.odre.datasets import (
    ATTRIBUTION,
    ODRE_DATASETS,
    REGION_POPULATION,
    SOURCE_NAME,
    OdreDataset,
    OdreFormatError,
)
from edip_pipeline.sources.odre.files import parse_file
from edip_pipeline.sources.odre.records import national_temperature, parse_records
from edip_pipeline.sources.odre.source import OdreSource

__all__ = [
    "ATTRIBUTION",
    "ODRE_DATASETS",
    "REGION_POPULATION",
    "SOURCE_NAME",
    "OdreDataset",
    "OdreFormatError",
    "OdreSource",
    "national_temperature",
    "parse_file",
    "parse_records",
]
