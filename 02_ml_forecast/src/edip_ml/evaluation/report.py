"""Backtest report: one self-contained Plotly HTML and a markdown summary, comparing every model.

The HTML embeds plotly.js once (inline, no CDN: it opens offline and survives as an MLflow
artifact). Both files state the weather source, because an ``observed-as-forecast`` backtest is
optimistic and must never be read as a real day-ahead score.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from edip_ml.evaluation.metrics import REFERENCE, breakdown, summary
from edip_pipeline.atomic import atomic_write_text
from edip_pipeline.calendar import PARIS

log = logging.getLogger(__name__)

WEATHER_LABELS: dict[str, str] = {
    "forecast": "forecast (archived weather forecasts issued before each target)",
    "observed-as-forecast": (
        "observed-as-forecast (observed weather stood in for forecasts: optimistic)"
    ),
    "none": "none (no weather features: load history and calendar only)",
}
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
PLOT_DAYS = 14


def weather_label(source: str | None) -> str:
    """Human label of a weather source (unknown values are shown as given)."""
    if not source:
        return "unknown (not recorded with these forecasts)"
    return WEATHER_LABELS.get(source, source)


def _colors(models: Iterable[str]) -> dict[str, str]:
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(models)}


def _fmt(value: float, kind: str) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    if kind == "pct":
        return f"{100 * value:.2f} %"
    if kind == "mw":
        return f"{value:,.0f}"
    if kind == "ratio":
        return f"{value:.3f}"
    return f"{value:g}"


SUMMARY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("mape", "MAPE", "pct"),
    ("mae", "MAE (MW)", "mw"),
    ("rmse", "RMSE (MW)", "mw"),
    ("bias", "bias (MW)", "mw"),
    ("pinball", "pinball (MW)", "mw"),
    ("coverage_p10_p90", "P10–P90 coverage", "pct"),
    ("skill", f"skill vs {REFERENCE}", "ratio"),
    ("n", "rows", "int"),
)


def summary_markdown(table: pd.DataFrame) -> str:
    """The summary table as GitHub markdown."""
    head = "| model | " + " | ".join(label for _, label, _ in SUMMARY_COLUMNS) + " |"
    sep = "|---|" + "|".join("---:" for _ in SUMMARY_COLUMNS) + "|"
    lines = [head, sep]
    for model, row in table.iterrows():
        cells = [_fmt(float(row[c]), kind) for c, _, kind in SUMMARY_COLUMNS]
        lines.append(f"| {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _summary_html(table: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(label)}</th>" for _, label, _ in SUMMARY_COLUMNS)
    rows = []
    for model, row in table.iterrows():
        cells = "".join(f"<td>{_fmt(float(row[c]), kind)}</td>" for c, _, kind in SUMMARY_COLUMNS)
        rows.append(f"<tr><th>{html.escape(str(model))}</th>{cells}</tr>")
    return (
        f"<table><thead><tr><th>model</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _line_figure(
    data: pd.DataFrame, by: str, title: str, xaxis: str, colors: dict[str, str], bars: bool = False
) -> go.Figure:
    fig = go.Figure()
    for model, g in data.groupby("model", sort=False):
        g = g.sort_values(by)
        y = 100 * g["mape"]
        name = str(model)
        if bars:
            fig.add_bar(x=g[by].astype(str), y=y, name=name, marker_color=colors[name])
        else:
            fig.add_scatter(
                x=g[by], y=y, name=name, mode="lines+markers", line={"color": colors[name]}
            )
    fig.update_layout(
        title=title, xaxis_title=xaxis, yaxis_title="MAPE (%)", barmode="group", height=420,
        template="plotly_white", legend={"orientation": "h", "y": -0.2},
    )  # fmt: skip
    return fig


def _last_days_figure(forecasts: pd.DataFrame, colors: dict[str, str]) -> go.Figure:
    """Forecast vs actual over the last 14 target days, P10–P90 band per model.

    With several origins per target (rolling protocol), the latest origin is shown.
    """
    t = pd.to_datetime(forecasts["target_time"], utc=True)
    end = t.max()
    recent = forecasts[t > end - pd.Timedelta(days=PLOT_DAYS)].copy()
    recent["target_time"] = pd.to_datetime(recent["target_time"], utc=True)
    recent = recent.sort_values(["model", "target_time", "origin"]).drop_duplicates(
        ["model", "target_time"], keep="last"
    )
    fig = go.Figure()
    actual = recent.drop_duplicates("target_time").sort_values("target_time")
    local = pd.DatetimeIndex(actual["target_time"]).tz_convert(PARIS).tz_localize(None)
    fig.add_scatter(
        x=local,
        y=actual["actual"],
        name="actual",
        mode="lines",
        line={"color": "black", "width": 2},
    )
    for model, g in recent.groupby("model", sort=False):
        name = str(model)
        g = g.sort_values("target_time")
        x = pd.DatetimeIndex(g["target_time"]).tz_convert(PARIS).tz_localize(None)
        color = colors[name]
        if g["p10"].notna().any() and g["p90"].notna().any():
            fig.add_scatter(
                x=x, y=g["p90"], mode="lines", line={"width": 0}, showlegend=False,
                legendgroup=name, hoverinfo="skip",
            )  # fmt: skip
            fig.add_scatter(
                x=x, y=g["p10"], mode="lines", line={"width": 0}, fill="tonexty",
                fillcolor=_rgba(color, 0.15), name=f"{name} P10–P90", legendgroup=name,
                showlegend=False, hoverinfo="skip",
            )  # fmt: skip
        fig.add_scatter(
            x=x, y=g["p50"], name=name, mode="lines", line={"color": color}, legendgroup=name
        )
    fig.update_layout(
        title=f"Last {PLOT_DAYS} days: P50 and P10–P90 band vs actual (Paris time)",
        yaxis_title="MW", height=520, template="plotly_white",
        legend={"orientation": "h", "y": -0.15},
    )  # fmt: skip
    return fig


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;
max-width:1200px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}
th,td{border:1px solid #ddd;padding:.35rem .6rem;text-align:right}
thead th{background:#f3f3f3}tbody th{text-align:left}
.weather{background:#fff4e5;border-left:4px solid #f0a500;padding:.6rem 1rem}
.meta{color:#666;font-size:.85rem}
"""


def write_report(
    forecasts: pd.DataFrame,
    out_dir: str | Path,
    title: str = "EDIP day-ahead backtest",
    notes: str | Iterable[str] | None = None,
    *,
    weather_source: str | None = None,
    name: str = "backtest_report",
) -> tuple[Path, Path]:
    """Write ``<out_dir>/<name>.html`` (Plotly, self-contained) and ``<name>.md``.

    ``weather_source`` defaults to ``forecasts.attrs["weather_source"]`` (set by the backtest).
    Returns ``(html_path, md_path)``.
    """
    if forecasts.empty:
        raise ValueError("no forecasts to report")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    attrs = dict(getattr(forecasts, "attrs", {}) or {})
    source = weather_source or attrs.get("weather_source")
    wlabel = weather_label(source)
    note_list = [notes] if isinstance(notes, str) else list(notes or [])
    table = summary(forecasts)
    models = list(table.index)
    figures = _figures(forecasts, models)
    meta = _meta(forecasts, attrs)
    html_path = out / f"{name}.html"
    md_path = out / f"{name}.md"
    seasons = _season_coverage_html(forecasts, models)
    page = _html_document(title, wlabel, meta, note_list, table, figures, seasons)
    atomic_write_text(html_path, page)
    md = _markdown_document(title, wlabel, meta, note_list, table, forecasts, models)
    atomic_write_text(md_path, md)
    log.info("report: %s, %s (weather %s)", html_path, md_path, source)
    return html_path, md_path


def _figures(forecasts: pd.DataFrame, models: list[str]) -> list[go.Figure]:
    """MAPE by horizon, hour, month, holiday (models in summary order) and the last days."""
    colors = _colors(models)

    def ordered(frame: pd.DataFrame) -> pd.DataFrame:
        rank = {m: i for i, m in enumerate(models)}
        return frame.assign(_r=frame["model"].map(rank)).sort_values("_r").drop(columns="_r")

    return [
        _line_figure(ordered(breakdown(forecasts, "horizon")), "horizon", "MAPE by horizon",
                     "horizon (h)", colors),
        _line_figure(ordered(breakdown(forecasts, "hour")), "hour",
                     "MAPE by hour of day (Paris)", "hour (Paris)", colors),
        _line_figure(ordered(breakdown(forecasts, "month")), "month", "MAPE by month (Paris)",
                     "month", colors, bars=True),
        _line_figure(ordered(breakdown(forecasts, "holiday")), "holiday",
                     "MAPE on public holidays vs ordinary days", "day type", colors, bars=True),
        _last_days_figure(forecasts, colors),
    ]  # fmt: skip


def _meta(forecasts: pd.DataFrame, attrs: dict[str, Any]) -> list[str]:
    """Provenance items shown under the title (protocol, step, period, folds, data version)."""
    t = pd.to_datetime(forecasts["target_time"], utc=True)
    period = f"{t.min():%Y-%m-%d %H:%M} → {t.max():%Y-%m-%d %H:%M} UTC" if len(t) else "empty"
    return [
        f"protocol: {attrs.get('protocol', 'unknown')}",
        f"step: {attrs.get('step', 'unknown')}",
        f"targets: {period}",
        f"folds: {len(attrs.get('folds', []))}",
        f"data version: {attrs.get('data_version', 'unknown')}",
        f"generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    ]


def _html_document(
    title: str,
    wlabel: str,
    meta: list[str],
    note_list: list[str],
    table: pd.DataFrame,
    figures: list[go.Figure],
    seasons: str = "",
) -> str:
    """The self-contained HTML page (plotly.js inlined)."""
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='weather'><b>Weather source:</b> {html.escape(wlabel)}</p>",
        f"<p class='meta'>{html.escape(' · '.join(meta))}</p>",
        *[f"<p>{html.escape(n)}</p>" for n in note_list],
        "<h2>Summary</h2>",
        _summary_html(table),
        "<p class='meta'>MAPE, MAE, RMSE and bias on P50 (bias = forecast − actual); pinball "
        "= mean of the P10/P50/P90 pinball losses; coverage = share of actuals inside "
        "P10–P90 (0.80 if calibrated).</p>",
        "<h2>P10–P90 coverage by season (adaptive conformal band)</h2>",
        seasons,
    ]
    for fig in figures:
        body.append(fig.to_html(full_html=False, include_plotlyjs=False))
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{CSS}</style>"
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )


def _season_coverage_html(forecasts: pd.DataFrame, models: list[str]) -> str:
    """Models as rows, seasons as columns, P10–P90 coverage in % as cells."""
    data = breakdown(forecasts, "season")
    if data.empty:
        return "<p>(no rows)</p>"
    pivot = data.pivot(index="model", columns="season", values="coverage_p10_p90")
    return str(pivot.reindex(models).to_html(float_format=lambda v: f"{100 * v:.1f} %"))


def _markdown_document(
    title: str,
    wlabel: str,
    meta: list[str],
    note_list: list[str],
    table: pd.DataFrame,
    forecasts: pd.DataFrame,
    models: list[str],
) -> str:
    """The Markdown summary (tables only; the plots are in the HTML report)."""
    hz = breakdown(forecasts, "horizon")
    md = [
        f"# {title}",
        "",
        f"**Weather source:** {wlabel}",
        "",
        " · ".join(meta),
        "",
        *[f"> {n}" for n in note_list],
        *([""] if note_list else []),
        summary_markdown(table),
        "",
        "## MAPE by holiday vs ordinary day",
        "",
        _pivot_markdown(breakdown(forecasts, "holiday"), "holiday", models),
        "",
        "## MAPE by month (Paris)",
        "",
        _pivot_markdown(breakdown(forecasts, "month"), "month", models),
        "",
        "## P10–P90 coverage by season (0.80 if calibrated; adaptive conformal band)",
        "",
        _pivot_markdown(breakdown(forecasts, "season"), "season", models, "coverage_p10_p90"),
        "",
        f"Horizons {hz['horizon'].min():g}–{hz['horizon'].max():g} h. "
        "Plots: the HTML report next to this file.",
        "",
    ]
    return "\n".join(md)


def _pivot_markdown(data: pd.DataFrame, by: str, models: list[str], values: str = "mape") -> str:
    """Models as rows, ``by`` keys as columns, ``values`` (MAPE) in % as cells."""
    if data.empty:
        return "(no rows)"
    pivot = data.pivot(index="model", columns=by, values=values).reindex(models)
    keys = [str(k) for k in pivot.columns]
    lines = ["| model | " + " | ".join(keys) + " |", "|---|" + "|".join("---:" for _ in keys) + "|"]
    for model, row in pivot.iterrows():
        lines.append(f"| {model} | " + " | ".join(_fmt(float(v), "pct") for v in row) + " |")
    return "\n".join(lines)
