"""What training one model gives back, and which of a batch becomes the challenger."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edip_ml.registry.publish import Published
from edip_ml.registry.versions import CHALLENGER

log = logging.getLogger(__name__)


@dataclass
class TrainResult:
    """Outcome of training one model (``ok`` False: ``error`` says why; registry untouched)."""

    model: str
    ok: bool
    run_id: str | None = None
    version: str | None = None
    parity_mw: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    report: Path | None = None
    challenger: bool = False
    #: fits of this model: ``final`` (1, 0 for a combination), ``backtest`` (one per fold), ``tuning``
    fits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls, model: str, published: Published, metrics: dict[str, float], **extra: Any
    ) -> TrainResult:
        """The result of a model :func:`~edip_ml.registry.publish.publish` logged (and maybe registered)."""
        version = published.version
        return cls(
            model=model,
            ok=True,
            run_id=published.run.run_id,
            version=str(version.version) if version is not None else None,
            parity_mw=published.parity_mw,
            metrics=metrics,
            **extra,
        )

    def summary(self) -> str:
        if not self.ok:
            return f"{self.model}: FAILED — {self.error}"
        mape = self.metrics.get("mape")
        figure = f"backtest MAPE {mape * 100:.2f} %, " if mape is not None else ""
        where = f"version {self.version}" if self.version else "not registered"
        if self.challenger:
            where += " (challenger)"
        return (
            f"{self.model}: {figure}ONNX parity {self.parity_mw:.3g} MW, run {self.run_id}, {where}"
        )


def best_is_challenger(results: list[TrainResult], model_name: str) -> None:
    """Of the versions registered by this batch, the best backtest MAPE keeps ``challenger``.

    Each registration moved the alias to its own version; for a batch (``rf,xgboost,lightgbm``)
    the one ``edip promote`` should judge is the best, not the last trained.
    """
    from mlflow import MlflowClient

    registered = [r for r in results if r.ok and r.version is not None]
    if not registered:
        return
    best = min(registered, key=lambda r: r.metrics.get("mape", float("inf")))
    if len(registered) > 1:
        MlflowClient().set_registered_model_alias(model_name, CHALLENGER, str(best.version))
        log.info(
            "%s v%s (%s) is the challenger of this batch", model_name, best.version, best.model
        )
    best.challenger = True
