"""Plotly figures of the pages, built from plain frames (no Streamlit here, so they are testable).

Times are drawn as Europe/Paris wall-clock time: Plotly has no time zones, so UTC instants are
converted to Paris and made naive just before plotting.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from edip_dashboard.clock import PARIS
from edip_dashboard.drift import DriftResult

BAND = "rgba(31, 119, 180, 0.18)"
FORECAST = "#1f77b4"
NEXT = "#9467bd"
ACTUAL = "#222222"
RTE = "#ff7f0e"
LAYOUT = {"margin": {"l": 10, "r": 10, "t": 40, "b": 10}, "hovermode": "x unified", "height": 420}


def paris_naive(times: Sequence[pd.Timestamp] | pd.Index | pd.Series) -> pd.DatetimeIndex:
    """UTC instants → naive Paris wall-clock times (what Plotly should show)."""
    return pd.DatetimeIndex(pd.to_datetime(times, utc=True)).tz_convert(PARIS).tz_localize(None)


def _band(
    fig: go.Figure, x: pd.DatetimeIndex, lo: pd.Series, hi: pd.Series, name: str, color: str
) -> None:
    fig.add_trace(
        go.Scatter(
            x=x,
            y=hi,
            mode="lines",
            line={"width": 0},
            showlegend=False,
            hoverinfo="skip",
            name=f"{name} P90",
        )
    )
    fig.add_trace(go.Scatter(x=x, y=lo, mode="lines", line={"width": 0}, fill="tonexty", fillcolor=color, name=name, hoverinfo="skip"))  # fmt: skip


def now_figure(
    actuals: pd.DataFrame, served: pd.DataFrame, upcoming: pd.DataFrame, now: pd.Timestamp
) -> go.Figure:
    """Actual load, served day-ahead P50 with its P10–P90 band, RTE's D-1, and the next forecast.

    ``actuals``: index UTC, ``consumption_mw``, ``rte_forecast_d1_mw``; ``served``: ``target_time,
    p10, p50, p90`` (one model); ``upcoming``: ``/v1/forecast`` frame indexed by target time.
    """
    fig = go.Figure()
    if not served.empty:
        x = paris_naive(served["target_time"])
        if served["p10"].notna().any() and served["p90"].notna().any():
            _band(fig, x, served["p10"], served["p90"], "served P10–P90", BAND)
        fig.add_trace(
            go.Scatter(x=x, y=served["p50"], name="served forecast (P50)", line={"color": FORECAST})
        )
    if not actuals.empty:
        x = paris_naive(actuals.index)
        fig.add_trace(
            go.Scatter(
                x=x, y=actuals["consumption_mw"], name="actual", line={"color": ACTUAL, "width": 2}
            )
        )
        if actuals["rte_forecast_d1_mw"].notna().any():
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=actuals["rte_forecast_d1_mw"],
                    name="RTE D-1",
                    line={"color": RTE, "dash": "dot"},
                )
            )
    if not upcoming.empty:
        x = paris_naive(upcoming.index)
        if upcoming["p10"].notna().any() and upcoming["p90"].notna().any():
            _band(
                fig, x, upcoming["p10"], upcoming["p90"], "next P10–P90", "rgba(148, 103, 189, 0.2)"
            )
        fig.add_trace(
            go.Scatter(
                x=x, y=upcoming["p50"], name="next forecast (P50)", line={"color": NEXT, "width": 2}
            )
        )
    now_x = paris_naive([now])[0]
    fig.add_vline(x=now_x, line={"dash": "dash", "color": "grey"})
    fig.add_annotation(x=now_x, y=1, yref="paper", text="now", showarrow=False, yanchor="bottom")
    fig.update_layout(**LAYOUT, title="Consumption (MW), Europe/Paris time", yaxis_title="MW")
    return fig  # fmt: skip


def daily_figure(daily: pd.DataFrame, metric: str) -> go.Figure:
    """Daily ``metric`` per forecaster, with the 7-day rolling MAPE dashed when metric is MAPE."""
    fig = go.Figure()
    scale = 100.0 if metric == "mape" else 1.0
    for name, group in daily.groupby("forecaster", sort=True):
        x = pd.to_datetime(group["date"])
        fig.add_trace(
            go.Scatter(x=x, y=group[metric] * scale, mode="lines+markers", name=str(name))
        )
        if metric == "mape" and "mape_rolling" in group:
            fig.add_trace(go.Scatter(x=x, y=group["mape_rolling"] * 100, mode="lines", line={"dash": "dash"}, name=f"{name} (7-day mean)", opacity=0.6))  # fmt: skip
    unit = {"mape": "MAPE (%)", "mae": "MAE (MW)", "bias": "bias (MW, forecast − actual)"}[metric]
    fig.update_layout(**LAYOUT, title=f"Daily {unit}", yaxis_title=unit)
    return fig


def by_hour_figure(by_hour: pd.DataFrame) -> go.Figure:
    """MAPE by Paris hour of day, one line per forecaster."""
    fig = go.Figure()
    for name, group in by_hour.groupby("forecaster", sort=True):
        fig.add_trace(
            go.Scatter(x=group["hour"], y=group["mape"] * 100, mode="lines+markers", name=str(name))
        )
    fig.update_layout(
        **LAYOUT, title="MAPE by hour of day (Paris)", xaxis_title="hour", yaxis_title="MAPE (%)"
    )
    return fig  # fmt: skip


def by_day_type_figure(by_type: pd.DataFrame) -> go.Figure:
    """MAPE by day type, grouped bars per forecaster."""
    fig = go.Figure()
    for name, group in by_type.groupby("forecaster", sort=True):
        fig.add_trace(go.Bar(x=group["day_type"], y=group["mape"] * 100, name=str(name)))
    fig.update_layout(**LAYOUT, barmode="group", title="MAPE by day type", yaxis_title="MAPE (%)")
    return fig


def versions_figure(versions: pd.DataFrame, served_alias: str | None) -> go.Figure:
    """Promotion history: each registered version at its creation time, the one carrying the
    alias the API serves highlighted (``served_alias``: ``/v1/model``'s ``alias``, so the
    dashboard never spells the registry's alias names itself)."""
    fig = go.Figure()
    if not versions.empty:
        champion = versions["aliases"].map(lambda a: served_alias in (a or []))
        for is_champ, group in versions.groupby(champion):
            fig.add_trace(
                go.Scatter(
                    x=paris_naive(group["created_at"]),
                    y=group["backtest_mape"] * 100,
                    mode="markers+text",
                    text="v" + group["version"].astype(str),
                    textposition="top center",
                    marker={
                        "size": 14 if is_champ else 9,
                        "symbol": "star" if is_champ else "circle",
                    },
                    name=f"{served_alias} (served)" if is_champ else "other versions",
                    customdata=group[["family"]].to_numpy(),
                    hovertemplate="v%{text} %{customdata[0]}<br>backtest MAPE %{y:.2f}%<extra></extra>",
                )
            )
    fig.update_layout(
        **{**LAYOUT, "hovermode": "closest"},
        title="Registered versions (backtest MAPE)",
        yaxis_title="backtest MAPE (%)",
    )
    return fig  # fmt: skip


def coverage_figure(coverage: pd.DataFrame) -> go.Figure:
    """Calendar heatmap: share of hours with data per Paris day (weeks across, weekdays down).

    ``coverage``: columns ``date`` (datetime.date) and ``share`` (0–1).
    """
    frame = coverage.copy()
    dates = pd.to_datetime(frame["date"])
    frame["week"] = (dates - pd.to_timedelta(dates.dt.day_of_week, unit="D")).dt.strftime(
        "%Y-%m-%d"
    )
    frame["weekday"] = dates.dt.day_name().str[:3]
    frame["label"] = dates.dt.strftime("%Y-%m-%d")
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    z = frame.pivot_table(index="weekday", columns="week", values="share", aggfunc="first").reindex(
        days
    )
    text = frame.pivot_table(
        index="weekday", columns="week", values="label", aggfunc="first"
    ).reindex(days)
    fig = go.Figure(
        go.Heatmap(
            z=z.to_numpy() * 100, x=list(z.columns), y=days, text=text.to_numpy(),
            zmin=0, zmax=100, colorscale="RdYlGn", colorbar={"title": "% hours"},
            hovertemplate="%{text}: %{z:.0f}% of hours<extra></extra>", xgap=2, ygap=2,
        )
    )  # fmt: skip
    fig.update_layout(
        **{**LAYOUT, "hovermode": "closest", "height": 300},
        title="Actuals coverage (week starting)",
    )
    fig.update_yaxes(autorange="reversed")
    return fig


def drift_figure(
    column: str, reference: pd.Series, recent: pd.Series, result: DriftResult
) -> go.Figure:
    """Overlaid density histograms of a column, reference period against recent days."""
    fig = make_subplots(rows=1, cols=1)
    for values, name, color in ((reference, "training period", FORECAST), (recent, "recent", RTE)):
        fig.add_trace(go.Histogram(x=values.dropna(), name=name, histnorm="probability density", opacity=0.55, marker={"color": color}, nbinsx=40))  # fmt: skip
    score = (
        f"PSI {result.psi:.3f} · KS {result.ks_stat:.3f}"
        if result.psi is not None
        else result.reason
    )
    fig.update_layout(
        **{**LAYOUT, "hovermode": "closest", "height": 340},
        barmode="overlay",
        title=f"{column} — {score}",
    )
    return fig  # fmt: skip


def explanation_waterfall(
    table: pd.DataFrame, reference_p50: float, p50: float, reference: str, day: str
) -> go.Figure:
    """From the reference day's P50 to the day's, one bar per contribution difference
    (``table``: label and difference in MW, as :func:`edip_dashboard.explanation.compare`)."""
    labels = [f"{reference} forecast", *table["label"], f"{day} forecast"]
    values = [reference_p50, *table["difference"], p50]
    measure = ["absolute", *["relative"] * len(table), "total"]
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measure,
            text=[
                f"{v:,.0f}" if m != "relative" else f"{v:+,.0f}"
                for v, m in zip(values, measure, strict=True)
            ],
            textposition="outside",
            increasing={"marker": {"color": "#d62728"}},
            decreasing={"marker": {"color": "#2ca02c"}},
            totals={"marker": {"color": FORECAST}},
            connector={"line": {"color": "#999999"}},
        )
    )
    steps = [reference_p50, *(reference_p50 + table["difference"].cumsum()).tolist(), p50]
    low, high = min(steps), max(steps)
    pad = 0.2 * (high - low) + 500.0  # the bars' labels fit; the totals are cut, the steps shown
    fig.update_layout(
        **{**LAYOUT, "hovermode": "closest"},
        title=f"From {reference} to {day}: what changed (MW)",
        yaxis={"title": "MW", "range": [max(0.0, low - pad), high + pad]},
        showlegend=False,
    )
    return fig


def evolution_figure(
    issues: list[tuple[str, pd.DataFrame]], actual: pd.Series, day: str
) -> go.Figure:
    """A day's successive issues (``(label, frame with p50)``, oldest first: light to dark) as
    lines against the measured load; the latest issue's P10–P90 as a band."""
    fig = go.Figure()
    if issues:
        label, last = issues[-1]
        _band(fig, paris_naive(last.index), last["p10"], last["p90"], "latest P10–P90", BAND)
    n = len(issues)
    for i, (label, frame) in enumerate(issues):
        shade = 0.35 + 0.65 * (i + 1) / n  # the older, the lighter
        fig.add_trace(
            go.Scatter(
                x=paris_naive(frame.index),
                y=frame["p50"],
                mode="lines",
                name=label,
                line={"color": FORECAST, "width": 1.5 + (i == n - 1)},
                opacity=shade,
            )
        )
    if not actual.empty:
        fig.add_trace(
            go.Scatter(
                x=paris_naive(actual.index),
                y=actual,
                mode="lines+markers",
                name="actual",
                line={"color": ACTUAL, "width": 2.5},
            )
        )
    fig.update_layout(**LAYOUT, title=f"Forecast of {day} (Paris time), issue by issue",
                      yaxis={"title": "MW"}, legend={"orientation": "h", "y": -0.15})  # fmt: skip
    return fig
