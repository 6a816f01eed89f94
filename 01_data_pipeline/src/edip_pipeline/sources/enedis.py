"""Enedis open data: half-hourly regional consumption by segment, profile and power range.

Why the native Data Fair API (``/datasets/{id}/lines``) rather than the ODS-compat layer: it
paginates with an ``after`` cursor (the absolute ``next`` URL) and has no ``offset + limit <=
10 000`` cap, so one month of every region (~700 000 rows) is a plain cursor walk. Filters use the
field suffixes (``horodate_gte`` / ``horodate_lt``, ``code_region_in``); plain ``field=value``
parameters are silently ignored by Data Fair.

Canonical rows (store dataset ``load_enedis``):

* ``timestamp`` = ``horodate`` (already UTC), ``area`` = ``code_region`` (INSEE region code);
* ``variable`` = ``"{segment}:{profil}:{plage}"`` (``conso-sup36-region`` adds ``:{secteur}``)
  where ``segment`` is ``inf36``/``sup36`` and each label goes through :func:`label_slug`:
  a ``"CODE: description"`` label keeps its lowercased code (``"P1: ]0-3] kVA"`` → ``p1``),
  anything else is lowercased, accents stripped, and each run of characters outside
  ``[a-z0-9.-]`` becomes ``_`` (``"RES1 (+ RES1WE)"`` → ``res1_res1we``);
* ``value`` = mean power in MW: ``total_energie_soutiree_wh`` is energy over the half hour, so
  MW = Wh / 0.5 h / 1e6.

Statistical secrecy: a masked total (``"S"`` or any non-numeric text, or ``null``) produces no row
(the cleaner turns the hole into a MISSING row); masked counts are logged and put in the batch
notes. Publication lags about a quarter: this is a segmentation source, not a real-time one.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from edip_pipeline.config import Settings, get_settings
from edip_pipeline.http import HttpClient, SourceError, decode_json
from edip_pipeline.schema import COLUMNS, Vintage, empty_frame
from edip_pipeline.sources.base import Batch, Period, canonical, lenient_float

if TYPE_CHECKING:
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

ATTRIBUTION = "Enedis open data (opendata.enedis.fr), Licence Ouverte / Etalab 2.0"
PAGE_SIZE = 10_000  # Data Fair's maximum page size
WH_PER_HALF_HOUR_TO_MW = 1.0 / 0.5 / 1e6

#: source dataset -> (segment slug, label fields that make up the variable)
DATASETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "conso-inf36-region": ("inf36", ("profil", "plage_de_puissance_souscrite")),
    "conso-sup36-region": (
        "sup36",
        ("profil", "plage_de_puissance_souscrite", "secteur_activite"),
    ),
}

_CODE_LABEL = re.compile(r"^\s*([A-Za-z0-9]+)\s*:")


def label_slug(label: Any) -> str:
    """Schema-safe slug of an Enedis label (see the module docstring for the rule)."""
    text = "" if label is None else str(label)
    match = _CODE_LABEL.match(text)
    if match:
        text = match.group(1)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9.\-]+", "_", text).strip("_")
    return slug or "unknown"


def _iso_z(ts: pd.Timestamp) -> str:
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _read_rows(results: list[Any], dataset: str, url: str) -> tuple[pd.DataFrame | None, int, int]:
    """One page's rows as long (timestamp, area, variable, MW) plus the masked and null counts;
    None when no row has both a horodate and a region."""
    segment, label_fields = DATASETS[dataset]
    stamps: list[str] = []
    areas: list[str] = []
    variables: list[str] = []
    values: list[float] = []
    masked = nulls = 0
    for row in results:
        if not isinstance(row, dict) or "horodate" not in row or "code_region" not in row:
            raise SourceError(dataset, url, f"row without horodate/code_region: {str(row)[:200]}")
        if row["horodate"] is None or row["code_region"] is None:
            continue
        raw = row.get("total_energie_soutiree_wh")
        wh = lenient_float(raw)
        if math.isnan(wh):
            if raw is None or raw == "":
                nulls += 1
            else:
                masked += 1
        stamps.append(str(row["horodate"]))
        areas.append(str(row["code_region"]))
        variables.append(":".join([segment, *(label_slug(row.get(f)) for f in label_fields)]))
        values.append(wh * WH_PER_HALF_HOUR_TO_MW)
    if not stamps:
        return None, masked, nulls
    try:
        ts = pd.to_datetime(stamps, utc=True, format="ISO8601")
    except (ValueError, TypeError) as exc:
        raise SourceError(dataset, url, f"unreadable horodate: {exc}") from exc
    long = pd.DataFrame(
        {
            "timestamp": pd.DatetimeIndex(ts).astype("datetime64[ns, UTC]"),
            "area": areas,
            "variable": variables,
            "value": values,
        }
    )
    return long, masked, nulls


def _summed(long: pd.DataFrame, source: str) -> pd.DataFrame:
    """Canonical rows, one per (area, variable, timestamp)."""
    # two labels with the same slug are one segment split in two: energy adds up, but a sum with
    # a masked part would be a silent underestimate, so such a key gets no row at all
    long = long.assign(hole=long["value"].isna())
    long = long.groupby(["area", "variable", "timestamp"], sort=True, as_index=False).agg(
        value=("value", "sum"), hole=("hole", "any")
    )
    long = long[~long["hole"]]
    if long.empty:
        return empty_frame()
    frames = [
        canonical(
            part["timestamp"],
            part["value"].to_numpy(),
            variable=str(variable),
            area=str(area),
            vintage=int(Vintage.CONSOLIDATED),
            source=source,
        )
        for (area, variable), part in long.groupby(["area", "variable"], sort=True)
    ]
    return pd.concat(frames, ignore_index=True)


def parse_lines(
    payload: Any, *, dataset: str, url: str, source: str
) -> tuple[pd.DataFrame, int, int]:
    """Canonical rows from one ``lines`` page, plus the counts of masked and null totals."""
    if not isinstance(payload, dict) or not isinstance(payload.get("results"), list):
        raise SourceError(dataset, url, "expected a Data Fair page {'results': [...], 'next': ...}")
    long, masked, nulls = _read_rows(payload["results"], dataset, url)
    if long is None:
        return empty_frame(), masked, nulls
    return _summed(long, source), masked, nulls


class EnedisSource:
    """Enedis ``conso-inf36-region`` / ``conso-sup36-region`` → ``load_enedis`` (MW)."""

    name: ClassVar[str] = "enedis"
    datasets: ClassVar[tuple[str, ...]] = tuple(DATASETS)
    revision_family: ClassVar[dict[str, str]] = dict.fromkeys(DATASETS, "enedis")

    def __init__(
        self,
        settings: Settings | None = None,
        client: HttpClient | None = None,
        *,
        regions: list[str] | None = None,
    ) -> None:
        self.settings = settings or get_settings()
        self.client = client or HttpClient(self.settings)
        self.regions = regions  # None = every region

    def target_datasets(self, dataset: str) -> list[str]:
        self._check(dataset)
        return ["load_enedis"]

    def _check(self, dataset: str) -> None:
        if dataset not in DATASETS:
            raise SourceError(
                dataset, self.settings.enedis_base_url, f"unknown dataset; known: {list(DATASETS)}"
            )

    def params(self, dataset: str, period: Period) -> dict[str, str]:
        """Query of the first page (later pages follow the ``next`` URL as given)."""
        _, label_fields = DATASETS[dataset]
        fields = ["horodate", "code_region", *label_fields, "total_energie_soutiree_wh"]
        params = {
            "size": str(PAGE_SIZE),
            "sort": "horodate",
            "select": ",".join(fields),
            "horodate_gte": _iso_z(period.start),
            "horodate_lt": _iso_z(period.end),
        }
        if self.regions:
            params["code_region_in"] = ",".join(self.regions)
        return params

    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        """Walk the ``next`` cursor, keeping each page raw, and return MW rows in ``period``."""
        self._check(dataset)
        source = f"{self.name}:{dataset}"
        url: str | None = f"{self.settings.enedis_base_url.rstrip('/')}/datasets/{dataset}/lines"
        params: dict[str, str] | None = self.params(dataset, period)
        frames: list[pd.DataFrame] = []
        masked = nulls = pages = 0
        visited: set[str] = set()
        while url:
            resp = self.client.get(url, dataset=dataset, params=params)
            store.save_raw(self.name, dataset, resp.content, "json")
            payload = decode_json(resp, dataset)
            frame, m, n = parse_lines(payload, dataset=dataset, url=resp.url, source=source)
            pages += 1
            masked += m
            nulls += n
            if not frame.empty:
                frames.append(frame)
            visited.add(resp.url)
            nxt = payload.get("next")
            if nxt is not None and not isinstance(nxt, str):
                raise SourceError(dataset, resp.url, f"'next' is not a URL: {nxt!r}")
            if not payload["results"] or not nxt:
                break
            if nxt in visited:
                raise SourceError(dataset, resp.url, f"pagination loops back to {nxt}")
            url, params = nxt, None
        frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
        frame = frame[(frame["timestamp"] >= period.start) & (frame["timestamp"] < period.end)]
        frame = frame.drop_duplicates(["timestamp", "area", "variable"], keep="last")
        frame = frame.sort_values(["timestamp", "area", "variable"]).reset_index(drop=True)[COLUMNS]
        notes = [ATTRIBUTION]
        if masked or nulls:
            log.info(
                "%s: skipped %d totals masked by statistical secrecy and %d null totals",
                source,
                masked,
                nulls,
            )
            notes.append(f"skipped {masked} masked ('S') and {nulls} null totals")
        log.info("%s: %d rows from %d page(s)", source, len(frame), pages)
        return [Batch("load_enedis", frame, notes)]
