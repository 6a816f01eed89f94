"""The optional parts of ``edip-pipeline`` and the error a missing one raises.

Why extras: the serving image installs the pipeline for its store reader and features only, so
Prefect (``flows``), Plotly (``eda``), the ENTSO-E client (``sources``) and onnxruntime
(``onnx``) are optional dependencies. A module that needs one imports it behind
:func:`missing_extra`, so a slim install fails with the ``pip install`` line that fixes it rather
than a bare ``No module named …``.
"""

from __future__ import annotations


class MissingExtraError(ImportError):
    """An optional dependency of ``edip-pipeline`` is not installed."""


def missing_extra(extra: str, exc: ImportError, *, feature: str) -> MissingExtraError:
    """The error to raise (``from exc``) when ``feature`` cannot import its ``extra``'s package."""
    module = exc.name or str(exc)
    return MissingExtraError(
        f"{feature} needs the '{extra}' extra ({module} is not installed): "
        f"pip install 'edip-pipeline[{extra}]'",
        name=exc.name,
    )
