"""Why is a day's forecast different from the same day a week before: contribution differences.

The API returns each issued forecast's P50 split into named contributions
(``GET /v1/forecast/explain``); here two of them (a target day and the same weekday a week
earlier) are compared, over the whole day or one hour, and said in words a grid analyst reads.
Pure functions of the API's JSON: the page lays them out, the tests check them without Streamlit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

#: where a contribution's change is too small to mention (MW)
NEGLIGIBLE_MW = 50.0


@dataclass(frozen=True)
class Comparison:
    """Two explained forecasts side by side (``table``: one row per named contribution)."""

    day: str
    reference_day: str
    scope: str  # "the day on average" or "at 19:00"
    p50: float
    reference_p50: float
    table: pd.DataFrame  # name, label, day, reference, difference (MW)

    @property
    def difference(self) -> float:
        return self.p50 - self.reference_p50


def contributions_at(explanation: dict[str, Any], hour: int | None) -> dict[str, float] | None:
    """Mean MW per contribution (and ``p50``) over the explained day's points, or at one Paris
    hour of it; ``None`` when the explanation has no point there."""
    day = str(explanation.get("target_day"))
    points = [
        p
        for p in explanation.get("points") or []
        if str(p["target_time_paris"])[:10] == day
        and (hour is None or int(str(p["target_time_paris"])[11:13]) == hour)
    ]
    if not points:
        return None
    names = [c["name"] for c in explanation.get("contributions") or []]
    out = {
        n: sum(float(p["contributions"].get(n, 0.0)) for p in points) / len(points) for n in names
    }
    out["p50"] = sum(float(p["p50"]) for p in points) / len(points)
    return out


def compare(day: dict[str, Any], reference: dict[str, Any], hour: int | None) -> Comparison | None:
    """The contributions of ``day`` against ``reference`` (both available explanations)."""
    mine, theirs = contributions_at(day, hour), contributions_at(reference, hour)
    if mine is None or theirs is None:
        return None
    rows = [
        {
            "name": c["name"],
            "label": c["label"],
            "day": mine.get(c["name"], 0.0),
            "reference": theirs.get(c["name"], 0.0),
        }
        for c in day.get("contributions") or []
    ]
    table = pd.DataFrame(rows, columns=["name", "label", "day", "reference"])
    # a contribution the model does not have (0 on both days: the trees' baseline) is left out
    table = table[(table["day"].abs() >= 0.5) | (table["reference"].abs() >= 0.5)]
    table = table.reset_index(drop=True)
    table["difference"] = table["day"] - table["reference"]
    scope = "the day on average" if hour is None else f"at {hour:02d}:00"
    return Comparison(
        str(day["target_day"]),
        str(reference["target_day"]),
        scope,
        mine["p50"],
        theirs["p50"],
        table,
    )


def _mw(value: float) -> str:
    return f"{value:+,.0f} MW".replace(",", "\u202f")


def in_words(comparison: Comparison) -> list[str]:
    """The comparison as sentences: the change, then each contribution that moved, largest first."""
    c = comparison
    direction = "higher" if c.difference >= 0 else "lower"
    lines = [
        f"The forecast of {c.day} is {abs(c.difference):,.0f} MW {direction} than the one of "
        f"{c.reference_day} ({c.scope}: {c.p50:,.0f} MW against {c.reference_p50:,.0f} MW)."
    ]
    moved = c.table[c.table["difference"].abs() >= NEGLIGIBLE_MW]
    moved = moved.reindex(moved["difference"].abs().sort_values(ascending=False).index)
    for _, row in moved.iterrows():
        lines.append(f"{row['label']}: {_mw(row['difference'])} ({_why(row)}).")
    if moved.empty:
        lines.append(
            "No contribution moved by more than 50 MW: the two days look alike to the model."
        )
    return lines


def _why(row: pd.Series) -> str:
    """A short reading of one contribution's change."""
    up = row["difference"] > 0
    more, less = "more" if up else "less", "adds load" if up else "takes load off"
    readings = {
        "temperature_instant": f"the temperature at the hour calls for {more} heating or cooling",
        "temperature_smoothed": f"the past days' temperatures (building inertia) call for {more} heating",
        "day_type_holidays": f"the day type or a holiday {less}",
        "recent_load": f"the load of the last days was {'higher' if up else 'lower'}",
        "online_correction": f"the online update {'raised' if up else 'lowered'} the model's level",
        "time_of_year": f"the season {less}",
        "baseline": f"the model's level for the hour {less}",
    }
    return readings.get(str(row["name"]), "more" if up else "less")
