"""Client-chosen request ids: one id names one forecast, a different payload is refused (409).

Why: the log's idempotent key is ``(request_id, target_time)``, so a reused ``X-Request-ID`` on a
*different* forecast used to drop its rows silently (the first payload "won"). Re-sending the
*same* forecast under the same id stays idempotent (``edip replay`` relies on it). Ids the server
generates are unique by construction and never checked here.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from .log_store import LogStore
from .records import PredictionRecord

#: what makes two logged forecasts "the same" (P50 rounded: floats re-read from a database)
Fingerprint = frozenset[tuple[str, str, str, str, str, float]]


class RequestIdConflictError(ValueError):
    """The request id already names a different logged forecast."""


def fingerprint(rows: Iterable[PredictionRecord | dict[str, object]]) -> Fingerprint:
    """The identity of a logged forecast: endpoint, model, origin (forecasts), targets, P50."""
    out = set()
    for r in rows:
        get = r.get if isinstance(r, dict) else lambda k, r=r: getattr(r, k)
        endpoint = str(get("endpoint"))
        origin = _iso(get("origin")) if endpoint == "forecast" else ""  # predict: origin = now
        out.add(
            (
                endpoint,
                str(get("model_name")),
                str(get("model_version")),
                origin,
                _iso(get("target_time")),
                round(float(get("p50")), 3),  # type: ignore[arg-type]
            )
        )
    return frozenset(out)


def _iso(value: object) -> str:
    if not isinstance(value, datetime):
        return str(value)
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat()


class RequestIdGuard:
    """Remembers the forecast each client id named (memory first, then the log store)."""

    def __init__(self, store: LogStore, size: int = 10_000) -> None:
        self.store = store
        self.size = size
        self._seen: OrderedDict[str, Fingerprint] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, records: Sequence[PredictionRecord]) -> None:
        """Accept ``records`` under their request id, or raise :class:`RequestIdConflictError`.

        Check and claim are one step under a lock, so two concurrent requests reusing an id
        cannot both pass (one process; several workers share only the database check).
        """
        if not records:
            return
        rid = records[0].request_id
        new = fingerprint(records)
        with self._lock:
            known = self._seen.get(rid)
            if known is None:
                logged = self.store.prediction_rows(rid)
                known = fingerprint(logged) if logged else None
            if known is not None and known != new:
                raise RequestIdConflictError(
                    f"X-Request-ID {rid!r} already names a different logged forecast: "
                    "use a new id per forecast (or omit the header)"
                )
            self._seen[rid] = new
            self._seen.move_to_end(rid)
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)
