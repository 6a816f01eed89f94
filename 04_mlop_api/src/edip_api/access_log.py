"""uvicorn's access log without credentials: query values named like secrets are masked.

Why: the access log records each request's full path and query string, so a caller who puts a
key or a token in the URL (``?api_key=…``) would leave it in every log file and log pipeline.
"""

from __future__ import annotations

import logging

from edip_pipeline.redact import redact_query

ACCESS_LOGGER = "uvicorn.access"


class RedactQueryFilter(logging.Filter):
    """Masks credential values in the path-with-query argument of uvicorn's access records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_query(args[2]), *args[3:])
        elif isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        return True


def install() -> None:
    """Add the filter to uvicorn's access logger once per process (each worker calls it)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQueryFilter) for f in logger.filters):
        logger.addFilter(RedactQueryFilter())
