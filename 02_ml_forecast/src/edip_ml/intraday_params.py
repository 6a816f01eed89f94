"""The ``ml.intraday`` section: how ``edip train intraday`` trains the model of the re-issues."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from edip_pipeline.registry_names import INTRADAY_MODEL


class IntradayParams(BaseModel):
    """``edip train intraday``: the model of the loop's re-issues (``GET /v1/forecast/intraday``)."""

    models: list[str] = Field(
        default_factory=lambda: ["lightgbm_intraday"], description="Models trained by default."
    )
    every_h: int = Field(3, ge=1, description="Origins every this many hours (Paris, from 00:00).")
    next_day_from_h: int = Field(
        18, description="Origins at or after this Paris hour forecast the next day (D-1 18:00)."
    )
    feature_overrides: dict[str, Any] = Field(
        default_factory=lambda: {"shape_features": True, "recent_error_features": True},
        description="FeatureParams overrides of the intraday model: its short-lead shape and "
        "latest-known-error columns (the latter won on the validation years: "
        "python bench/intraday.py --validate).",
    )
    registered_model: str = Field(INTRADAY_MODEL, description="MLflow registered model.")
    max_mape: float = Field(
        0.03,
        description="A trained version becomes the intraday champion when its backtest MAPE "
        "(intraday protocol, every lead) is at most this fraction.",
    )
