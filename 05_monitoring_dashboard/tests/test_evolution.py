"""A day's successive issues and its peak said in words, from the API's JSON (no Streamlit)."""

from __future__ import annotations

from edip_dashboard.charts import evolution_figure
from edip_dashboard.client import DailyPeak, DayHistory, Issue
from edip_dashboard.evolution import (
    actual_series,
    in_words,
    issue_frame,
    issue_label,
    issues_table,
    lead_text,
    peak_score,
    peak_text,
)

# 2020-12-15 Paris is 2020-12-14T23:00Z .. 2020-12-15T23:00Z (CET)
HOURS = [f"2020-12-{14 + (h + 23) // 24}T{(h + 23) % 24:02d}:00:00Z" for h in range(24)]


def issue(kind: str, issued_at: str, lead_h: float, first: int, level: float) -> Issue:
    points = [{"target_time": t, "p10": level - 1_000, "p50": level + 100 * h, "p90": level + 1_000}
              for h, t in enumerate(HOURS) if h >= first]  # fmt: skip
    return {"kind": kind, "origin": issued_at, "issued_at": issued_at, "model_name": "m",
            "model_version": "1", "lead_h": lead_h, "points": points}  # type: ignore[typeddict-item]  # fmt: skip


def history() -> DayHistory:
    ahead = issue("day-ahead", "2020-12-14T11:00:00Z", 12.0, 0, 60_000.0)
    update = issue("intraday D 09:00", "2020-12-15T08:00:00Z", -9.0, 9, 61_000.0)
    actual = [
        {"timestamp": t, "consumption_mw": 60_500.0 + 100 * h} for h, t in enumerate(HOURS[:12])
    ]
    return {"day": "2020-12-15", "as_of": "2020-12-15T11:00:00Z", "issues": [ahead, update],
            "actual": actual}  # type: ignore[typeddict-item]  # fmt: skip


def test_the_issues_are_named_with_their_lead_and_scored_on_their_own_hours() -> None:
    h = history()
    assert lead_text(12.0) == "12 h before the day"
    assert lead_text(-9.0) == "9 h into the day"
    assert issue_label(h["issues"][1]) == "Update D 09:00 · issued 15 Dec 09:00 · 9 h into the day"
    table = issues_table(h)
    assert list(table["issue"]) == ["Day-ahead", "Update D 09:00"]
    assert list(table["hours"]) == [24, 15]
    assert list(table["model"]) == ["m v1", "m v1"]
    assert list(table["peak hour"]) == ["23:00", "23:00"]
    # the day-ahead is 500 MW under on 12 measured hours, the update 500 MW over on 3
    mape = table["MAPE on measured hours"]
    assert 0 < mape[0] < 0.01
    assert 0 < mape[1] < 0.01
    lines = in_words(h)
    assert lines[0] == "2020-12-15 was forecast 2 times: the day-ahead, then 1 intraday update."
    assert lines[1].startswith("The latest (Update D 09:00) is 1,000 MW above the first")
    assert lines[2].startswith("Day-ahead: ")
    assert lines[3].startswith("Update D 09:00: ")
    fig = evolution_figure([(issue_label(i), issue_frame(i)) for i in h["issues"]],
                           actual_series(h), h["day"])  # fmt: skip
    assert [t.name for t in fig.data][-3:] == [issue_label(i) for i in h["issues"]] + ["actual"]


def test_no_issue_and_no_measured_hour_say_so() -> None:
    empty: DayHistory = {"day": "2020-12-15", "as_of": "x", "issues": [], "actual": []}
    assert in_words(empty) == ["No forecast of 2020-12-15 had been issued by then."]
    h = history()
    h["actual"], h["issues"] = [], h["issues"][:1]
    assert in_words(h)[1:] == ["No hour of the day is measured yet: the errors come once it is."]


def test_peak_score_counts_the_measured_days_only() -> None:
    def peak(day: str, hit: float | None) -> DailyPeak:
        return {"day": day, "peak_mw": 72_310.4, "peak_hour": 19, "peak_p10": 70_000.0,
                "peak_p90": 74_000.0, "actual_peak_mw": None, "actual_peak_hour": None,
                "error_mw": None, "hit": hit}  # fmt: skip

    assert peak_text(peak("2020-12-15", None)) == "72,310 MW at 19:00"
    last, hits, days = peak_score([peak("2020-12-14", 1.0), peak("2020-12-15", 0.0),
                                   peak("2020-12-16", None)])  # fmt: skip
    assert last is not None
    assert last["day"] == "2020-12-15"
    assert (hits, days) == (1, 2)
    assert peak_score([]) == (None, 0, 0)
