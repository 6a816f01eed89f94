"""Files downloaded by hand from the ODRÉ portal (``edip ingest --from-file``): CSV (ids or
labels), JSON, JSONL, parquet, optionally gzipped, fed to the same :func:`parse_records` as the
API path. A truncated download is refused, never half-imported."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from edip_pipeline.sources.base import Batch
from edip_pipeline.sources.odre.datasets import OdreDataset, OdreFormatError, dataset_spec
from edip_pipeline.sources.odre.fields import resolve_columns
from edip_pipeline.sources.odre.records import parse_records

log = logging.getLogger(__name__)


def _file_format(path: Path) -> str:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    ext = suffixes[-1] if suffixes else ""
    known = {
        ".csv": "csv",
        ".json": "json",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
    if ext in known:
        return known[ext]
    head = _read_bytes(path)[:4096]
    if head.startswith(b"PAR1"):
        return "parquet"
    text = head.decode("utf-8-sig", errors="replace").lstrip()
    if text.startswith("["):
        return "json"
    if text.startswith("{"):
        return "jsonl" if "\n{" in text else "json"
    return "csv"


def _read_bytes(path: Path) -> bytes:
    if path.suffix.lower() == ".gz":
        with gzip.open(path, "rb") as fh:
            return fh.read()
    return path.read_bytes()


def _read_csv(path: Path, spec: OdreDataset) -> pd.DataFrame:
    """The portal's CSV export (``;``, UTF-8 BOM); ``,`` also accepted. Only needed columns are
    read, all as text, so lenient parsing sees exactly what was written."""
    header = pd.read_csv(path, sep=";", nrows=0, encoding="utf-8-sig")
    sep = ";"
    if len(header.columns) == 1 and "," in str(header.columns[0]):
        sep = ","
        header = pd.read_csv(path, sep=sep, nrows=0, encoding="utf-8-sig")
    cols = resolve_columns(list(header.columns), spec, str(path))
    return pd.read_csv(
        path,
        sep=sep,
        encoding="utf-8-sig",
        dtype=str,
        usecols=list(cols.values()),
        keep_default_na=False,
        na_values=[""],
    )


def _refuse_truncated_csv(data: bytes, dataset: str, origin: str) -> None:
    """A CSV cut short (an interrupted download, ``head -c``) is refused, never imported.

    The portal ends every export with a newline, so a file ending mid-row lost at least part of
    its last row (possibly digits of a value); a last row with fewer fields than the header
    is cut too.
    """
    text = data.rstrip(b"\r\n")
    if not text:
        return
    if not data.endswith(b"\n"):
        raise OdreFormatError(
            dataset,
            origin,
            "truncated CSV: the file ends mid-row (no final newline); "
            "nothing was imported: download the export again",
        )
    lines = text.split(b"\n")
    header, last = lines[0], lines[-1]
    sep = b";" if header.count(b";") else b","
    if len(lines) > 1 and last.count(sep) < header.count(sep):
        raise OdreFormatError(
            dataset,
            origin,
            f"truncated CSV: the last row has {last.count(sep) + 1} of "
            f"{header.count(sep) + 1} fields; nothing was imported: download the export again",
        )


def rows_from_json(payload: Any, dataset: str, origin: str) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and isinstance(payload.get("results"), list):
        payload = payload["results"]  # a saved /records page
    if not isinstance(payload, list) or not all(isinstance(r, dict) for r in payload):
        raise OdreFormatError(dataset, origin, "expected a JSON array of flat records")
    return payload


def parse_file(dataset_id: str, path: Path) -> list[Batch]:
    """Parse a file exported from the ODRÉ portal (CSV with ids or labels, JSON, JSONL, parquet;
    optionally gzipped) through the same record parser as the API path."""
    spec = dataset_spec(dataset_id)
    path = Path(path)
    origin = str(path)
    if not path.is_file():
        raise OdreFormatError(dataset_id, origin, "no such file")
    fmt = _file_format(path)
    try:
        if fmt == "csv":
            _refuse_truncated_csv(_read_bytes(path), dataset_id, origin)
            frame = _read_csv(path, spec)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        elif fmt == "json":
            frame = pd.DataFrame.from_records(
                rows_from_json(
                    json.loads(_read_bytes(path).decode("utf-8-sig")), dataset_id, origin
                )
            )
        else:
            lines = _read_bytes(path).decode("utf-8-sig").splitlines()
            frame = pd.DataFrame.from_records(
                rows_from_json([json.loads(x) for x in lines if x.strip()], dataset_id, origin)
            )
    except OdreFormatError:
        raise
    except (ValueError, OSError, EOFError, UnicodeDecodeError) as exc:
        # a JSON/JSONL/parquet/gzip file cut short fails to parse here (EOFError: gzip)
        raise OdreFormatError(
            dataset_id, origin, f"unreadable {fmt} file (truncated download?): {exc}"
        ) from exc
    log.info("%s: %d rows read from %s", dataset_id, len(frame), path)
    return parse_records(dataset_id, frame, origin=origin)
