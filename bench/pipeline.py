"""Pipeline benchmark: import → clean → store → featurise the long history of national load.

Reads the development file ``../shared/data/odre/consommation-quotidienne-brute_2012-2020.csv.gz``
when present (9 years of 30-min load, exactly as the ODRE portal exports it), else the bundled
sample rewritten in the same export format in a temporary directory. Prints rows per second and the
peak memory of each phase, then times a one-day incremental update.

Targets (2 cores): the 9-year history in under 10 s and 1 GB; a one-day update under 2 s.

Then the same history with an hourly national temperature: the Météo-France SYNOP monthly files
of ``../shared/data/meteofrance/`` when present (2015–2019), else synthetic files written in the
SYNOP format for every month of the load (no real value in them), imported through the connector's
``--from-file`` path and featurised with ``weather="observed"``. Target: import + featurise the
load and the hourly temperature in under 20 s and 1.5 GB.

    python bench/pipeline.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import logging
import os
import resource
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from edip_pipeline.calendar import PARIS

log = logging.getLogger("bench.pipeline")

DEV_FILE = (
    Path(__file__).resolve().parents[2]
    / "shared/data/odre/consommation-quotidienne-brute_2012-2020.csv.gz"
)
DATASET = "consommation-quotidienne-brute"
SYNOP_DIR = Path(__file__).resolve().parents[2] / "shared/data/meteofrance"
SYNOP_HEADER = (
    "numer_sta;date;pmer;tend;cod_tend;dd;ff;t;td;u;vv;ww;w1;w2;n;nbas;hbas;cl;cm;ch;pres;niv_bar;"
    "geop;tend24;tn12;tn24;tx12;tx24;tminsol;sw;tw;raf10;rafper;per;etat_sol;ht_neige;ssfrai;"
    "perssfrai;rr1;rr3;rr6;rr12;rr24;phenspe1;phenspe2;phenspe3;phenspe4;nnuage1;ctype1;hnuage1;"
    "nnuage2;ctype2;hnuage2;nnuage3;ctype3;hnuage3;nnuage4;ctype4;hnuage4;"
)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample_as_export(path: Path) -> Path:
    """The bundled sample written as an ODRE CSV export (French labels, ';', BOM)."""
    from edip_pipeline.sources.sample import sample_frame

    frame = sample_frame()
    cons = frame[frame["variable"] == "consumption_mw"]
    local = cons["timestamp"].dt.tz_convert(PARIS)
    out = pd.DataFrame(
        {
            "Date - Heure": cons["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%S+00:00"),
            "Date": local.dt.strftime("%d/%m/%Y"),
            "Heure": local.dt.strftime("%H:%M"),
            "Consommation brute électricité (MW) - RTE": cons["value"].round().astype(int),
            "Statut - RTE": "Définitif",
        }
    ).iloc[::-1]
    out.to_csv(path, sep=";", index=False, encoding="utf-8-sig")
    return path


def synthetic_synop(folder: Path, first: pd.Timestamp, last: pd.Timestamp) -> Path:
    """SYNOP-format monthly files (made-up values: a seasonal and daily cycle) over the span."""
    import gzip

    import numpy as np

    from edip_pipeline.sources.meteofrance import STATIONS

    folder.mkdir(parents=True, exist_ok=True)
    tail = ";".join(["mq"] * 47) + ";"  # 12 columns written, 59 in all, trailing ";"
    for month in pd.period_range(first.tz_localize(None), last.tz_localize(None), freq="M"):
        times = pd.date_range(month.start_time, month.end_time, freq="3h")
        day = np.asarray(times.dayofyear + times.hour / 24.0)
        lines = [SYNOP_HEADER]
        for k, st in enumerate(STATIONS):
            kelvin = (
                285.15
                - 8 * np.cos(2 * np.pi * day / 365.25)
                - 4 * np.cos(2 * np.pi * (np.asarray(times.hour) - 15) / 24)
                - k / 10
            )
            stamps = times.strftime("%Y%m%d%H%M%S")
            lines += [
                f"{st.wmo};{d};101500;0;0;200;3.0;{t:.6f};{t - 5:.6f};80;20000;0;{tail}"
                for d, t in zip(stamps, kelvin, strict=True)
            ]
        name = f"synop.{month.year:04d}{month.month:02d}.csv.gz"
        (folder / name).write_bytes(gzip.compress("\n".join(lines).encode(), compresslevel=1))
    return folder


def timed(label: str, fn: Callable[[], Any], rows: int | None = None) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t0
    n = rows if rows is not None else (len(result) if hasattr(result, "__len__") else 0)
    rate = f"{n / dt:>12,.0f} rows/s" if n else " " * 19
    print(f"{label:<34} {dt:>7.2f} s {rate}   peak RSS {peak_rss_mb():>7.0f} MB")  # noqa: T201
    return result, dt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Keep the benchmark store in this directory.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    work = Path(tempfile.mkdtemp(prefix="edip-bench-"))
    use_data_dir(args.keep or work / "data")
    from edip_pipeline.store import Store

    if DEV_FILE.is_file():
        source_file, what = DEV_FILE, "development file 2012–2020 (ODRE export)"
    else:
        source_file, what = sample_as_export(work / "sample_export.csv"), "bundled sample 2019–2020"
    print(f"input: {what}: {source_file}")  # noqa: T201
    store = Store()
    rows_total, first_day, last_day, import_t = load_phase(store, source_file)
    weather_phase(store, work, first_day, last_day, import_t)
    incremental_phase(store, last_day)
    print(f"data version {store.data_version()}  ({rows_total:,} rows stored)")  # noqa: T201
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def use_data_dir(data_dir: Path) -> None:
    """Point the pipeline's settings at ``data_dir`` (before any store is opened)."""
    os.environ["EDIP_DATA_DIR"] = str(data_dir)
    from edip_pipeline.config import reset_settings_cache

    reset_settings_cache()


def load_phase(store: Any, source_file: Path) -> tuple[int, pd.Timestamp, pd.Timestamp, float]:
    """Parse, store and featurise the whole load history; (rows stored, first and last feature
    days, the import time counted again by the weather phase)."""
    from edip_pipeline.features import build_feature_table, day_ahead_pairs, write_feature_table
    from edip_pipeline.ingest import write_batches
    from edip_pipeline.sources.odre import parse_file

    total_t = 0.0
    batches, dt = timed("parse (--from-file)", lambda: parse_file(DATASET, source_file), 0)
    n_rows = sum(len(b.frame) for b in batches)
    total_t += dt
    print(f"  {n_rows:,} canonical rows")  # noqa: T201
    writes, dt = timed("clean + validate + store", lambda: write_batches(store, batches), n_rows)
    total_t += dt
    import_t = total_t
    load = store.series("load_national", "consumption_mw")
    first_day = (load.index.min().tz_convert(PARIS) + pd.Timedelta(days=16)).normalize()
    last_day = load.index.max().tz_convert(PARIS).normalize()
    pairs = day_ahead_pairs(first_day, last_day)
    table, dt = timed(
        "featurise (day-ahead, hourly)",
        lambda: build_feature_table(store, pairs, store.params.features),
        len(pairs),
    )
    total_t += dt
    _, dt = timed(
        "write feature table", lambda: write_feature_table(store, table, "features_day_ahead"), 0
    )
    total_t += dt
    print(  # noqa: T201
        f"{'FULL HISTORY':<34} {total_t:>7.2f} s {n_rows / total_t:>12,.0f} rows/s   "
        f"peak RSS {peak_rss_mb():>7.0f} MB   (targets: < 10 s, < 1024 MB)"
    )
    return int(writes[0].rows_total), first_day, last_day, import_t


def incremental_phase(store: Any, last_day: pd.Timestamp) -> None:
    """One-day incremental update: the last stored day republished with a higher vintage, then
    the features of the next day-ahead origin."""
    from edip_pipeline.features import build_feature_table, day_ahead_pairs

    day_start = last_day.tz_convert("UTC")
    last = store.read("load_national", day_start, variables=["consumption_mw"])
    update = last.assign(value=last["value"] + 1.0, vintage=3, source="bench-update", flags=0)
    t0 = time.perf_counter()
    store.write("load_national", update)
    next_pairs = day_ahead_pairs(last_day, last_day)
    build_feature_table(store, next_pairs, store.params.features)
    dt = time.perf_counter() - t0
    print(  # noqa: T201
        f"{'one-day incremental update':<34} {dt:>7.2f} s {len(update):>12,} rows     "
        f"(target: < 2 s)"
    )


def weather_phase(
    store: Any, work: Path, first_day: pd.Timestamp, last_day: pd.Timestamp, load_t: float
) -> None:
    """Import the hourly national temperature and featurise the whole history with it
    (``load_t``: the load's import time, counted in the total)."""
    from edip_pipeline.features import build_feature_table, day_ahead_pairs
    from edip_pipeline.ingest import write_batches
    from edip_pipeline.sources.meteofrance import parse_file as parse_synop

    if any(SYNOP_DIR.glob("synop.*.csv.gz")):
        folder, what = SYNOP_DIR, "Météo-France SYNOP development files"
    else:
        folder = synthetic_synop(work / "synop", first_day, last_day)
        what = "synthetic SYNOP-format files (no development files found)"
    print(f"\nweather input: {what}: {folder}")  # noqa: T201
    batches, t_parse = timed(
        "parse SYNOP (--from-file folder)", lambda: parse_synop("synop", folder), 0
    )
    rows = sum(len(b.frame) for b in batches)
    print(f"  {rows:,} national hourly rows")  # noqa: T201
    _, t_store = timed(
        "clean + validate + store weather", lambda: write_batches(store, batches), rows
    )
    pairs = day_ahead_pairs(first_day, last_day)
    table, t_feat = timed(
        "featurise with hourly temperature",
        lambda: build_feature_table(store, pairs, store.params.features, weather="observed"),
        len(pairs),
    )
    share = float(table.frame["temperature_c"].notna().mean())
    total = load_t + t_parse + t_store + t_feat
    print(  # noqa: T201
        f"{'HISTORY + HOURLY TEMPERATURE':<34} {total:>7.2f} s   {share:>6.1%} of rows with "
        f"temperature   peak RSS {peak_rss_mb():>7.0f} MB   (targets: < 20 s, < 1536 MB)"
    )


if __name__ == "__main__":
    main()
