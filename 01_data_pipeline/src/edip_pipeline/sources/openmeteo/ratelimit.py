"""Open-Meteo's quota, client side: weighted calls
(``max(1, n_vars / 10 * max(1, days / 14)) * n_locations``) against 600/min, 5 000/h and
10 000/day per IP, through one process-wide sliding-window limiter."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)


def weighted_calls(n_vars: int, days: float, n_locations: int) -> float:
    """Open-Meteo's weighted call count: >10 variables or >2 weeks count as several calls."""
    return max(1.0, n_vars / 10 * max(1.0, days / 14)) * n_locations


class WeightedRateLimiter:
    """Sliding-window client-side limiter over weighted calls (600/min, 5 000/h, 10 000/day).

    Blocking before the call is cheaper than a 429, which Open-Meteo answers for a full minute.
    A single call heavier than a window's cap is let through once that window is empty.
    """

    def __init__(
        self,
        limits: Sequence[tuple[float, float]] = (
            (60.0, 600.0),
            (3600.0, 5000.0),
            (86400.0, 10000.0),
        ),
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "open-meteo",
    ) -> None:
        self.limits = tuple(limits)
        self.name = name
        self._clock = clock
        self._sleep = sleep
        self._events: deque[tuple[float, float]] = deque()
        self._lock = threading.Lock()

    def _wait_needed(self, now: float, weight: float) -> float:
        wait = 0.0
        for window, cap in self.limits:
            inside = [(t, w) for t, w in self._events if t > now - window]
            used = sum(w for _, w in inside)
            if not inside or used + weight <= cap:
                continue
            # wait until enough of the oldest calls leave the window
            for t, w in inside:
                used -= w
                if used + weight <= cap or used <= 0:
                    wait = max(wait, t + window - now)
                    break
        return wait

    def acquire(self, weight: float) -> None:
        """Block until ``weight`` more weighted calls fit in every window, then record them."""
        with self._lock:
            while True:
                now = self._clock()
                horizon = max(w for w, _ in self.limits)
                while self._events and self._events[0][0] <= now - horizon:
                    self._events.popleft()
                wait = self._wait_needed(now, weight)
                if wait <= 0:
                    self._events.append((now, weight))
                    return
                log.info("%s: client-side rate limit, waiting %.1f s", self.name, wait)
                self._sleep(wait)


#: shared by every OpenMeteoSource of the process: the quota is per IP, not per instance
LIMITER = WeightedRateLimiter()
