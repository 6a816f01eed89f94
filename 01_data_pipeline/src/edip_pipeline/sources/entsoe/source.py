"""The ENTSO-E connector: total load, day-ahead forecast (A65/A01) and actual (A65/A16), for
RTE's bidding zone, one call per process type and year, through entsoe-py."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, NoReturn

import pandas as pd
import requests
from entsoe import EntsoeRawClient
from entsoe.exceptions import NoMatchingDataError

from edip_pipeline.config import Settings, get_settings
from edip_pipeline.http import SourceError
from edip_pipeline.schema import COLUMNS, empty_frame
from edip_pipeline.sources.base import Batch, Period
from edip_pipeline.sources.entsoe.client import make_client, redact
from edip_pipeline.sources.entsoe.parsing import (
    ATTRIBUTION,
    DATASET,
    PROCESS,
    STORE_DATASET,
    acknowledgement_reason,
    parse_document,
    quiet_soup,
)
from edip_pipeline.sources.openmeteo.ratelimit import WeightedRateLimiter

if TYPE_CHECKING:
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: RTE's bidding zone (France), the ``outBiddingZone_Domain`` of every query
ZONE = "10YFR-RTE------C"
MISSING_TOKEN = (
    "ENTSO-E disabled: set EDIP_ENTSOE_TOKEN (a security token of the Transparency Platform: "
    "register, then ask for 'Restful API access' in the account settings)"
)
#: the platform allows 400 requests a minute per token; past it, a 10-minute ban
LIMITER = WeightedRateLimiter(((60.0, 400.0),), name="entsoe")


def year_chunks(period: Period) -> list[Period]:
    """At most one year per query (the platform's limit for A65)."""
    out: list[Period] = []
    cur = period.start
    while cur < period.end:
        nxt = min(pd.Timestamp(cur + pd.DateOffset(years=1)), period.end)
        out.append(Period(cur, nxt))
        cur = nxt
    return out


def _explain(exc: requests.RequestException, url: str) -> NoReturn:
    """A requests failure as a :class:`SourceError`, the token blanked, 401 explained."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    hint = " (check EDIP_ENTSOE_TOKEN)" if status in (401, 403) else ""
    text = response.text if response is not None else ""
    body = redact(acknowledgement_reason(text) or text[:300])
    reason = f"HTTP {status}: {body}" if status else f"network error: {redact(str(exc))}"
    raise SourceError(DATASET, url, reason + hint) from None


class EntsoeSource:
    """ENTSO-E Transparency Platform ``total-load`` → ``load_entsoe`` (FR, hourly MW)."""

    name: ClassVar[str] = "entsoe"
    datasets: ClassVar[tuple[str, ...]] = (DATASET,)
    revision_family: ClassVar[dict[str, str]] = {DATASET: "tr"}

    def __init__(
        self,
        settings: Settings | None = None,
        client: object | None = None,
        *,
        limiter: WeightedRateLimiter | None = None,
        make: Callable[[Settings, str], EntsoeRawClient] = make_client,
    ) -> None:
        # ``client`` (EDIP's httpx client) is accepted for the registry's signature: entsoe-py
        # brings its own (requests) session, configured by :func:`make_client`
        self.settings = settings or get_settings()
        self.limiter = limiter or LIMITER
        self._make = make

    @staticmethod
    def enabled(settings: Settings | None = None) -> bool:
        return (settings or get_settings()).entsoe_enabled

    def target_datasets(self, dataset: str) -> list[str]:
        self._check(dataset)
        return [STORE_DATASET]

    @property
    def url(self) -> str:
        return self.settings.entsoe_base_url

    def _check(self, dataset: str) -> None:
        if dataset != DATASET:
            raise SourceError(dataset, self.url, f"unknown dataset; known: [{DATASET!r}]")

    def _query(self, client: EntsoeRawClient, process: str, chunk: Period) -> str | None:
        """One A65 query; None when the platform has no data for it."""
        self.limiter.acquire(1.0)
        try:
            with quiet_soup():
                if process == "A16":
                    return client.query_load(ZONE, start=chunk.start, end=chunk.end)
                return client.query_load_forecast(
                    ZONE, start=chunk.start, end=chunk.end, process_type=process
                )
        except NoMatchingDataError:
            return None
        except requests.RequestException as exc:
            _explain(exc, self.url)
        except Exception as exc:  # entsoe-py's other refusals (parameters, pagination)
            raise SourceError(DATASET, self.url, redact(f"{type(exc).__name__}: {exc}")) from None

    def fetch(self, dataset: str, period: Period, store: Store) -> list[Batch]:
        """Forecast and actual of ``period``, yearly queries, raw answers kept."""
        self._check(dataset)
        token = self.settings.entsoe_token
        if token is None or not token.get_secret_value():
            raise SourceError(dataset, self.url, MISSING_TOKEN)
        client = self._make(self.settings, token.get_secret_value())
        frames: list[pd.DataFrame] = []
        notes = [ATTRIBUTION]
        for chunk in year_chunks(period):
            for process in PROCESS:
                text = self._query(client, process, chunk)
                if text is None:
                    notes.append(f"{process}: no data {chunk.start} → {chunk.end}")
                    continue
                store.save_raw(self.name, dataset, text.encode("utf-8"), "xml")
                frame, more = parse_document(
                    text, process, url=self.url, source=f"{self.name}:{dataset}"
                )
                frames.append(frame)
                notes += more
        frame = pd.concat(frames, ignore_index=True) if frames else empty_frame()
        frame = frame[(frame["timestamp"] >= period.start) & (frame["timestamp"] < period.end)]
        frame = frame.drop_duplicates(["timestamp", "area", "variable"], keep="last")
        frame = frame.sort_values(["timestamp", "variable"]).reset_index(drop=True)[COLUMNS]
        log.info("entsoe: %d rows for %s → %s", len(frame), period.start, period.end)
        return [Batch(STORE_DATASET, frame, notes)]
