"""Keep modules and functions readable: the size rule of docs/architecture.md, checked by `make lint`.

A shipped module (the five packages and the test kit) stays under ``--max-module`` lines and a
function under ``--max-function`` lines, unless its docstring gives the reason on a line starting
with ``Long because`` (a single sequential graph construction, say). Ruff and mypy do not check
this, and a rule that is not checked drifts.

    python scripts/check_sizes.py            # exit 1 and one line per offender
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    "01_data_pipeline",
    "02_ml_forecast",
    "03_dl_forecast",
    "04_mlop_api",
    "05_monitoring_dashboard",
    "testkit",
)
REASON = "Long because"

log = logging.getLogger("check_sizes")


def modules(root: Path) -> Iterator[Path]:
    """Every Python module under the packages' ``src/`` (migrations excluded: generated shape)."""
    for package in PACKAGES:
        for path in sorted((root / package / "src").rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def offences(path: Path, max_module: int, max_function: int) -> Iterator[str]:
    """One message per rule ``path`` breaks."""
    text = path.read_text()
    rel = path.relative_to(ROOT)
    n_lines = len(text.splitlines())
    if n_lines > max_module:
        yield f"{rel}: {n_lines} lines (module limit {max_module})"
    for node in ast.walk(ast.parse(text)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > max_function and REASON not in (ast.get_docstring(node) or ""):
            yield (
                f"{rel}:{node.lineno}: {node.name} is {length} lines (limit {max_function};"
                f" split it or say '{REASON} …' in its docstring)"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-module", type=int, default=420, help="lines per module")
    parser.add_argument("--max-function", type=int, default=60, help="lines per function")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    found = [o for p in modules(ROOT) for o in offences(p, args.max_module, args.max_function)]
    for offence in found:
        log.error(offence)
    log.info("check_sizes: %d offence(s)", len(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
