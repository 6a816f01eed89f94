"""Open-Meteo weighted calls and the sliding-window limiter."""

from __future__ import annotations

import pytest

from edip_pipeline.sources.openmeteo.ratelimit import WeightedRateLimiter, weighted_calls


def test_weighted_calls_formula() -> None:
    assert weighted_calls(6, 1, 1) == 1.0
    assert weighted_calls(15, 14, 1) == 1.5
    assert weighted_calls(15, 28, 1) == 3.0
    assert weighted_calls(6, 366, 15) == pytest.approx(0.6 * 366 / 14 * 15)  # ≈ 235 per year


def test_rate_limiter_waits_for_the_window() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lim = WeightedRateLimiter(((60.0, 600.0),), clock=lambda: now[0], sleep=sleep)
    lim.acquire(250)
    now[0] = 10.0
    lim.acquire(250)
    assert slept == []
    now[0] = 20.0
    lim.acquire(250)  # 750 > 600: wait until the first call leaves the window (t=60)
    assert slept == [pytest.approx(40.0)]
    lim.acquire(700)  # heavier than the cap: goes through once the window is empty
    assert now[0] >= 80.0
