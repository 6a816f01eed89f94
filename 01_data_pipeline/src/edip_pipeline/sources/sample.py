"""The bundled sample: a real RTE éCO2mix extract, national consumption 2019–2020.

Source: RTE — éCO2mix (Licence Ouverte / Etalab 2.0), national data at 15 min assembled from the
éCO2mix downloads. Compacted for the package: only the :00 and :30 points are kept (the :15/:45
values of the extract were linear interpolations, not measurements), stored as int32 MW with Paris
wall-clock times exactly as published. ``scripts/make_sample.py`` rebuilds it from
``../shared/data/eco2mix/``.

The sample is what ``make demo`` and the tests use offline; it goes through the same cleaning as
every connector (clock changes: spring's phantom 02:xx rows are dropped, autumn's single 02:xx hour
is read as summer time and the hour after it becomes a short, interpolated and flagged gap).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from importlib import resources
from typing import ClassVar

import numpy as np
import pandas as pd

from edip_pipeline.calendar import paris_wallclock_to_utc
from edip_pipeline.schema import Vintage
from edip_pipeline.sources.base import Batch, Period, canonical
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

SAMPLE_FILE = "eco2mix_national_2019_2020.parquet"
SAMPLE_DATASET = "eco2mix-national-2019-2020"
ATTRIBUTION = "RTE — éCO2mix, Licence Ouverte / Etalab 2.0"
VARIABLES = {"consommation_mw": "consumption_mw", "gaz_mw": "gas_mw", "nucleaire_mw": "nuclear_mw"}


@lru_cache(maxsize=1)
def sample_frame() -> pd.DataFrame:
    """The sample as canonical ``load_national`` rows (cached: it is read-only)."""
    with resources.as_file(resources.files("edip_pipeline.data") / SAMPLE_FILE) as path:
        raw = pd.read_parquet(path)
    utc = paris_wallclock_to_utc(raw["time_paris"])
    keep = np.asarray(utc.notna())
    log.debug("sample: dropped %d phantom spring-forward rows", int((~keep).sum()))
    parts = [
        canonical(
            utc[keep],
            raw.loc[keep, col].astype(float).to_numpy(),
            variable=var,
            area="FR",
            vintage=int(Vintage.DEFINITIVE),
            source="sample",
        )
        for col, var in VARIABLES.items()
    ]
    return pd.concat(parts, ignore_index=True)


def sample_period() -> Period:
    ts = sample_frame()["timestamp"]
    return Period(pd.Timestamp(ts.min()), pd.Timestamp(ts.max()) + pd.Timedelta("30min"))


class SampleSource:
    """Offline source reading the bundled éCO2mix extract."""

    name: ClassVar[str] = "sample"
    datasets: ClassVar[tuple[str, ...]] = (SAMPLE_DATASET,)
    revision_family: ClassVar[dict[str, str]] = {SAMPLE_DATASET: "cons-def"}

    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        frame = sample_frame()
        mask = (frame["timestamp"] >= period.start) & (frame["timestamp"] < period.end)
        return [Batch("load_national", frame[mask].reset_index(drop=True), [ATTRIBUTION])]

    def target_datasets(self, dataset: str) -> list[str]:
        return ["load_national"]
