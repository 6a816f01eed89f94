"""Intraday benchmark: MAPE by lead time, EDIP's re-issue at 20:00 against RTE's intraday, the peak.

Development data (``../shared/data``, or ``EDIP_SHARED_DATA``; skips cleanly when absent): the
ODRÉ 30-min load 2012–2020 and the daily regional temperatures (observed: every weather figure is
an **ORACLE**, no archived forecast exists), RTE's 20:00 snapshots for its intraday forecast.

LightGBM models, trained up to the end of the year before the test year (one refit per year):

* **day-ahead** — the production protocol: origin D-1 12:00 Paris, the 24 hours of D;
* **intraday** — the re-issue protocol (:func:`edip_pipeline.features.intraday_pairs`): an origin
  every 3 h (00:00 … 21:00 Paris), targets from the origin to the end of D (D = the origin's day,
  the next one from 18:00 on), so leads 0–30 h; its features read the load known at each origin
  (the builder's leak guard). Two models on it: ``lightgbm`` with the day-ahead columns (the
  earlier figure) and ``lightgbm_intraday``, the served one (``edip train intraday``): the
  short-lead shape columns (``FeatureParams.shape_features``) and the load learnt as a ratio to
  ``load_profile_1d``, the last known load moved along yesterday's profile.

Reported per test year: MAPE by lead (0–6 h, 6–12 h, 12–24 h of the intraday origins, and the
day-ahead issue); at 20:00 Paris EDIP's latest issue before 20:00 that is at least 2 h old (the
D 18:00 origin) against RTE's intraday at 20:00 (target **< 1.12 %** each year); the daily peak
(:mod:`edip_pipeline.peak`) of the day-ahead and of the D 09:00 re-issue: peak-hour hit rate and
peak MW error. Figures are printed, never asserted; whole run ≤ 15 min on 2 cores.

Model selection (``--validate``) never looks at the test years: the same protocol on the
validation years 2017 and 2018 (each trained on the data before it), for each candidate setting
of the intraday model — the latest-known-error columns (``FeatureParams.recent_error_features``)
off or on, ``lead_weight_h`` in ``--lead-weights`` — prints the 0–6 h, 12–30 h and 18:00→20:00
MAPE (a test year is refused); the winner (lowest mean 18:00→20:00 MAPE) is the default of ``ml.intraday`` and of
``lightgbm_intraday``. For the winner, the crossover ``day_ahead_after_h`` (in :data:`CROSSOVERS`):
the lowest mean MAPE over all re-issue targets when the day-ahead D-1 12:00 issue answers the
leads ≥ h; the test years report the re-issue MAPE by lead with it (:data:`DAY_AHEAD_AFTER_H`).

    python bench/intraday.py [--years 2019,2020] [--day-ahead-after-h H|none] [--quick] [--n-jobs 2]
    python bench/intraday.py --validate [--years 2017,2018] [--lead-weights none,0.25,0.5,1,1.5,3,6,12,24]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

log = logging.getLogger("bench.intraday")

SHARED = Path(
    os.environ.get("EDIP_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared/data"
)
DEV_LOAD = SHARED / "odre/consommation-quotidienne-brute_2012-2020.csv.gz"
DEV_TEMP = SHARED / "odre/temperature-quotidienne-regionale_2016-2020.csv.gz"
RTE_20H = SHARED / "rte/rte_forecasts_20h_2013-2020.csv"
RTE_INTRADAY_20H = {2019: 1.12, 2020: 1.12}  # the target: below RTE's intraday MAPE at 20:00
TEST_YEARS = sorted(RTE_INTRADAY_20H)  # reported, never used to choose a setting
TRAIN_START = "2016-02-01"
LEADS = [(0, 6, "0–6 h"), (6, 12, "6–12 h"), (12, 24, "12–24 h")]
PEAK_SLOT_H = 9
#: lead buckets of the crossover table (the D-1 18:00 and 21:00 origins reach leads up to 30 h)
LEAD_BUCKETS = [(0, 6, "0–6 h"), (6, 12, "6–12 h"), (12, 18, "12–18 h"), (18, 24, "18–24 h"),
                (24, 31, "24–30 h")]  # fmt: skip
#: ``day_ahead_after_h`` candidates: the day-ahead issue answers the leads ≥ h (None: never)
CROSSOVERS: list[int | None] = [6, 9, 12, 15, 18, 24, None]
#: the validation winner (``--validate``), applied to the test years by default
DAY_AHEAD_AFTER_H: int | None = 15


def ingest() -> Any:
    """A fresh store (temporary directory) with the development load and daily temperatures."""
    os.environ["EDIP_DATA_DIR"] = tempfile.mkdtemp(prefix="edip-bench-intraday-")
    from edip_pipeline.config import reset_settings_cache
    from edip_pipeline.ingest import write_batches
    from edip_pipeline.sources.odre import parse_file
    from edip_pipeline.store import Store

    reset_settings_cache()
    store = Store()
    write_batches(store, parse_file("consommation-quotidienne-brute", DEV_LOAD))
    write_batches(store, parse_file("temperature-quotidienne-regionale", DEV_TEMP))
    return store


def fit_predict(
    store: Any, params: Any, pairs: pd.DataFrame, test_start: str, model_name: str = "lightgbm"
) -> pd.DataFrame:
    """Fit ``model_name`` on the pairs before ``test_start`` (by target), forecast the rest."""
    from edip_ml.data.dataset import make_xy

    X, y, _ = make_xy(store, pairs, params, weather="observed", drop_missing_target=False)
    return fit_predict_xy(X, y, params, test_start, model_name)


def fit_predict_xy(
    X: pd.DataFrame, y: pd.Series, params: Any, test_start: str, model_name: str
) -> pd.DataFrame:
    """:func:`fit_predict` on a feature table already built (the validation grid reuses it)."""
    from edip_ml.models import make_model

    targets = pd.DatetimeIndex(X.index.get_level_values("target_time"))
    cut = pd.Timestamp(test_start, tz="Europe/Paris").tz_convert("UTC")
    train = np.asarray(targets < cut) & y.notna().to_numpy()
    model = make_model(model_name, params).fit(X[train], y[train], calibration_fraction=0.0)
    out = model.predict(X[~train])
    out["actual"] = y[~train].to_numpy()
    out = out.reset_index()
    lead = pd.DatetimeIndex(out["target_time"]) - pd.DatetimeIndex(out["origin"])
    out["lead_h"] = lead.total_seconds().to_numpy() / 3600.0
    return out


def mape(frame: pd.DataFrame, forecast: str = "p50", actual: str = "actual") -> float:
    f = frame.dropna(subset=[forecast, actual])
    f = f[f[actual] > 0]
    return float(100 * np.mean(np.abs(f[forecast] - f[actual]) / f[actual])) if len(f) else np.nan


def rte_intraday() -> pd.DataFrame:
    """RTE's intraday forecast and the load at 20:00 Paris (zeros are missing values)."""
    from edip_pipeline.calendar import paris_wallclock_to_utc

    raw = pd.read_csv(RTE_20H)
    raw.index = pd.DatetimeIndex(paris_wallclock_to_utc(raw["time_paris"]))
    raw = raw[raw.index.notna()][["load_mw", "rte_intraday_mw"]]
    return raw[raw["rte_intraday_mw"] > 0]


def peak_row(forecasts: pd.DataFrame, label: str) -> dict[str, Any]:
    from edip_pipeline.peak import daily_peaks, peak_scores

    frame = forecasts.set_index("target_time")[["p10", "p50", "p90"]]
    scores = peak_scores(daily_peaks(frame, forecasts.set_index("target_time")["actual"]))
    hit = scores["hit_rate"]
    return {f"{label} peak-hour hit %": round(100 * hit, 1) if hit is not None else np.nan,
            f"{label} peak MAE MW": round(scores["mae_mw"] or np.nan),
            f"{label} peak bias MW": round(scores["bias_mw"] or np.nan)}  # fmt: skip


def at_20h(intra: pd.DataFrame, rte: pd.DataFrame) -> tuple[float, float, int]:
    """EDIP's D 18:00 issue at 20:00 Paris (2 h ahead) and RTE's intraday, on the same days."""
    from edip_pipeline.calendar import PARIS

    origin_h = pd.DatetimeIndex(intra["origin"]).tz_convert(PARIS).hour
    at20 = intra[(origin_h == 18) & (intra["lead_h"] == 2)].set_index("target_time")
    ref = rte.reindex(at20.index).dropna()
    return mape(at20.loc[ref.index]), mape(ref, "rte_intraday_mw", "load_mw"), len(ref)


def with_day_ahead(intra: pd.DataFrame, ahead: pd.DataFrame) -> pd.DataFrame:
    """The re-issue forecasts with the day-ahead (D-1 12:00) issue's P50 for the same target
    hour, on the targets both forecast and the load is known (every crossover on the same rows)."""
    day_ahead = ahead.set_index("target_time")["p50"]
    out = intra.assign(ahead_p50=day_ahead.reindex(pd.DatetimeIndex(intra["target_time"])).values)
    return out.dropna(subset=["p50", "ahead_p50", "actual"])


def crossed(both: pd.DataFrame, after_h: int | None) -> pd.DataFrame:
    """The served re-issue: the intraday model for leads < ``after_h``, the day-ahead issue's
    forecast for the leads ≥ ``after_h`` (``None``: the intraday model for every lead)."""
    if after_h is None:
        return both
    return both.assign(p50=both["p50"].where(both["lead_h"] < after_h, both["ahead_p50"]))


def lead_rows(
    both: pd.DataFrame, after_h: int | None, keys: dict[str, Any]
) -> list[dict[str, Any]]:
    """MAPE by lead bucket of the intraday model, the day-ahead issue and the crossover."""
    served = crossed(both, after_h)
    rows = []
    for lo, hi, label in [*LEAD_BUCKETS, (0, 31, "all re-issues")]:
        inside = (both["lead_h"] >= lo) & (both["lead_h"] < hi)
        rows.append({**keys, "lead": label, "intraday %": round(mape(both[inside]), 3),
                     "day-ahead %": round(mape(both[inside], "ahead_p50"), 3),
                     f"served (day-ahead after {after_h or 'none'} h) %":
                         round(mape(served[inside]), 3), "targets": int(inside.sum())})  # fmt: skip
    return rows


def year_row(
    store: Any, params: Any, year: int, quick: bool, rte: pd.DataFrame, after_h: int | None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Train the models up to ``year`` − 1, test on ``year`` (the first 14 days when quick);
    the row and the MAPE by lead with the day-ahead issue answering the leads ≥ ``after_h``."""
    from edip_pipeline.calendar import PARIS
    from edip_pipeline.features import day_ahead_pairs, intraday_pairs

    t0 = time.perf_counter()
    start = TRAIN_START if not quick else f"{year - 1}-09-01"
    last = f"{year}-12-30" if not quick else f"{year}-01-14"
    test = f"{year}-01-01"
    ahead = fit_predict(store, params, day_ahead_pairs(start, last, params.step), test)
    pairs = intraday_pairs(start, last, params.step)
    plain = fit_predict(store, params, pairs, test)
    intra = fit_predict(store, params.for_intraday(), pairs, test, "lightgbm_intraday")
    row: dict[str, Any] = {"year": year, "weather": "daily regional, observed (ORACLE)"}
    for lo, hi, label in LEADS:
        row[f"MAPE {label} %"] = round(
            mape(intra[(intra["lead_h"] >= lo) & (intra["lead_h"] < hi)]), 2
        )
    row["MAPE day-ahead %"] = round(mape(ahead), 2)
    edip, rte_mape, days = at_20h(intra, rte)
    row["EDIP 18:00→20:00 %"] = round(edip, 2)
    row["same, day-ahead columns %"] = round(at_20h(plain, rte)[0], 2)
    row["RTE intraday 20:00 %"] = round(rte_mape, 2)
    row["days at 20:00"] = days
    row.update(peak_row(ahead, "day-ahead"))
    origin_h = pd.DatetimeIndex(intra["origin"]).tz_convert(PARIS).hour
    slot = intra[origin_h == PEAK_SLOT_H]
    slot = slot[pd.DatetimeIndex(slot["target_time"]).tz_convert(PARIS).normalize()
                == pd.DatetimeIndex(slot["origin"]).tz_convert(PARIS).normalize()]  # fmt: skip
    row.update(peak_row(slot, "D 09:00"))
    row["wall s"] = round(time.perf_counter() - t0, 1)
    return row, lead_rows(with_day_ahead(intra, ahead), after_h, {"year": year})


Forecasts = dict[tuple[int, str, Any], pd.DataFrame]


def validation_rows(
    store: Any, params: Any, year: int, quick: bool, rte: pd.DataFrame, weights: list[float | None]
) -> tuple[list[dict[str, Any]], Forecasts]:
    """The candidate settings of the intraday model on a validation ``year``, same protocol as
    the test years (trained up to ``year`` − 1): with and without the latest-known-error columns,
    each ``lead_weight_h`` of ``weights``. One feature table per column set, reused. Also each
    candidate's re-issues beside the day-ahead issue (:func:`with_day_ahead`), for the crossover."""
    from edip_ml.data.dataset import make_xy
    from edip_pipeline.features import day_ahead_pairs, intraday_pairs

    start = TRAIN_START if not quick else f"{year - 1}-09-01"
    last = f"{year}-12-30" if not quick else f"{year}-01-14"
    test = f"{year}-01-01"
    ahead = fit_predict(store, params, day_ahead_pairs(start, last, params.step), test)
    pairs = intraday_pairs(start, last, params.step)
    rows: list[dict[str, Any]] = []
    forecasts: Forecasts = {}
    for errors in (False, True):
        ip = params.for_intraday()
        ip = ip.with_overrides(
            {"feature_overrides": {**ip.feature_overrides, "recent_error_features": errors}}
        )
        X, y, _ = make_xy(store, pairs, ip, weather="observed", drop_missing_target=False)
        for weight in weights:
            t0 = time.perf_counter()
            mp = ip.with_overrides({"lightgbm_intraday": {"lead_weight_h": weight}})
            intra = fit_predict_xy(X, y, mp, test, "lightgbm_intraday")
            forecasts[year, "on" if errors else "off", weight or "none"] = with_day_ahead(
                intra, ahead
            )
            edip, rte_mape, days = at_20h(intra, rte)
            short, long = intra[intra["lead_h"] < 6], intra[intra["lead_h"] >= 12]
            rows.append({"year": year, "error columns": "on" if errors else "off",
                         "lead_weight_h": weight if weight else "none",
                         "MAPE 0–6 h %": round(mape(short), 3),
                         "MAPE 12–30 h %": round(mape(long), 3),
                         "EDIP 18:00→20:00 %": round(edip, 3),
                         "RTE intraday 20:00 %": round(rte_mape, 2), "days at 20:00": days,
                         "wall s": round(time.perf_counter() - t0, 1)})  # fmt: skip
    return rows, forecasts


def validation_report(table: pd.DataFrame, forecasts: Forecasts, seconds: float) -> str:
    """The validation table and its winner: the lowest mean 18:00→20:00 MAPE over the years
    (ties: the lower 0–6 h MAPE) — how the defaults of ``ml.intraday.feature_overrides`` and
    ``ml.lightgbm_intraday.lead_weight_h`` were chosen; then, for the winner, the crossover."""
    keys = ["error columns", "lead_weight_h"]
    columns = ["EDIP 18:00→20:00 %", "MAPE 0–6 h %", "MAPE 12–30 h %"]
    mean = table.groupby(keys, sort=False)[columns].mean()
    mean = mean.sort_values(["EDIP 18:00→20:00 %", "MAPE 0–6 h %"])
    best = mean.index[0]
    lines = ["## intraday model selection on the validation years (lightgbm_intraday; weather: "
             "observed daily regional temperature = ORACLE)", "", table.to_markdown(index=False),
             "", "### mean over the validation years", "",
             mean.round(3).reset_index().to_markdown(index=False), "",
             f"winner: error columns {best[0]}, lead_weight_h {best[1]} "
             "(lowest mean 18:00→20:00 MAPE)", "",
             *crossover_report(forecasts, best), "",
             f"whole validation: {seconds:.0f} s"]  # fmt: skip
    return "\n".join(lines)


def crossover_report(forecasts: Forecasts, best: tuple[str, Any]) -> list[str]:
    """For the winner: the MAPE over all re-issue targets of each ``day_ahead_after_h`` (the
    day-ahead D-1 12:00 issue answers the leads ≥ h), mean over the years; the lowest wins (ties:
    the later crossover, the intraday model answering more), and the MAPE by lead with it."""
    years = sorted({y for y, *setting in forecasts if tuple(setting) == best})
    rows = [{"year": y, "day_ahead_after_h": h or "none",
             "MAPE all re-issues %": mape(crossed(forecasts[(y, *best)], h))}
            for y in years for h in CROSSOVERS]  # fmt: skip
    table = pd.DataFrame(rows)
    mean = table.groupby("day_ahead_after_h", sort=False)["MAPE all re-issues %"].mean()
    after = min(CROSSOVERS, key=lambda h: (mean[h or "none"], -(h or 99)))
    by_lead = [r for y in years for r in lead_rows(forecasts[(y, *best)], after, {"year": y})]
    wide = table.pivot(index="day_ahead_after_h", columns="year", values="MAPE all re-issues %")
    wide = wide.reindex([h or "none" for h in CROSSOVERS]).assign(mean=mean)
    return ["### crossover to the day-ahead issue (winner settings; MAPE all re-issues %)", "",
            wide.round(3).reset_index().to_markdown(index=False), "",
            f"day_ahead_after_h: {after or 'none'} (lowest mean MAPE over all re-issue targets)",
            "", "### MAPE by lead: intraday model, day-ahead issue, crossover", "",
            pd.DataFrame(by_lead).to_markdown(index=False)]  # fmt: skip


def report(table: pd.DataFrame, by_lead: pd.DataFrame, seconds: float, quick: bool) -> str:
    lines = ["## intraday re-issues (lightgbm_intraday, the served model; weather: observed daily "
             "regional temperature = ORACLE)", "", table.to_markdown(index=False), "",
             "### re-issue MAPE by lead with the crossover to the day-ahead issue", "",
             by_lead.to_markdown(index=False), "", "### targets", ""]  # fmt: skip
    for _, r in table.iterrows():
        goal = RTE_INTRADAY_20H.get(int(r["year"]), np.nan)
        ok = "MET" if r["EDIP 18:00→20:00 %"] < goal else "MISSED"
        lines.append(f"- {int(r['year'])}: EDIP's 18:00 issue at 20:00 {r['EDIP 18:00→20:00 %']} % "
                     f"vs target < {goal} % (RTE intraday here {r['RTE intraday 20:00 %']} %) "
                     f"→ {ok}")  # fmt: skip
    budget = "≤ 900 s" if seconds <= 900 else "over 900 s"
    lines += [
        "",
        f"whole benchmark: {seconds:.0f} s ({budget}){' (quick: 14 days)' if quick else ''}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default=None, help="default 2019,2020 (2017,2018 validating)")
    parser.add_argument(
        "--validate",
        action="store_true",
        help="model selection on validation years: the candidate settings, never the test years",
    )
    parser.add_argument(
        "--lead-weights",
        default="none,0.25,0.5,1,1.5,3,6,12,24",
        help="lead_weight_h candidates (validate)",
    )
    parser.add_argument(
        "--day-ahead-after-h",
        type=lambda v: None if v == "none" else int(v),
        default=DAY_AHEAD_AFTER_H,
        help=f"crossover lead reported on the test years (default {DAY_AHEAD_AFTER_H}, the "
        "validation winner; 'none': the intraday model for every lead)",
    )
    parser.add_argument("--quick", action="store_true", help="14 test days a year (smoke test)")
    parser.add_argument("--n-jobs", type=int, default=None, help="LightGBM threads")
    parser.add_argument("--out", type=Path, default=Path("reports/intraday"))
    args = parser.parse_args()
    years = [
        int(y) for y in (args.years or ("2017,2018" if args.validate else "2019,2020")).split(",")
    ]
    if args.validate and set(years) & set(TEST_YEARS):
        parser.error(f"--validate takes validation years, not the test years {TEST_YEARS}")
    logging.basicConfig(level=logging.WARNING)
    if not (DEV_LOAD.is_file() and DEV_TEMP.is_file() and RTE_20H.is_file()):
        print(f"intraday benchmark skipped — development files absent under {SHARED}")  # noqa: T201
        return
    from edip_ml.config import load_ml_params

    t0 = time.perf_counter()
    params = load_ml_params().with_overrides(
        {
            "lightgbm": {"n_jobs": args.n_jobs},
            "lightgbm_intraday": {"n_jobs": args.n_jobs},
            "calibration_fraction": 0.0,
        }
    )
    store, rte = ingest(), rte_intraday()
    if args.validate:
        weights = [None if w == "none" else float(w) for w in args.lead_weights.split(",")]
        vrows, forecasts = [], {}
        for y in years:
            rows, frames = validation_rows(store, params, y, args.quick, rte, weights)
            vrows += rows
            forecasts.update(frames)
        seconds = time.perf_counter() - t0
        text, name = validation_report(pd.DataFrame(vrows), forecasts, seconds), "validation.md"
    else:
        done = [year_row(store, params, y, args.quick, rte, args.day_ahead_after_h) for y in years]
        table = pd.DataFrame([row for row, _ in done])
        by_lead = pd.DataFrame([r for _, leads in done for r in leads])
        text = report(table, by_lead, time.perf_counter() - t0, args.quick)
        name = "intraday.md"
    print(text)  # noqa: T201
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / name).write_text(text + "\n")


if __name__ == "__main__":
    main()
