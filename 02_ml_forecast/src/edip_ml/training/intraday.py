"""``edip train intraday``: the model of the loop's re-issues, trained, registered and crowned.

Why its own registered model (``ml.intraday.registered_model``, default ``edip-load-fr-intraday``):
the day-ahead champion is judged by ``edip promote`` on the day-ahead protocol, which says nothing
about a 2-hour lead; the intraday model is judged on its own protocol (an origin every 3 h, targets
to the end of D: :func:`edip_pipeline.features.intraday_pairs`) and served by its own alias
(``GET /v1/forecast/intraday``, the loop's ``issue-intraday``). Training is the one path of
:func:`~edip_ml.training.train.train_models` (backtest, final fit, ONNX export with parity, MLflow
run, registered version as ``challenger``) with the protocol and the short-lead feature columns
of ``ml.intraday``; the challenger then becomes the intraday ``champion`` when its backtest MAPE
passes ``ml.intraday.max_mape`` (there is no older intraday champion to beat: a version that
passes replaces it). With no intraday champion the API serves the day-ahead champion instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edip_ml.registry.versions import CHAMPION

if TYPE_CHECKING:
    from edip_ml.config import MLParams
    from edip_ml.training.train_result import TrainResult
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)


def train_intraday(
    models: Sequence[str] | None = None,
    start: str | None = None,
    end: str | None = None,
    *,
    store: Store | None = None,
    params: MLParams | None = None,
    model_params: Mapping[str, Mapping[str, Any]] | None = None,
    backtest_days: int | None = None,
    report_dir: Path | None = None,
    register_models: bool = True,
    crown: bool = True,
) -> list[TrainResult]:
    """Train ``models`` (default ``ml.intraday.models``) on the intraday protocol, register them
    under ``ml.intraday.registered_model`` and, with ``crown``, make the challenger its champion
    when it passes the gate (:func:`crown_challenger`)."""
    from edip_ml.config import load_ml_params
    from edip_ml.training.train import train_models

    base = params or load_ml_params()
    ip = base.intraday
    names = list(models or ip.models)
    results = train_models(
        names,
        start,
        end,
        store=store,
        params=base.for_intraday(),
        model_params=model_params,
        backtest_days=backtest_days,
        report_dir=report_dir,
        register_models=register_models,
        model_name=ip.registered_model,
        experiment=ip.registered_model,
    )
    if register_models and crown:
        crown_challenger(results, ip.registered_model, ip.max_mape)
    return results


def crown_challenger(results: Sequence[TrainResult], model_name: str, max_mape: float) -> bool:
    """Point ``champion`` of ``model_name`` at this batch's challenger when its backtest MAPE is
    at most ``max_mape``; says in the log why not otherwise. Returns whether it moved."""
    from mlflow import MlflowClient

    best = next((r for r in results if r.ok and r.challenger and r.version), None)
    if best is None:
        log.warning("%s: no version registered by this batch, the champion stays", model_name)
        return False
    mape = best.metrics.get("mape")
    if mape is None or mape > max_mape:
        log.warning("%s v%s (%s): backtest MAPE %s above the gate %.2f %%: the champion stays",
                    model_name, best.version, best.model,
                    "unknown" if mape is None else f"{mape * 100:.2f} %", max_mape * 100)  # fmt: skip
        return False
    MlflowClient().set_registered_model_alias(model_name, CHAMPION, str(best.version))
    log.info("%s v%s (%s, backtest MAPE %.2f %%) is the intraday champion",
             model_name, best.version, best.model, mape * 100)  # fmt: skip
    return True
