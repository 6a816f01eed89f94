"""The prediction log of the API: every served point and the actuals, on SQLite or PostgreSQL."""

from .issuances import IssuanceRecord
from .log_store import LogStore
from .metrics import MetricsSummary
from .records import ActualRecord, PredictionRecord
from .writer import PredictionWriter, WriterFullError

__all__ = [
    "ActualRecord",
    "IssuanceRecord",
    "LogStore",
    "MetricsSummary",
    "PredictionRecord",
    "PredictionWriter",
    "WriterFullError",
]
