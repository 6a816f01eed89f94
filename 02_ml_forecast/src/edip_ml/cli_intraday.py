"""``edip train intraday``: the model of the loop's re-issues (:mod:`edip_ml.training.intraday`)."""

from __future__ import annotations

import logging
from typing import Annotated

import typer

from edip_ml.cli_options import (
    BacktestDaysOption,
    EndOption,
    ModelsOption,
    ParamOption,
    RegisterOption,
    ReportDirOption,
    StartOption,
    echo_results,
    model_names,
    parse_overrides,
)

log = logging.getLogger(__name__)


def train_intraday_command(
    models: ModelsOption = None,
    start: StartOption = None,
    end: EndOption = None,
    param: ParamOption = None,
    backtest_days: BacktestDaysOption = None,
    report_dir: ReportDirOption = None,
    register_models: RegisterOption = True,
    crown: Annotated[
        bool,
        typer.Option(
            "--crown/--no-crown",
            help="Make the challenger the intraday champion when its backtest MAPE passes "
            "ml.intraday.max_mape (what GET /v1/forecast/intraday serves).",
        ),
    ] = True,
) -> None:
    """Train the intraday re-issue model (an origin every 3 h, targets to the end of D), export
    ONNX, log to MLflow, register it under ml.intraday.registered_model (edip-load-fr-intraday)."""
    from edip_ml.config import load_ml_params
    from edip_ml.registry.tracking_server import configure
    from edip_ml.training.intraday import train_intraday

    ml = load_ml_params()
    names = model_names(models, ml.intraday.models, "ml.intraday.models")
    log.info("MLflow tracking at %s", configure())
    results = train_intraday(
        names,
        start,
        end,
        params=ml,
        model_params=parse_overrides(param),
        backtest_days=backtest_days,
        report_dir=report_dir,
        register_models=register_models,
        crown=crown,
    )
    echo_results(results)
