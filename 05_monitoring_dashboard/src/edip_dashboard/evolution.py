"""How a day's forecast evolved: its successive issues (day-ahead, then the intraday re-issues)
against the actual, and the daily peak, in words a trader reads.

Pure functions of the API's JSON (``/v1/issued/history``, ``/v1/issued/peaks``): the pages lay
them out, the tests check them without Streamlit.
"""

from __future__ import annotations

import pandas as pd

from edip_dashboard.client import DailyPeak, DayHistory, Issue
from edip_dashboard.clock import PARIS
from edip_dashboard.metrics import error_metrics


def lead_text(lead_h: float) -> str:
    """Lead from the issue to the start of the day, in words ('12 h before the day')."""
    if lead_h > 0:
        return f"{lead_h:.0f} h before the day"
    return "at the start of the day" if lead_h == 0 else f"{-lead_h:.0f} h into the day"


def issue_name(issue: Issue) -> str:
    """'Day-ahead' or 'Update D 09:00' (the kind's slot)."""
    kind = issue["kind"]
    return "Day-ahead" if kind == "day-ahead" else "Update " + kind.removeprefix("intraday ")


def issue_label(issue: Issue) -> str:
    """The issue's name, when it was issued (Paris) and its lead: a legend entry."""
    issued = pd.Timestamp(issue["issued_at"]).tz_convert(PARIS)
    return f"{issue_name(issue)} · issued {issued:%d %b %H:%M} · {lead_text(issue['lead_h'])}"


def actual_series(history: DayHistory) -> pd.Series:
    """The measured hours of the day (UTC index, MW)."""
    rows = history["actual"]
    return pd.Series(
        [float(r["consumption_mw"]) for r in rows],
        index=pd.DatetimeIndex([pd.Timestamp(r["timestamp"]) for r in rows]),
        dtype=float,
    )


def issue_frame(issue: Issue) -> pd.DataFrame:
    """One issue's hours (UTC index): p10, p50, p90."""
    points = issue["points"]
    frame = pd.DataFrame(
        {k: [p[k] for p in points] for k in ("p10", "p50", "p90")},
        index=pd.DatetimeIndex([pd.Timestamp(p["target_time"]) for p in points]),
    )
    return frame.astype(float)


def model_text(issue: Issue) -> str:
    """'lightgbm_intraday v2': the model that made the issue (the intraday re-issues' own model,
    or the day-ahead champion standing in when none is registered)."""
    version = issue.get("model_version")
    return f"{issue['model_name']} v{version}" if version else str(issue["model_name"])


def issues_table(history: DayHistory) -> pd.DataFrame:
    """One row per issue: when, lead, the model, hours covered, its peak, and its MAPE on the
    hours it forecast that are measured (a fair comparison: each issue on its own hours)."""
    actual = actual_series(history)
    rows = []
    for issue in history["issues"]:
        frame = issue_frame(issue)
        top = frame.index[int(frame["p50"].to_numpy().argmax())] if not frame.empty else None
        scored = error_metrics(frame["p50"], actual.reindex(frame.index))
        rows.append({
            "issue": issue_name(issue),
            "issued (Paris)": f"{pd.Timestamp(issue['issued_at']).tz_convert(PARIS):%Y-%m-%d %H:%M}",
            "lead": lead_text(issue["lead_h"]),
            "model": model_text(issue),
            "hours": len(frame),
            "peak (MW)": None if top is None else round(float(frame["p50"].max())),
            "peak hour": None if top is None else f"{top.tz_convert(PARIS):%H:00}",
            "MAPE on measured hours": scored.mape if scored.n else None,
        })  # fmt: skip
    return pd.DataFrame(rows)


def in_words(history: DayHistory) -> list[str]:
    """The day's issues as sentences: how many, where the latest moved the forecast, how each
    did on the hours measured so far."""
    issues, day = history["issues"], history["day"]
    if not issues:
        return [f"No forecast of {day} had been issued by then."]
    updates = len(issues) - 1
    lines = [
        f"{day} was forecast {len(issues)} time{'s' if len(issues) > 1 else ''}: "
        + ("the day-ahead" if issues[0]["kind"] == "day-ahead" else issue_name(issues[0]))
        + (f", then {updates} intraday update{'s' if updates > 1 else ''}." if updates else ".")
    ]
    first, last = issue_frame(issues[0]), issue_frame(issues[-1])
    common = first.index.intersection(last.index)
    if updates and len(common):
        moved = float((last.loc[common, "p50"] - first.loc[common, "p50"]).mean())
        lines.append(
            f"The latest ({issue_name(issues[-1])}) is {abs(moved):,.0f} MW "
            f"{'above' if moved >= 0 else 'below'} the first on the hours both cover."
        )
    table = issues_table(history)
    scored = table.dropna(subset=["MAPE on measured hours"])
    if scored.empty:
        lines.append("No hour of the day is measured yet: the errors come once it is.")
    for _, row in scored.iterrows():
        lines.append(
            f"{row['issue']}: {100 * float(row['MAPE on measured hours']):.2f} % off "
            "on the measured hours it forecast."
        )
    return lines


def peak_text(peak: DailyPeak) -> str:
    """'72,310 MW at 19:00' (the forecast peak and its Paris hour)."""
    return f"{peak['peak_mw']:,.0f} MW at {peak['peak_hour']:02d}:00"


def peak_band(peak: DailyPeak) -> str:
    """The P10–P90 range of the forecast at the peak hour."""
    lo, hi = peak["peak_p10"], peak["peak_p90"]
    return "—" if lo is None or hi is None else f"{lo:,.0f}–{hi:,.0f} MW"


def peak_score(peaks: list[DailyPeak]) -> tuple[DailyPeak | None, int, int]:
    """The last measured day's peak, and the peak-hour hits over the measured days (hits, days)."""
    measured = [p for p in peaks if p["hit"] is not None]
    hits = sum(int(p["hit"] or 0) for p in measured)
    last = max(measured, key=lambda p: p["day"]) if measured else None
    return last, hits, len(measured)
