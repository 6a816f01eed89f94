"""``edip compare``: one ranking of every ML and DL model on the same backtest rows.

Why here: only this package sees both families. Fairness is enforced, not assumed: every input
must come from the same data version and protocol, and the ranking is computed on the
(origin, target_time) rows that *every* model forecast (baselines appearing in several inputs
are kept once). Metrics and the report are :mod:`edip_ml.evaluation.metrics` / :mod:`edip_ml.evaluation.report`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from edip_dl.config import DLParams, load_dl_params, to_ml_params
from edip_dl.forecaster import FORECASTERS

if TYPE_CHECKING:
    from edip_ml.config import MLParams
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

KEYS = ["origin", "target_time"]


class CompareError(ValueError):
    """The inputs cannot be compared (different data, protocol, or no common rows)."""


def family_of(model: str) -> str:
    """``dl``, ``ml``, ``baseline`` or ``reference`` (RTE's own forecast)."""
    from edip_ml.models import BASELINES, MODELS

    if model in FORECASTERS:
        return "dl"
    if model in BASELINES:
        return "baseline"
    if model in MODELS:
        return "ml"
    return "reference"


def _check_same(frames: Sequence[pd.DataFrame], key: str) -> None:
    values = {str(f.attrs.get(key)) for f in frames if f.attrs.get(key) is not None}
    if len(values) > 1:
        raise CompareError(f"the forecasts differ in {key}: {sorted(values)}; rerun on one {key}")


def combine(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """One forecasts frame on the rows common to every model (duplicates kept once)."""
    if not frames:
        raise CompareError("nothing to compare")
    _check_same(frames, "data_version")
    _check_same(frames, "protocol")
    df = pd.concat(frames, ignore_index=True)
    df = df.drop_duplicates(["model", *KEYS], keep="first")
    models = sorted(df["model"].unique())
    counts = df.groupby(KEYS)["model"].nunique()
    common = counts[counts == len(models)].index
    if not len(common):
        raise CompareError(f"models {models} share no (origin, target_time) row")
    out = df.set_index(KEYS).loc[common].reset_index()
    dropped = len(df) - len(out)
    if dropped:
        log.warning("compare: %d rows not forecast by every model are left out", dropped)
    out.attrs.update(
        {
            k: v
            for k, v in frames[0].attrs.items()
            if k in ("data_version", "protocol", "step", "weather_source")
        }
    )
    return out.sort_values(["model", *KEYS], kind="mergesort").reset_index(drop=True)


def ranking(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Models ranked by MAPE (best first) with the family and every score of edip_ml.evaluation.metrics."""
    from edip_ml.evaluation.metrics import summary

    table = summary(forecasts).sort_values("mape")
    table.insert(0, "family", [family_of(m) for m in table.index])
    table.insert(0, "rank", range(1, len(table) + 1))
    return table


@dataclass
class Comparison:
    forecasts: pd.DataFrame
    ranking: pd.DataFrame
    files: list[Path]


def run_compare(
    out_dir: Path,
    *,
    forecasts_files: Sequence[Path] = (),
    ml_models: Sequence[str] = (),
    dl_models: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
    protocol: str = "day-ahead",
    store: Store | None = None,
    ml_params: MLParams | None = None,
    dl_params: DLParams | None = None,
) -> Comparison:
    """Rank the models of ``forecasts_files`` and/or of fresh ML and DL backtests.

    Fresh backtests run on the same store, period and protocol (ML with ``ml:``, DL with ``dl:``
    folded in); files must share their data version and protocol.
    """
    from edip_ml.config import load_ml_params
    from edip_ml.evaluation.backtest import backtest
    from edip_ml.evaluation.backtest_files import read_forecasts, write_forecasts
    from edip_ml.evaluation.report import write_report
    from edip_pipeline.store import Store

    frames = [read_forecasts(p) for p in forecasts_files]
    if ml_models or dl_models:
        store = store or Store()
        ml = ml_params or load_ml_params()
        if ml_models:
            res = backtest(store, list(ml_models), start, end, protocol, ml, progress=False)  # type: ignore[arg-type]
            frames.append(res.forecasts)
        if dl_models:
            dlp = to_ml_params(dl_params or load_dl_params(), ml)
            res = backtest(store, list(dl_models), start, end, protocol, dlp, progress=False)  # type: ignore[arg-type]
            frames.append(res.forecasts)
    forecasts = combine(frames)
    table = ranking(forecasts)
    out_dir.mkdir(parents=True, exist_ok=True)
    parquet = write_forecasts(forecasts, out_dir / "forecasts.parquet")
    csv = out_dir / "ranking.csv"
    table.to_csv(csv)
    md = out_dir / "ranking.md"
    md.write_text(ranking_markdown(table) + "\n")
    html, report_md = write_report(
        forecasts,
        out_dir,
        "EDIP: ML and DL models on one backtest",
        [f"Ranking by MAPE on {forecasts.groupby(KEYS).ngroups} common (origin, target) rows."],
    )
    return Comparison(forecasts, table, [parquet, csv, md, html, report_md])


def ranking_markdown(table: pd.DataFrame) -> str:
    """The ranking as markdown (MAPE in %, MAE in MW, coverage)."""
    view = pd.DataFrame(
        {
            "rank": table["rank"],
            "family": table["family"],
            "MAPE %": (100 * table["mape"]).round(3),
            "MAE MW": table["mae"].round(0),
            "P10-P90 cov.": table.get(
                "coverage_p10_p90", pd.Series(index=table.index, dtype=float)
            ).round(2),
        },
        index=table.index,
    )
    return view.to_markdown()
