"""uvicorn's access log without credentials: query values named like secrets are masked.

Why: the access log records each request's full path and query string, so a caller who puts a
key or a token in the URL (``?api_key=…``) would leave it in every log file and log pipeline.

Also why it is cheap: the access line is written for every request, and a served API sees the
same few request lines from the same few connections again and again (every client asking for
the latest forecast). The masking and, for a format made only of the request's own fields,
uvicorn's formatting are remembered per distinct line.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable

from edip_pipeline.redact import redact_query

ACCESS_LOGGER = "uvicorn.access"
#: distinct lines remembered (then forgotten all at once: no eviction bookkeeping per request)
_MEMO_SIZE = 4096
#: the record fields a remembered access line may show: the request's own (a time, a thread or
#: a process id would be stale when the line is reused)
_REQUEST_FIELDS = frozenset(
    {"levelprefix", "levelname", "client_addr", "request_line", "status_code", "message"}
)
_FIELD = re.compile(r"%\((\w+)\)|\{(\w+)[^}]*\}|\$\{?(\w+)")

_redact = functools.lru_cache(maxsize=_MEMO_SIZE)(redact_query)


class RedactQueryFilter(logging.Filter):
    """Masks credential values in the path-with-query argument of uvicorn's access records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], _redact(args[2]), *args[3:])
        elif isinstance(record.msg, str):
            record.msg = _redact(record.msg)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to uvicorn's access logger (or ``logger``) once per process (each worker
    calls it), and remember the formatted lines of its handlers whose format shows only the
    request's fields."""
    logger = logger or logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactQueryFilter) for f in logger.filters):
        logger.addFilter(RedactQueryFilter())
    for handler in logger.handlers:
        formatter = handler.formatter
        if formatter is not None and _request_fields_only(formatter):
            _remember_lines(formatter)


def _request_fields_only(formatter: logging.Formatter) -> bool:
    fmt = getattr(formatter._style, "_fmt", None)
    if not isinstance(fmt, str) or formatter.usesTime():
        return False
    fields = {next(g for g in m.groups() if g) for m in _FIELD.finditer(fmt)}
    return fields <= _REQUEST_FIELDS


def _remember_lines(formatter: logging.Formatter) -> None:
    """``formatter.formatMessage`` once per distinct (level, arguments): uvicorn's copies the
    record and looks up the status phrase on every request."""
    format_message: Callable[[logging.LogRecord], str] = formatter.formatMessage
    if getattr(format_message, "remembers_lines", False):
        return
    memo: dict[tuple[object, ...], str] = {}

    def remembered(record: logging.LogRecord) -> str:
        args = record.args
        if not isinstance(args, tuple):
            return format_message(record)
        key = (record.levelno, record.msg, *args)
        line = memo.get(key)
        if line is None:
            if len(memo) >= _MEMO_SIZE:
                memo.clear()
            line = memo[key] = format_message(record)
        return line

    remembered.remembers_lines = True  # type: ignore[attr-defined]
    formatter.formatMessage = remembered  # type: ignore[method-assign]
