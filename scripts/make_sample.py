"""Rebuild the bundled sample from ``../shared/data/eco2mix/`` (maintainers only).

Keeps the :00/:30 rows (the extract's :15/:45 values are linear interpolations), as int32 MW with
the Paris wall-clock times exactly as published. Attribution: RTE — éCO2mix, Licence Ouverte 2.0.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT.parent / "shared/data/eco2mix/eco2mix_national_15min_2019-2020.csv.gz"
DST = ROOT / "01_data_pipeline/src/edip_pipeline/data/eco2mix_national_2019_2020.parquet"


def main() -> None:
    raw = pd.read_csv(SRC)
    time = pd.to_datetime(raw["Time"])
    half = time.dt.minute.isin([0, 30]).to_numpy()
    out = pd.DataFrame(
        {
            "time_paris": time[half].astype("datetime64[s]").to_numpy(),
            "consommation_mw": raw.loc[half, "Consommation (MW)"].astype("int32").to_numpy(),
            "gaz_mw": raw.loc[half, "Gaz (MW)"].astype("int32").to_numpy(),
            "nucleaire_mw": raw.loc[half, "Nucléaire (MW)"].astype("int32").to_numpy(),
        }
    )
    out.to_parquet(DST, index=False, compression="zstd", compression_level=19)


if __name__ == "__main__":
    main()
