"""The bundled éCO2mix sample parses to a clean 30-min UTC series."""

from __future__ import annotations

import pandas as pd

from edip_pipeline.sources.sample import sample_frame


def test_sample_covers_2019_2020_in_utc_on_half_hours() -> None:
    frame = sample_frame()
    cons = frame[frame["variable"] == "consumption_mw"].set_index("timestamp")["value"]
    assert cons.index.is_unique
    assert cons.index.is_monotonic_increasing
    assert cons.index.min() == pd.Timestamp("2018-12-31 23:00", tz="UTC")
    assert cons.index.max() == pd.Timestamp("2020-12-31 22:30", tz="UTC")
    assert set(cons.index.minute) == {0, 30}
    # two autumn hours are absent from the wall-clock extract: 2 half-hours each year
    expected = pd.date_range(cons.index.min(), cons.index.max(), freq="30min")
    assert len(expected) - len(cons) == 4
    assert 25_000 < cons.min() < cons.max() < 110_000
