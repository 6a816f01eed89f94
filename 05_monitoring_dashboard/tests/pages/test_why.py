"""The Why page with Streamlit's AppTest against the real API: explained forecasts compared."""

from __future__ import annotations

import pytest

from ..apptest import charts, metrics, run_page
from ..platform import EXPLAINED_DAYS, Platform


def test_why_page_compares_the_day_with_a_week_before(api_env: Platform) -> None:
    at = run_page("why")
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == "Why this forecast"
    day, reference = EXPLAINED_DAYS
    shown = metrics(at)
    assert set(shown) == {f"Forecast of {day}", f"Forecast of {reference}", "Difference"}
    p50 = float(shown[f"Forecast of {day}"].replace(",", "").removesuffix(" MW"))
    before = float(shown[f"Forecast of {reference}"].replace(",", "").removesuffix(" MW"))
    diff = float(shown["Difference"].replace(",", "").removesuffix(" MW"))
    assert diff == pytest.approx(p50 - before, abs=1.5)
    assert charts(at) == 1
    words = " ".join(m.value for m in at.markdown)
    assert f"The forecast of {day} is" in words
    assert "Recent load level" in words  # the trees' largest share moves with the recent load
    table = at.dataframe[0].value
    assert (table[day] - table[reference] - table["difference"]).abs().max() < 1.0


def test_why_page_one_hour_and_a_day_without_explanation(api_env: Platform) -> None:
    at = run_page("why")
    at.selectbox[0].set_value(19).run()
    assert not at.exception
    assert "at 19:00" in " ".join(m.help or "" for m in at.metric)
    at.date_input[0].set_value("2020-12-10").run()
    assert not at.exception
    texts = " ".join(i.value for i in at.info)
    assert "2020-12-10" in texts
    assert "no forecast was issued" in texts
    assert charts(at) == 0
