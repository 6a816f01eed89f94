"""The API's wording of the served variant: a note only when a model made to take RTE's D-1
forecast served without it."""

from __future__ import annotations

from edip_api.services.variant import variant_note


def test_a_note_only_for_the_rte_model_serving_without_it() -> None:
    assert variant_note(takes_rte=False, variant="without_rte") is None  # nothing claimed
    assert variant_note(takes_rte=True, variant="with_rte") is None
    note = variant_note(takes_rte=True, variant="without_rte")
    assert note is not None
    assert "10:00 Paris on D-1" in note
    assert "without_rte" in note
