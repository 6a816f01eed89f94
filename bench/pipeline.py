"""Pipeline benchmark: import → clean → store → featurise the long history of national load.

Reads the development file ``../shared/data/odre/consommation-quotidienne-brute_2012-2020.csv.gz``
when present (9 years of 30-min load, exactly as the ODRE portal exports it), else the bundled
sample rewritten in the same export format in a temporary directory. Prints rows per second and the
peak memory of each phase, then times a one-day incremental update.

Targets (2 cores): the 9-year history in under 10 s and 1 GB; a one-day update under 2 s.

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

log = logging.getLogger("bench.pipeline")

DEV_FILE = (
    Path(__file__).resolve().parents[2]
    / "shared/data/odre/consommation-quotidienne-brute_2012-2020.csv.gz"
)
DATASET = "consommation-quotidienne-brute"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample_as_export(path: Path) -> Path:
    """The bundled sample written as an ODRE CSV export (French labels, ';', BOM)."""
    from edip_pipeline.sources.sample import sample_frame

    frame = sample_frame()
    cons = frame[frame["variable"] == "consumption_mw"]
    local = cons["timestamp"].dt.tz_convert("Europe/Paris")
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
    data_dir = args.keep or work / "data"
    os.environ["EDIP_DATA_DIR"] = str(data_dir)
    from edip_pipeline.config import reset_settings_cache

    reset_settings_cache()
    from edip_pipeline.features import build_feature_table, day_ahead_pairs, write_feature_table
    from edip_pipeline.ingest import write_batches
    from edip_pipeline.sources.odre import parse_file
    from edip_pipeline.store import Store

    if DEV_FILE.is_file():
        source_file, what = DEV_FILE, "development file 2012–2020 (ODRE export)"
    else:
        source_file, what = sample_as_export(work / "sample_export.csv"), "bundled sample 2019–2020"
    print(f"input: {what}: {source_file}")  # noqa: T201
    store = Store()
    total_t = 0.0

    batches, dt = timed("parse (--from-file)", lambda: parse_file(DATASET, source_file), 0)
    n_rows = sum(len(b.frame) for b in batches)
    total_t += dt
    print(f"  {n_rows:,} canonical rows")  # noqa: T201
    writes, dt = timed("clean + validate + store", lambda: write_batches(store, batches), n_rows)
    total_t += dt
    load = store.series("load_national", "consumption_mw")
    first_day = (load.index.min().tz_convert("Europe/Paris") + pd.Timedelta(days=16)).normalize()
    last_day = load.index.max().tz_convert("Europe/Paris").normalize()
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

    # one-day incremental update: the last stored day republished with a higher vintage, then
    # the features of the next day-ahead origin
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
    print(f"data version {store.data_version()}  ({writes[0].rows_total:,} rows stored)")  # noqa: T201
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
