"""The prediction log of the API: every served point and the actuals, on SQLite or PostgreSQL."""

from .explanations import ExplanationRecord
from .issuances import IssuanceRecord
from .log_store import LogStore
from .metrics import MetricsSummary
from .online_states import OnlineStateRecord
from .records import ActualRecord, PredictionRecord
from .writer import PredictionWriter, WriterFullError

__all__ = [
    "ActualRecord",
    "ExplanationRecord",
    "IssuanceRecord",
    "LogStore",
    "MetricsSummary",
    "OnlineStateRecord",
    "PredictionRecord",
    "PredictionWriter",
    "WriterFullError",
]
