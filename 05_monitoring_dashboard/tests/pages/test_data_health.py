"""The Data health page with Streamlit's AppTest against the real API after a replay."""

from __future__ import annotations

from ..apptest import charts, metrics, run_page
from ..platform import Platform


def test_data_health_page(api_env: Platform) -> None:
    at = run_page("data_health")
    assert not at.error, [e.value for e in at.error]
    shown = metrics(at)
    assert shown["Datasets"] == "3"
    assert shown["Stale"] == "0"
    table = at.dataframe[0].value
    assert set(table["status"]) == {"fresh"}
    assert any("Prefect API is not reachable" in i.value for i in at.info)
    # 12 replayed Paris days, every hour received
    assert any("12 of" in c.value and "288 hours" in c.value for c in at.caption), [
        c.value for c in at.caption
    ]
    assert charts(at) == 1
