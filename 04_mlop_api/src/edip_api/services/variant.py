"""Which combination variant a forecast is, as the API says it (``variant``, ``variant_note``).

The variant rule itself (``with_rte`` only when every row has RTE's D-1 forecast) lives in
:func:`edip_pipeline.contract.variant_of`, shared with the trainers; this is the API's wording.
"""

from __future__ import annotations

from edip_pipeline.contract import WITH_RTE


def variant_note(takes_rte: bool, variant: str) -> str | None:
    """What a response says when a model made to take RTE's D-1 forecast served without it.

    Why: RTE publishes its forecast of day D at 10:00 Paris on D-1 (ENTSO-E); an earlier origin,
    or a day the store lacks, has none. The model then serves the combination of the same experts
    without RTE (its fallback state) for the whole forecast, never a mix, and says so.
    """
    if not takes_rte or variant == WITH_RTE:
        return None
    return (
        "RTE's D-1 forecast is missing for at least one target at this origin (it is known "
        "from 10:00 Paris on D-1): served the combination without it (variant without_rte)"
    )
