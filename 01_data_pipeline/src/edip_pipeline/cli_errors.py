"""How ``edip`` commands fail: a usage error for a bad option, one line for anything else.

Why one place: every command — those of the other packages too (``edip live``, ``edip train``…)
— fails the same way: a bad ``--start`` is a usage error naming the option (exit 2), and any
other failure is one ``error:`` line and exit 1 instead of a Python traceback, which ``edip -v``
(or ``EDIP_VERBOSE=1``) still shows.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from edip_pipeline.calendar import PARIS

console = Console(stderr=True)
_verbose = {"on": False}


def set_verbose(on: bool) -> None:
    """``edip -v``: errors show their traceback."""
    _verbose["on"] = on


def verbose() -> bool:
    return _verbose["on"] or bool(os.environ.get("EDIP_VERBOSE"))


class _NoPrefectTraceback(logging.Filter):
    """Prefect logs a failed run with its traceback; on the console that is one line unless -v
    (Prefect's own API handler, on its run loggers, still records the whole trace for its UI)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.name.startswith("prefect") and not verbose():
            record.exc_info, record.exc_text = None, None
        return True


def quiet_prefect_tracebacks() -> None:
    """Keep Prefect's tracebacks off the console handlers (call once its logging is set up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _NoPrefectTraceback) for f in handler.filters):
            handler.addFilter(_NoPrefectTraceback())


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message`` (what a user can act on without a traceback)."""
    text = next((line.strip() for line in str(exc).splitlines() if line.strip()), "")
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class OneLineErrors(TyperGroup):
    """A command group whose failures print one ``error:`` line and exit 1 (``-v``: traceback).

    Why one handler here rather than a try/except per command: every command, including those
    other packages plug in, fails the same way, and a bug still shows its trace on ``-v``.
    """

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # exits and usage errors
            raise
        except Exception as exc:
            if verbose():
                raise
            console.print(f"error: {one_line(exc)}", markup=False, highlight=False, soft_wrap=True)
            console.print("(edip -v shows the traceback)", style="dim", highlight=False)
            raise typer.Exit(code=1) from None


def check_dates(start: str | None, end: str | None, *, inclusive_end: bool = False) -> None:
    """The one check of ``--start``/``--end``: each a date or ISO instant, start before end.

    Why here: a bad date used to surface as a pandas traceback deep inside a flow; a usage error
    naming the option is what a user can act on.
    """
    import pandas as pd

    stamps = {}
    for option, value in (("--start", start), ("--end", end)):
        if value is None:
            continue
        bad = typer.BadParameter(
            f"{option} {value!r} is not a date (e.g. 2020-01-31 or 2020-01-31T12:00+01:00)"
        )
        try:
            ts = pd.Timestamp(value)
        except (ValueError, TypeError, OverflowError):
            raise bad from None
        if pd.isna(ts):
            raise bad
        stamps[option] = ts.tz_localize(PARIS) if ts.tzinfo is None else ts
    if len(stamps) == 2:
        first, last = stamps["--start"], stamps["--end"]
        if last < first or (last == first and not inclusive_end):
            word = "on or after" if inclusive_end else "after"
            raise typer.BadParameter(f"--end {end} must be {word} --start {start}")
