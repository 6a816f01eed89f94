"""The Forecast updates page and the Now page's daily peak, with AppTest against the real API."""

from __future__ import annotations

from edip_dashboard.client import ApiClient

from ..apptest import charts, metrics, run_page
from ..platform import EXPLAINED_DAYS, ISSUED_DAY, Platform


def test_updates_page_shows_each_issue_against_the_actual(api_env: Platform) -> None:
    at = run_page("updates")
    assert at.title[0].value == "Forecast updates"
    at.date_input[0].set_value(ISSUED_DAY).run()
    assert not at.exception
    assert not at.error, [e.value for e in at.error]
    assert metrics(at)["Issues of the day"] == "5"
    assert metrics(at)["Latest issue"] == "Update D 18:00"
    words = " ".join(m.value for m in at.markdown)
    assert f"{ISSUED_DAY} was forecast 5 times: the day-ahead, then 4 intraday updates." in words
    assert "Day-ahead: " in words
    assert "% off on the measured hours" in words
    assert charts(at) == 1
    table = at.dataframe[0].value
    assert list(table["issue"]) == [
        "Day-ahead", "Update D-1 18:00", "Update D 06:00", "Update D 12:00", "Update D 18:00"
    ]  # fmt: skip
    assert list(table["lead"])[:2] == ["12 h before the day", "6 h before the day"]
    assert table["MAPE on measured hours"].str.endswith("%").all()


def test_updates_page_a_day_without_issues(api_env: Platform) -> None:
    at = run_page("updates")
    at.date_input[0].set_value("2020-12-10").run()
    assert not at.exception
    assert "No forecast of 2020-12-10 had been issued" in " ".join(i.value for i in at.info)
    assert charts(at) == 0


def test_now_page_shows_the_daily_peak(api_env: Platform) -> None:
    at = run_page()
    shown = metrics(at)
    tomorrow = EXPLAINED_DAYS[0]
    with ApiClient(api_env.api_url) as c:
        (peak,) = c.issued_peaks(tomorrow, kind="latest")
        (scored,) = c.issued_peaks(ISSUED_DAY)
    assert (
        shown[f"Forecast peak, {tomorrow}"]
        == f"{peak['peak_mw']:,.0f} MW at {peak['peak_hour']:02d}:00"
    )
    assert shown["Peak P10–P90"].endswith(" MW")
    assert scored["error_mw"] is not None
    assert shown[f"Peak error, {ISSUED_DAY}"] == f"{scored['error_mw']:+,.0f} MW"
    assert shown["Peak hour right, last 7 days"] == f"{int(scored['hit'] or 0)} of 1 days"
