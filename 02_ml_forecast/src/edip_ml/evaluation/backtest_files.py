"""What a backtest leaves behind: the forecasts parquet, the report files and the MLflow figure.

Why apart from training: ``edip backtest`` writes these without training anything, and
:mod:`edip_ml.training.train` attaches the same report and figure to each model's MLflow run.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pandas as pd

from edip_pipeline.atomic import atomic_write_parquet
from edip_pipeline.calendar import PARIS

if TYPE_CHECKING:
    from edip_ml.config import MLParams, Protocol
    from edip_pipeline.features import WeatherMode
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: models whose thread count ``--n-jobs`` sets
THREADED_MODELS = ("rf", "xgboost", "lightgbm")


def write_backtest_report(
    forecasts: pd.DataFrame, out_dir: Path, *, title: str, notes: Sequence[str] = ()
) -> list[Path]:
    """The backtest report (self-contained Plotly HTML + markdown) of :mod:`edip_ml.evaluation.report`."""
    from edip_ml.evaluation.report import write_report

    html, md = write_report(forecasts, out_dir, title, list(notes))
    return [html, md]


def backtest_figure(forecasts: pd.DataFrame, model: str) -> Any:
    """Actual load against the model's P50 and P10–P90 band over the backtest (Paris time)."""
    import plotly.graph_objects as go

    f = forecasts[forecasts["model"] == model].sort_values("target_time")
    t = pd.DatetimeIndex(pd.to_datetime(f["target_time"], utc=True)).tz_convert(PARIS)
    fig = go.Figure(
        [
            go.Scatter(x=t, y=f["p90"], line={"width": 0}, showlegend=False, hoverinfo="skip"),
            go.Scatter(
                x=t,
                y=f["p10"],
                fill="tonexty",
                line={"width": 0},
                fillcolor="rgba(31,119,180,0.2)",
                name="P10–P90",
            ),
            go.Scatter(x=t, y=f["p50"], name=f"{model} P50", line={"color": "#1f77b4"}),
            go.Scatter(x=t, y=f["actual"], name="actual", line={"color": "black"}),
        ]
    )
    fig.update_layout(
        title=f"{model}: backtest forecasts vs actual load (MW, Paris time)",
        yaxis_title="MW",
        hovermode="x unified",
    )
    return fig


def backtest_to_files(
    models: Sequence[str],
    start: str | None,
    end: str | None,
    *,
    protocol: str = "day-ahead",
    out: Path = Path("forecasts.parquet"),
    report_dir: Path | None = None,
    store: Store | None = None,
    params: MLParams | None = None,
    train_start: str | None = None,
    weather: WeatherMode | None = None,
    baselines: list[str] | None = None,
    n_jobs: int | None = None,
) -> list[Path]:
    """``edip backtest --family ml``: the forecasts parquet (and the report when asked).

    ``train_start``, ``baselines`` and ``n_jobs`` (threads of rf/xgboost/lightgbm) override
    params.yaml; ``weather`` the backtest's weather mode.
    """
    from edip_ml.config import PROTOCOLS, load_ml_params
    from edip_ml.evaluation.backtest import run_backtest
    from edip_pipeline.store import Store

    store = store or Store()
    params = params or load_ml_params()
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {list(PROTOCOLS)}, got {protocol!r}")
    params = _with_command_overrides(protocol_params(params, protocol), train_start, n_jobs)
    forecasts = run_backtest(
        store,
        list(models),
        start,
        end,
        cast("Protocol", protocol),
        params,
        weather=weather,
        baselines=baselines,
        progress=None,
    )
    notes = [_weather_note(forecasts)]
    log.info("%s", notes[0])
    paths = [write_forecasts(forecasts, out)]
    if report_dir is not None:
        paths += write_backtest_report(
            forecasts,
            report_dir,
            title=f"EDIP {protocol} backtest: {', '.join(models)}",
            notes=notes,
        )
    return paths


def protocol_params(params: MLParams, protocol: str) -> MLParams:
    """The intraday protocol is backtested with the columns ``edip train intraday`` trains on
    (``ml.intraday.feature_overrides``: the short-lead shape columns), so its figures are the
    served model's; the other protocols keep ``params``."""
    if protocol != "intraday":
        return params
    return params.for_intraday()


def _with_command_overrides(
    params: MLParams, train_start: str | None, n_jobs: int | None
) -> MLParams:
    """``params`` with the command line's ``--train-start`` and ``--n-jobs`` applied."""
    overrides: dict[str, Any] = {}
    if train_start is not None:
        overrides["backtest"] = {"train_start": train_start}
    if n_jobs is not None:
        overrides.update({m: {"n_jobs": n_jobs} for m in THREADED_MODELS})
    return params.with_overrides(overrides) if overrides else params


def _weather_note(forecasts: pd.DataFrame) -> str:
    """The report's line on the weather of the test and training rows."""
    from edip_ml.evaluation.backtest import weather_label

    share = forecasts.attrs.get("train_weather_share")
    return (
        f"Weather of the test rows: {weather_label(forecasts.attrs.get('weather_shares', {}))}; "
        f"{'-' if share is None else f'{100 * share:.1f} %'} of training rows had weather "
        f"(source {forecasts.attrs.get('weather_source')})."
    )


def write_forecasts(df: pd.DataFrame, path: str | Path) -> Path:
    """Write the forecasts frame to parquet (atomic; ``attrs`` kept in the file metadata)."""
    path = Path(path)
    atomic_write_parquet(df, path)
    log.info("forecasts: %d rows -> %s", len(df), path)
    return path


def read_forecasts(path: str | Path) -> pd.DataFrame:
    """Read back :func:`write_forecasts` (timestamps as UTC)."""
    df = pd.read_parquet(path)
    for c in ("origin", "target_time"):
        df[c] = pd.to_datetime(df[c], utc=True)
    return df
