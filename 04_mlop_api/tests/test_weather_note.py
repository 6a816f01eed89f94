"""A forecast served with other weather than its model learnt from says so (issue 13, bad input)."""

from __future__ import annotations

import pytest

from edip_api.schemas import Forecast
from edip_api.services.forecast import weather_note


@pytest.mark.parametrize(
    ("trained", "served", "expected"),
    [
        (None, "none", None),  # nothing recorded: nothing claimed
        ("none", "none", None),
        ("forecast", "forecast", None),
        ("observed-as-forecast", "none", "trained with weather 'observed-as-forecast'"),
        ("forecast", "observed-as-forecast", "served with 'observed-as-forecast'"),
    ],
)
def test_weather_note_names_both_sources(
    trained: str | None, served: str, expected: str | None
) -> None:
    note = weather_note(trained, served)
    if expected is None:
        assert note is None
    else:
        assert note is not None
        assert expected in note


def test_the_forecast_schema_documents_the_note() -> None:
    field = Forecast.model_json_schema()["properties"]["weather_note"]
    assert "trained with" in field["description"]
