"""Bytecode for what a serving process imports, and nothing else (the API image's builder stage).

pip compiles every module it installs, several times what a serving process imports; this drops
that bytecode (every ``__pycache__`` of the virtualenv's site-packages) and then starts the real app (``create_app``
and its lifespan through a test client, on an empty data directory, with an MLflow URI that
refuses at once), asks the routes a probe asks, and imports what the serving path loads lazily
(onnxruntime, pyarrow reading the bundled sample's parquet, the PostgreSQL driver, uvicorn's
uvloop/httptools protocol, the calendars the features read). Python writes the ``.pyc`` of every
module so imported; the edip packages are compiled whole. A module this misses is compiled in
memory when first imported (the image's user cannot write the virtualenv): a slower first
import, never a failure.

    python serving_bytecode.py      (PYTHONDONTWRITEBYTECODE unset; run as the venv's owner)
"""

from __future__ import annotations

import compileall
import importlib
import logging
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path

LAZY_MODULES = (
    "edip_api.cli",
    "onnxruntime",
    "psycopg2",
    "sqlalchemy.dialects.postgresql.psycopg2",
    "sqlalchemy.dialects.sqlite.pysqlite",
    "alembic.command",
    "uvicorn.main",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.protocols.http.h11_impl",
    "uvicorn.protocols.websockets.websockets_impl",
    "uvicorn.lifespan.on",
    "vacances_scolaires_france",
)
PROBES = ("/health", "/ready", "/v1/model", "/metrics", "/openapi.json")

log = logging.getLogger("serving_bytecode")


def run_app(data_dir: Path) -> None:
    """The app's start-up, a few requests and its shutdown, as a served process does them."""
    os.environ.update(
        EDIP_ENVIRONMENT="development",
        EDIP_DATA_DIR=str(data_dir),
        MLFLOW_TRACKING_URI="http://127.0.0.1:9",  # refused at once: the fallback path
        EDIP_REGISTRY_TIMEOUT_S="2",
    )
    from fastapi.testclient import TestClient

    from edip_api.main import create_app

    with TestClient(create_app()) as client:
        for path in PROBES:
            log.info("GET %s -> %d", path, client.get(path).status_code)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    if sys.dont_write_bytecode:
        log.error("PYTHONDONTWRITEBYTECODE is set: nothing would be written")
        return 1
    site = Path(sysconfig.get_paths()["purelib"])
    caches = sorted(site.rglob("__pycache__"))
    for cache in caches:
        shutil.rmtree(cache)
    log.info("removed %d __pycache__ directories under %s", len(caches), site)
    with tempfile.TemporaryDirectory(prefix="edip-bytecode-") as tmp:
        run_app(Path(tmp))
    for name in LAZY_MODULES:
        importlib.import_module(name)
    import pandas as pd
    import pyarrow.dataset  # noqa: F401  (what pandas reads the store's parquet files with)

    import edip_pipeline

    sample = Path(str(edip_pipeline.__file__)).parent / "data"
    for parquet in sorted(sample.glob("*.parquet")):
        log.info("read %s: %d rows", parquet.name, len(pd.read_parquet(parquet)))
    import holidays

    holidays.country_holidays("FR", years=2020)
    import edip_api

    for package in (edip_api, edip_pipeline):
        compileall.compile_dir(Path(str(package.__file__)).parent, quiet=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
