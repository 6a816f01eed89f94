"""Connectors: one module per publisher, all implementing :class:`~.base.Source`.

``get_source(name)`` builds one by the name ``edip ingest --source`` takes. Modules are imported
lazily so that a CLI call for one source does not pay for the others.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from edip_pipeline.sources.base import Batch, Period, Source, lenient_float

if TYPE_CHECKING:
    from edip_pipeline.config import Settings
    from edip_pipeline.http import HttpClient

SOURCES: dict[str, tuple[str, str]] = {
    "sample": ("edip_pipeline.sources.sample", "SampleSource"),
    "odre": ("edip_pipeline.sources.odre", "OdreSource"),
    "openmeteo": ("edip_pipeline.sources.openmeteo", "OpenMeteoSource"),
    "enedis": ("edip_pipeline.sources.enedis", "EnedisSource"),
    "rte": ("edip_pipeline.sources.rte", "RteSource"),
    "meteofrance": ("edip_pipeline.sources.meteofrance", "MeteoFranceSource"),
    "entsoe": ("edip_pipeline.sources.entsoe", "EntsoeSource"),
}


def get_source(
    name: str, settings: Settings | None = None, client: HttpClient | None = None
) -> Source:
    """Instantiate the connector called ``name``."""
    try:
        module_name, cls_name = SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; choose from {sorted(SOURCES)}") from None
    cls = getattr(import_module(module_name), cls_name)
    if name == "sample":
        return cls()
    return cls(settings=settings, client=client)


__all__ = ["SOURCES", "Batch", "Period", "Source", "get_source", "lenient_float"]
