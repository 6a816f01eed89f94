"""The Drift page with Streamlit's AppTest against the real API after a replay."""

from __future__ import annotations

from ..apptest import charts, metrics, run_page
from ..platform import Platform


def test_drift_page(api_env: Platform) -> None:
    at = run_page("drift")
    assert not at.error, [e.value for e in at.error]
    table = at.dataframe[0].value
    # temperature_c is configured but not a feature of this model (no weather in the sample)
    assert list(table["column"]) == [
        "load_mw",
        "load_lag_1d",
        "load_same_hour_last_week",
        "load_roll_mean_24h",
    ]
    assert (table["n_recent"] == 168).all()
    assert (table["psi"] >= 0).all()
    assert metrics(at)["Columns compared"] == "4"
    assert charts(at) == 4
    # the thresholds are live: KS can no longer fire, only PSI above 10 counts
    at.number_input[0].set_value(10.0).run()
    at.number_input[1].set_value(1.0).run()
    assert metrics(at)["Drifted"] == str(int((table["psi"] > 10.0).sum()))
    at.number_input[0].set_value(0.01).run()
    assert metrics(at)["Drifted"] == str(int((table["psi"] > 0.01).sum()))
