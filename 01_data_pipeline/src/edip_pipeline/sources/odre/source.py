"""The ODRÉ connector: HTTP transport over ``/records`` pages and ``/exports/json`` chunks.

Periods up to :attr:`OdreSource.RECORDS_MAX_PERIOD` go through paginated ``/records`` (cheap
incremental pulls), longer ones through ``/exports/json`` one Paris month per call (exports have no
10 000-row cap and cost one call of the 50 000/month/dataset quota each). Every response body is
kept in the raw layer before it is parsed.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import pandas as pd

from edip_pipeline.config import Settings, get_settings
from edip_pipeline.http import HttpClient, SourceError, decode_json
from edip_pipeline.schema import KEY
from edip_pipeline.sources.base import Batch, Period
from edip_pipeline.sources.odre.datasets import (
    ATTRIBUTION,
    ODRE_DATASETS,
    SOURCE_NAME,
    OdreDataset,
    OdreFormatError,
    dataset_spec,
)
from edip_pipeline.sources.odre.files import rows_from_json
from edip_pipeline.sources.odre.paging import chunks, query_params, split_window, window
from edip_pipeline.sources.odre.records import concat, dedupe, empty, parse_records
from edip_pipeline.store import Store

log = logging.getLogger(__name__)


class OdreSource:
    """Connector for the ODRÉ Explore v2.1 API (see the package and module docstrings)."""

    name: ClassVar[str] = SOURCE_NAME
    datasets: ClassVar[tuple[str, ...]] = tuple(ODRE_DATASETS)
    revision_family: ClassVar[dict[str, str]] = {k: v.family for k, v in ODRE_DATASETS.items()}
    #: periods up to this long use ``/records`` (a few pages: incremental pulls); longer ones use
    #: monthly ``/exports/json`` (one call per month, no row cap)
    RECORDS_MAX_PERIOD: ClassVar[pd.Timedelta] = pd.Timedelta(days=2)
    #: ``/records`` page size (the API's maximum)
    PAGE_LIMIT: ClassVar[int] = 100
    #: ``/records`` refuses ``offset + limit`` above this: larger windows are halved
    RECORDS_CAP: ClassVar[int] = 10_000

    def __init__(self, settings: Settings | None = None, client: HttpClient | None = None) -> None:
        self.settings = settings or get_settings()
        self.client = client or HttpClient(self.settings)
        self.base_url = self.settings.odre_base_url.rstrip("/")

    def target_datasets(self, dataset: str) -> list[str]:
        return [dataset_spec(dataset).target]

    # ---------------------------------------------------------------- HTTP
    def _get(
        self, spec: OdreDataset, endpoint: str, params: dict[str, Any], store: Store
    ) -> tuple[str, Any]:
        url = f"{self.base_url}/catalog/datasets/{spec.id}/{endpoint}"
        resp = self.client.get(url, dataset=spec.id, params=params)
        store.save_raw(SOURCE_NAME, spec.id, resp.content, "json")  # raw first, parse after
        return resp.url, decode_json(resp, spec.id)

    def _records_window(
        self, spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp, store: Store
    ) -> tuple[str, list[dict[str, Any]]] | None:
        """Every record of one window through ``/records``, or None when it holds more rows than
        ``offset + limit <= RECORDS_CAP`` can reach (the caller then splits the window)."""
        records: list[dict[str, Any]] = []
        first_url = ""
        offset = 0
        while True:
            if offset + self.PAGE_LIMIT > self.RECORDS_CAP:
                return None
            params = {**query_params(spec, lo, hi), "limit": self.PAGE_LIMIT, "offset": offset}
            url, payload = self._get(spec, "records", params, store)
            first_url = first_url or url
            if not (
                isinstance(payload, dict)
                and isinstance(payload.get("results"), list)
                and isinstance(payload.get("total_count"), int)
            ):
                keys = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
                raise OdreFormatError(
                    spec.id, url, f"expected {{'total_count': int, 'results': [...]}}, got {keys}"
                )
            total = int(payload["total_count"])
            if total > self.RECORDS_CAP:
                log.info("%s: %d rows in %s → %s, splitting", spec.id, total, lo, hi)
                return None
            results = rows_from_json(payload["results"], spec.id, url)
            records.extend(results)
            offset += self.PAGE_LIMIT
            if not results or offset >= total:
                return first_url, records

    def _fetch_records(
        self, spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp, store: Store
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        out: list[tuple[str, list[dict[str, Any]]]] = []
        pending = [(lo, hi)]
        while pending:
            a, b = pending.pop(0)
            got = self._records_window(spec, a, b, store)
            if got is not None:
                out.append(got)
                continue
            half = split_window(spec, a, b)
            if half is None:
                url = f"{self.base_url}/catalog/datasets/{spec.id}/records"
                raise SourceError(
                    spec.id, url, f"window {a} → {b} exceeds {self.RECORDS_CAP} rows, can't split"
                )
            pending[0:0] = [(a, half[1]), (half[1], b)]
        return out

    def _fetch_exports(
        self, spec: OdreDataset, lo: pd.Timestamp, hi: pd.Timestamp, store: Store
    ) -> list[tuple[str, list[dict[str, Any]]]]:
        out: list[tuple[str, list[dict[str, Any]]]] = []
        for a, b in chunks(spec, lo, hi):
            url, payload = self._get(spec, "exports/json", query_params(spec, a, b), store)
            if not isinstance(payload, list):
                kind = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
                raise OdreFormatError(spec.id, url, f"expected a bare JSON array, got {kind}")
            out.append((url, rows_from_json(payload, spec.id, url)))
            log.info("%s: %d rows for %s → %s", spec.id, len(payload), a, b)
        return out

    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        """Download ``dataset`` over ``period`` (UTC, half-open), keep raw bodies, parse."""
        spec = dataset_spec(dataset)
        lo, hi = window(spec, period)
        if lo >= hi:
            return [Batch(spec.target, empty(), [ATTRIBUTION])]
        if period.end - period.start <= self.RECORDS_MAX_PERIOD:
            pages = self._fetch_records(spec, lo, hi, store)
        else:
            pages = self._fetch_exports(spec, lo, hi, store)
        frames: list[pd.DataFrame] = []
        notes: list[str] = [ATTRIBUTION]
        for url, records in pages:
            for batch in parse_records(dataset, records, origin=url):
                frames.append(batch.frame)
                notes.extend(n for n in batch.notes if n != ATTRIBUTION)
        rows, conflicts = dedupe(concat(frames))  # pages may overlap if ODRÉ republished
        if conflicts:
            notes.append(f"{conflicts} keys with conflicting duplicate values dropped")
        rows = rows.sort_values(KEY, kind="mergesort").reset_index(drop=True)
        return [Batch(spec.target, rows, notes)]
