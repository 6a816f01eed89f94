"""The daily peak's response schema (``/v1/issued/peaks`` and the daily score's ``peaks``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class DailyPeak(BaseModel):
    """The forecast peak of one day and its score (:mod:`edip_pipeline.peak`)."""

    day: str = Field(description="Paris day.")
    peak_mw: float = Field(description="Largest hourly P50 of the day, MW.")
    peak_hour: int = Field(description="Its Paris hour.")
    peak_p10: float | None = Field(description="P10 at the peak hour (a conservative peak P10).")
    peak_p90: float | None = Field(description="P90 at the peak hour.")
    actual_peak_mw: float | None = Field(description="Measured peak (whole day measured).")
    actual_peak_hour: int | None
    error_mw: float | None = Field(description="Forecast peak − measured peak, MW.")
    hit: float | None = Field(description="1 when the peak hour was right, 0 when not.")


__all__ = ["DailyPeak"]
