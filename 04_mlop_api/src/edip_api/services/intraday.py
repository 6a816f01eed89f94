"""Which model answers an intraday re-issue (``GET /v1/forecast/intraday``).

The loop re-issues day D from D-1 18:00 to D 18:00 (``issue-intraday``). A short-lead model
trained on that protocol (``edip train intraday``: ``edip-load-fr-intraday@champion``) answers
when one is registered and loadable; otherwise — the documented fallback — the day-ahead champion
answers, and its ``model.reason`` says why, so the issuance and the answer say which model made
the forecast. The intraday model is watched by its own :class:`ModelManager` (same checks, same
polling, swapped atomically); the day-ahead champion is the one ``/v1/forecast`` serves.
"""

from __future__ import annotations

import dataclasses

from edip_api.core.config import Settings
from edip_api.services.model_manager import ModelManager, ServedModel
from edip_pipeline.config import FeatureParams


def intraday_manager(settings: Settings, default_params: FeatureParams) -> ModelManager:
    """A manager of ``EDIP_INTRADAY_MODEL_NAME@EDIP_MODEL_ALIAS`` (no metrics hook, no states:
    the served-model gauge and online states belong to the day-ahead champion)."""
    own = settings.model_copy(update={"model_name": settings.intraday_model_name})
    return ModelManager(own, default_params)


class IntradayModels:
    """The model of an intraday forecast now: the intraday champion, else the day-ahead one."""

    def __init__(self, intraday: ModelManager, day_ahead: ModelManager) -> None:
        self.intraday = intraday
        self.day_ahead = day_ahead
        self.default_params = day_ahead.default_params

    @property
    def current(self) -> ServedModel:
        own = self.intraday.current
        if not own.is_fallback:
            return own
        champion = self.day_ahead.current
        ref = f"{self.intraday.settings.model_name}@{self.intraday.settings.model_alias}"
        why = f"no intraday model ({ref}: {own.info.reason}): the day-ahead model answers"
        if champion.info.reason:
            why += f" ({champion.info.reason})"
        info = champion.info.model_copy(update={"reason": why[:500]})
        return dataclasses.replace(champion, info=info)
