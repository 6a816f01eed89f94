"""Exploratory report of the stored national load (and temperature when present).

``build_eda_report`` writes ``eda.html`` — one self-contained, offline Plotly page (plotly.js is
embedded once, inline) — and a short ``eda.md`` summary. It shows what the features are built
on: the level and seasonality of the load, the daily and weekly shapes, the thermosensitivity
(GW per °C below the heating threshold) and the holiday effect.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from edip_pipeline.atomic import atomic_write_text
from edip_pipeline.calendar import PARIS, to_utc
from edip_pipeline.extras import missing_extra
from edip_pipeline.features.holidays import holiday_table
from edip_pipeline.store import Store

try:
    import plotly.graph_objects as go
except ImportError as exc:
    raise missing_extra("eda", exc, feature="the EDA report") from exc

log = logging.getLogger(__name__)

TITLES = {
    "load": "National load — daily mean and min/max",
    "season": "Daily profile by season",
    "week": "Weekly profile",
    "year": "Yearly profile — monthly mean",
    "temperature": "Load vs temperature",
    "heatmap": "Hour × day-of-week heatmap",
    "holidays": "Holiday effect",
}
SEASONS = {
    12: "Winter",
    1: "Winter",
    2: "Winter",
    3: "Spring",
    4: "Spring",
    5: "Spring",
    6: "Summer",
    7: "Summer",
    8: "Summer",
    9: "Autumn",
    10: "Autumn",
    11: "Autumn",
}
DOW = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass
class Section:
    """One titled figure with a sentence or two of interpretation."""

    key: str
    title: str
    text: str
    figure: go.Figure | None = None


def _bounds(
    start: str | pd.Timestamp | None, end: str | pd.Timestamp | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """UTC [start, end): dates are Paris days and ``end`` is inclusive."""
    t0 = to_utc(pd.Timestamp(start).normalize()) if start is not None else None
    t1 = to_utc(pd.Timestamp(end).normalize() + pd.Timedelta(days=1)) if end is not None else None
    return t0, t1


def _load_frame(store: Store, t0: pd.Timestamp | None, t1: pd.Timestamp | None) -> pd.DataFrame:
    s = store.series("load_national", "consumption_mw", "FR", t0, t1).dropna()
    local = pd.DatetimeIndex(s.index).tz_convert(PARIS)
    return pd.DataFrame(
        {
            "load_gw": s.to_numpy() / 1000.0,
            "date": local.tz_localize(None).normalize(),
            "hour": local.hour + local.minute / 60.0,
            "dow": local.day_of_week,
            "month": local.month,
            "year": local.year,
        },
        index=local,
    )


def _daily_temperature(
    store: Store, t0: pd.Timestamp | None, t1: pd.Timestamp | None
) -> tuple[pd.Series, str]:
    """Daily mean national temperature by Paris date, and where it came from."""
    for dataset in ("weather_observed", "weather_historical_forecast"):
        s = store.series(dataset, "temperature_2m_c", "FR", t0, t1).dropna()
        if len(s):
            local = pd.DatetimeIndex(s.index).tz_convert(PARIS).tz_localize(None).normalize()
            return s.groupby(local).mean(), f"{dataset} (hourly temperature_2m_c, daily mean)"
    s = store.series("temperature_daily", "tmean_c", "FR", t0, t1).dropna()
    if len(s):
        local = pd.DatetimeIndex(s.index).tz_convert(PARIS).tz_localize(None).normalize()
        return pd.Series(s.to_numpy(), index=local), "temperature_daily (tmean_c)"
    return pd.Series(dtype=float), ""


def _fig(title: str, xaxis: str, yaxis: str) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(
        title=title,
        xaxis_title=xaxis,
        yaxis_title=yaxis,
        template="plotly_white",
        height=450,
        margin={"l": 60, "r": 20, "t": 60, "b": 50},
    )
    return fig


def _section_load(daily: pd.DataFrame) -> Section:
    fig = _fig(TITLES["load"], "Day (Paris)", "GW")
    x = daily.index
    fig.add_trace(go.Scatter(x=x, y=daily["max"], line={"width": 0}, name="max", showlegend=False))
    fig.add_trace(
        go.Scatter(
            x=x,
            y=daily["min"],
            line={"width": 0},
            fill="tonexty",
            fillcolor="rgba(31,119,180,0.2)",
            name="daily min–max",
        )
    )
    fig.add_trace(go.Scatter(x=x, y=daily["mean"], name="daily mean", line={"color": "#1f77b4"}))
    peak = daily["max"].idxmax()
    text = (
        f"Daily mean {daily['mean'].mean():.1f} GW on average; peak {daily['max'].max():.1f} GW "
        f"on {peak:%Y-%m-%d}, trough {daily['min'].min():.1f} GW. The winter/summer swing is "
        "the thermosensitivity of electric heating."
    )
    return Section("load", TITLES["load"], text, fig)


def _section_season(frame: pd.DataFrame) -> Section:
    fig = _fig(TITLES["season"], "Hour (Paris)", "GW")
    season = frame["month"].map(SEASONS)
    prof = frame.groupby([season, frame["hour"]])["load_gw"].mean()
    for name in ("Winter", "Spring", "Summer", "Autumn"):
        if name in prof.index.get_level_values(0):
            p = prof.loc[name]
            fig.add_trace(go.Scatter(x=p.index, y=p.to_numpy(), name=name, mode="lines"))
    text = (
        "Mean load by local hour and season: the morning ramp, the midday plateau and the "
        "19:00 winter peak (lighting + heating), flatter in summer."
    )
    return Section("season", TITLES["season"], text, fig)


def _section_week(frame: pd.DataFrame) -> Section:
    fig = _fig(TITLES["week"], "Hour of week (Mon 00:00 = 0, Paris)", "GW")
    how = frame["dow"] * 24 + frame["hour"]
    prof = frame.groupby(how)["load_gw"].mean()
    fig.add_trace(go.Scatter(x=prof.index, y=prof.to_numpy(), name="mean", mode="lines"))
    by_dow = frame.groupby("dow")["load_gw"].mean()
    weekday = by_dow.loc[[d for d in range(5) if d in by_dow.index]].mean()
    sunday = by_dow.get(6, np.nan)
    text = (
        f"Weekdays average {weekday:.1f} GW, Sundays {sunday:.1f} GW "
        f"({100 * (sunday / weekday - 1):+.0f} %): the weekly cycle the same-hour-last-week "
        "lag captures."
    )
    return Section("week", TITLES["week"], text, fig)


def _section_year(frame: pd.DataFrame) -> Section:
    fig = _fig(TITLES["year"], "Month", "GW")
    prof = frame.groupby(["year", "month"])["load_gw"].mean()
    for year in sorted(prof.index.get_level_values(0).unique()):
        p = prof.loc[year]
        fig.add_trace(
            go.Scatter(
                x=[MONTHS[m - 1] for m in p.index],
                y=p.to_numpy(),
                name=str(year),
                mode="lines+markers",
            )
        )
    monthly = frame.groupby("month")["load_gw"].mean()
    lo, hi = int(np.asarray(monthly.idxmin())), int(np.asarray(monthly.idxmax()))
    text = (
        f"Monthly means range from {monthly.min():.1f} GW ({MONTHS[lo - 1]}) "
        f"to {monthly.max():.1f} GW ({MONTHS[hi - 1]})."
    )
    return Section("year", TITLES["year"], text, fig)


def thermosensitivity(
    daily_load_gw: pd.Series,
    daily_temp_c: pd.Series,
    threshold_c: float,
    ordinary: pd.Series | None = None,
) -> tuple[float, float, int]:
    """Slope (GW/°C) and intercept of daily mean load on daily mean temperature below
    ``threshold_c``, on ``ordinary`` days only when given (weekends/holidays blur the fit)."""
    joined = pd.concat({"load": daily_load_gw, "temp": daily_temp_c}, axis=1).dropna()
    if ordinary is not None:
        joined = joined[ordinary.reindex(joined.index).fillna(False).astype(bool)]
    cold = joined[joined["temp"] < threshold_c]
    if len(cold) < 10:
        return float("nan"), float("nan"), len(cold)
    slope, intercept = np.polyfit(cold["temp"].to_numpy(), cold["load"].to_numpy(), 1)
    return float(slope), float(intercept), len(cold)


def _section_temperature(
    daily: pd.DataFrame, temp: pd.Series, source: str, threshold: float, ordinary: pd.Series
) -> tuple[Section, float]:
    title = TITLES["temperature"]
    if temp.empty:
        text = (
            "No temperature in the store (weather_observed, weather_historical_forecast or "
            "temperature_daily): thermosensitivity not computed. Ingest weather to see it."
        )
        return Section("temperature", title, text, None), float("nan")
    slope, intercept, n = thermosensitivity(daily["mean"], temp, threshold, ordinary)
    joined = pd.concat({"load": daily["mean"], "temp": temp}, axis=1).dropna()
    is_ord = ordinary.reindex(joined.index).fillna(False).astype(bool)
    fig = _fig(title, "Daily mean temperature (°C)", "Daily mean load (GW)")
    fig.add_trace(
        go.Scatter(
            x=joined.loc[is_ord, "temp"],
            y=joined.loc[is_ord, "load"],
            mode="markers",
            name="working days",
            marker={"size": 5},
        )
    )
    fig.add_trace(
        go.Scatter(
            x=joined.loc[~is_ord, "temp"],
            y=joined.loc[~is_ord, "load"],
            mode="markers",
            name="weekends / holidays",
            marker={"size": 5, "opacity": 0.5},
        )
    )
    if np.isfinite(slope):
        xs = np.array([joined["temp"].min(), threshold])
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=slope * xs + intercept,
                mode="lines",
                name=f"fit below {threshold:g} °C: {slope:.2f} GW/°C",
            )
        )
        text = (
            f"Thermosensitivity: {abs(slope):.2f} GW/°C — slope of a linear fit of daily "
            f"mean load on daily mean temperature over {n} working days below the heating "
            f"threshold of {threshold:g} °C ({'+' if slope >= 0 else '−'}{abs(slope):.2f} "
            f"GW per +1 °C). Temperature source: {source}."
        )
    else:
        text = (
            f"Too few working days below {threshold:g} °C ({n}) to fit the "
            f"thermosensitivity. Temperature source: {source}."
        )
    return Section("temperature", title, text, fig), slope


def _section_heatmap(frame: pd.DataFrame) -> Section:
    table = frame.pivot_table(index="hour", columns="dow", values="load_gw", aggfunc="mean")
    fig = _fig(TITLES["heatmap"], "Day of week", "Hour (Paris)")
    fig.add_trace(
        go.Heatmap(
            z=table.to_numpy(),
            x=[DOW[int(d)] for d in table.columns],
            y=table.index.to_numpy(),
            colorscale="Viridis",
            colorbar={"title": "GW"},
        )
    )
    text = "Mean load (GW) per local hour and day of week: weekend mornings start later and lower."
    return Section("heatmap", TITLES["heatmap"], text, fig)


def holiday_effect(daily_mean: pd.Series, table: pd.DataFrame) -> pd.DataFrame:
    """Per weekday public holiday: its mean load vs the same weekday 1 and 2 weeks before/after
    (ordinary days only: no holiday, bridge or Christmas break)."""
    ordinary = (
        (table["is_holiday"] == 0)
        & (table["is_bridge_day"] == 0)
        & (table["is_christmas_break"] == 0)
    )
    days = pd.DatetimeIndex(table.index)
    rows = []
    for day in days[(table["is_holiday"] == 1).to_numpy() & (days.day_of_week < 5)]:
        if day not in daily_mean.index:
            continue
        refs = [day + pd.Timedelta(weeks=k) for k in (-2, -1, 1, 2)]
        refs = [d for d in refs if d in daily_mean.index and bool(ordinary.get(d, False))]
        if not refs:
            continue
        comparable = float(daily_mean.loc[refs].mean())
        rows.append(
            {
                "date": day,
                "holiday_gw": float(daily_mean.loc[day]),
                "comparable_gw": comparable,
                "effect_pct": 100 * (float(daily_mean.loc[day]) / comparable - 1),
            }
        )
    return pd.DataFrame(rows, columns=["date", "holiday_gw", "comparable_gw", "effect_pct"])


def _section_holidays(effect: pd.DataFrame) -> Section:
    title = TITLES["holidays"]
    if effect.empty:
        return Section("holidays", title, "No weekday public holiday in the period.", None)
    fig = _fig(title, "Public holiday (weekday)", "Daily mean load (GW)")
    labels = [f"{d:%Y-%m-%d}" for d in effect["date"]]
    fig.add_trace(go.Bar(x=labels, y=effect["holiday_gw"], name="holiday"))
    fig.add_trace(
        go.Bar(
            x=labels, y=effect["comparable_gw"], name="comparable days (same weekday ±1–2 weeks)"
        )
    )
    fig.update_layout(barmode="group")
    text = (
        f"Mean daily load on {len(effect)} weekday public holidays is "
        f"{effect['effect_pct'].mean():+.1f} % vs comparable ordinary days (same weekday one "
        "and two weeks before and after, excluding holidays, bridges and the Christmas break)."
    )
    return Section("holidays", title, text, fig)


def _render_html(sections: list[Section], header: str) -> str:
    parts = [
        "<!DOCTYPE html>",
        "<html lang='en'><head><meta charset='utf-8'>",
        "<title>EDIP — exploratory analysis of French electricity demand</title>",
        "<style>body{font-family:system-ui,sans-serif;max-width:1100px;margin:auto;padding:1em}"
        "h2{margin-top:2em}p.note{color:#555}</style></head><body>",
        "<h1>EDIP — exploratory analysis of French electricity demand</h1>",
        f"<p>{html.escape(header)}</p>",
    ]
    js_done = False
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        parts.append(f"<p class='note'>{html.escape(sec.text)}</p>")
        if sec.figure is not None:
            parts.append(sec.figure.to_html(full_html=False, include_plotlyjs=not js_done))
            js_done = True
    parts.append("</body></html>")
    return "\n".join(parts)


def build_eda_report(
    store: Store,
    out_dir: Path,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> Path:
    """Write ``out_dir/eda.html`` (offline Plotly) and ``out_dir/eda.md``; return the HTML path.

    ``start``/``end`` are Paris days (``end`` inclusive); by default the whole stored history.
    Raises ``ValueError`` when there is no national load to describe.
    """
    t0, t1 = _bounds(start, end)
    frame = _load_frame(store, t0, t1)
    if frame.empty:
        raise ValueError("no national load in the store for that period: ingest data first")
    daily = frame.groupby("date")["load_gw"].agg(["mean", "min", "max"])
    table = holiday_table(daily.index.min(), daily.index.max())
    ordinary = (
        (table["is_holiday"] == 0)
        & (table["is_bridge_day"] == 0)
        & (table["is_christmas_break"] == 0)
        & (pd.DatetimeIndex(table.index).day_of_week < 5)
    )
    temp, source = _daily_temperature(store, t0, t1)
    threshold = store.params.features.heating_base_c
    sec_temp, slope = _section_temperature(daily, temp, source, threshold, ordinary)
    effect = holiday_effect(daily["mean"], table)
    sections = [
        _section_load(daily),
        _section_season(frame),
        _section_week(frame),
        _section_year(frame),
        sec_temp,
        _section_heatmap(frame),
        _section_holidays(effect),
    ]
    period = f"{daily.index.min():%Y-%m-%d} to {daily.index.max():%Y-%m-%d}"
    header = (
        f"National consumption (éCO2mix, area FR) from {period}: {len(frame)} half-hourly "
        f"values over {len(daily)} days; store data version {store.data_version()}. "
        "Times are Europe/Paris."
    )
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "eda.html"
    atomic_write_text(path, _render_html(sections, header))
    md = [f"# EDIP — exploratory analysis\n\n{header}\n"]
    for sec in sections:
        md.append(f"## {sec.title}\n\n{sec.text}\n")
    atomic_write_text(out_dir / "eda.md", "\n".join(md))
    thermo = "no weather stored" if slope != slope else f"{slope:.2f} GW/°C"  # NaN check
    log.info("EDA report %s (%s; thermosensitivity: %s)", path, period, thermo)
    return path
