"""Two explained forecasts compared, and said in words, from the API's JSON (no Streamlit)."""

from __future__ import annotations

from typing import Any

from edip_dashboard.charts import explanation_waterfall
from edip_dashboard.explanation import compare, contributions_at, in_words

NAMES = [
    {"name": "baseline", "label": "Model baseline for the hour"},
    {"name": "temperature_instant", "label": "Temperature at the hour"},
    {"name": "day_type_holidays", "label": "Day type and holidays"},
    {"name": "recent_load", "label": "Recent load level"},
]


def explained(day: str, temperature: float, holiday: float) -> dict[str, Any]:
    """A day of hourly points (CET: Paris hour h is UTC h-1) with fixed contributions."""
    points = []
    for h in range(24):
        parts = {"baseline": 50_000.0 + 100 * h, "temperature_instant": temperature,
                 "day_type_holidays": holiday, "recent_load": 1_000.0}  # fmt: skip
        points.append({
            "target_time_paris": f"{day}T{h:02d}:00:00+01:00",
            "p50": sum(parts.values()),
            "contributions": parts,
        })  # fmt: skip
    return {"target_day": day, "available": True, "contributions": NAMES, "points": points}


def test_the_comparison_adds_up_and_names_what_moved() -> None:
    day, week_before = explained("2020-12-25", 4_000, -3_000), explained("2020-12-18", 2_500, 0)
    c = compare(day, week_before, None)
    assert c is not None
    assert c.difference == c.table["difference"].sum()
    assert c.difference == 1_500 - 3_000
    lines = in_words(c)
    assert lines[0].startswith(
        "The forecast of 2020-12-25 is 1,500 MW lower than the one of 2020-12-18"
    )
    # largest change first, the unchanged ones left out
    assert lines[1].startswith("Day type and holidays: -3")
    assert lines[2].startswith("Temperature at the hour: +1")
    assert len(lines) == 3
    at19 = contributions_at(day, 19)
    assert at19 is not None
    assert at19["baseline"] == 51_900
    fig = explanation_waterfall(c.table, c.reference_p50, c.p50, c.reference_day, c.day)
    (trace,) = fig.data
    assert list(trace.measure) == [
        "absolute",
        "relative",
        "relative",
        "relative",
        "relative",
        "total",
    ]
    assert trace.y[-1] == c.p50


def test_no_point_at_the_hour_is_no_comparison() -> None:
    day = explained("2020-12-25", 0, 0)
    day["points"] = day["points"][:10]
    assert compare(day, explained("2020-12-18", 0, 0), 19) is None
    same = compare(explained("2020-12-25", 0, 0), explained("2020-12-18", 0, 0), None)
    assert same is not None
    assert "look alike" in in_words(same)[1]
