"""The Performance page with Streamlit's AppTest against the real API after a replay."""

from __future__ import annotations

from ..apptest import charts, run_page
from ..platform import Platform


def test_performance_page(api_env: Platform) -> None:
    at = run_page("performance")
    assert not at.error, [e.value for e in at.error]
    overall = at.dataframe[0].value
    assert set(overall["forecaster"]) == {
        f"lightgbm v{api_env.champion_version}",
        "same hour last week",
    }
    assert (overall["n"] > 0).all()
    assert charts(at) == 6  # 3 daily tabs, hour, day type, versions
    versions = at.dataframe[-1].value
    assert list(versions["version"]) == [api_env.champion_version]
    assert "champion" in versions["aliases"].iloc[0]
    # narrowing the forecasters re-renders without the baseline
    at.multiselect[0].set_value([f"lightgbm v{api_env.champion_version}"]).run()
    assert not at.exception
    assert list(at.dataframe[0].value["forecaster"]) == [f"lightgbm v{api_env.champion_version}"]
