"""Accuracy benchmark against RTE's own D-1 forecast, on the development data (skips without it).

Day-ahead protocol (origin D-1 12:00 Paris, every hour of D), monthly refits with daily online
updates in between, expanding window; train up to 2018, test 2019 and 2020 separately. Per model,
for the online combination (ML-Poly, with and without RTE's D-1 as an expert) and per weather
setting: hourly MAPE, MAE, bias, P10–P90 coverage of the adaptive conformal band (whole year
and per season: winter/spring/summer/autumn), the mean P10/P50/P90 pinball loss, the worst
month's bias, and the MAPE at 20:00 Paris beside RTE's D-1 MAPE on the same days
(``../shared/data/rte/rte_forecasts_20h_2013-2020.csv``: RTE's D-1 is only archived at 20:00, so
the ``combination_rte`` variant can lean on it at 20:00 only).

Weather settings: observed temperatures stand in for forecasts (no archived forecast exists for
those years), so every weather row is labelled **ORACLE**; each is run again with the observed
weather of the test period perturbed by a realistic day-ahead forecast error (AR(1), 1.25 °C RMS,
seeded: :mod:`edip_ml.evaluation.weather_error`), rows ``+ D-1 forecast error``; ``load only``
uses no weather. Each test year starts ``--warmup-days`` before 1 January (forecast, not scored):
the online states (ML-Poly weights, Kalman filters, conformal bands) enter January as they would
in production, not from scratch. Winter rows come first: every Jan, Feb, Nov and Dec's MAPE
against RTE's D-1 20:00 MAPE that month, judged on the same instants (our 20:00 MAPE) and, harsher,
with our all-hours MAPE against RTE's 20:00 anchor (``bench/accuracy_winter.py``). Targets (2 cores): 2019
hourly MAPE ≤ 1.15 % (SYNOP) and 2020 ≤ 1.45 % (daily regional); every winter month below RTE;
perturbed weather at most 0.15 pt worse; load only ≤ 2.2 % in 2019; every 2019 month's bias within
±300 MW; P10–P90 coverage 0.75–0.85 in every season; whole run under 20 min.

    python bench/accuracy.py [--years 2019,2020] [--models lightgbm,xgboost,gam,gam_kalman]
                             [--quick] [--n-jobs 1] [--warmup-days 61] [--no-robustness]
                             [--set '{"combination": {"forget": 0.1}}'] [--out reports/accuracy]
    python bench/accuracy.py --validate ...   # model selection on 2017/2018 (accuracy_validate)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from accuracy_validate import add_arguments, validate
from accuracy_winter import (
    PERTURBED,
    robustness_lines,
    season_pinball,
    winter_rows,
    winter_verdict,
)

log = logging.getLogger("bench.accuracy")

#: the development data (``EDIP_SHARED_DATA`` overrides it, e.g. from a git worktree elsewhere)
SHARED = Path(
    os.environ.get("EDIP_SHARED_DATA") or Path(__file__).resolve().parents[2] / "shared/data"
)
DEV_LOAD = SHARED / "odre/consommation-quotidienne-brute_2012-2020.csv.gz"
DEV_TEMP = SHARED / "odre/temperature-quotidienne-regionale_2016-2020.csv.gz"
RTE_20H = SHARED / "rte/rte_forecasts_20h_2013-2020.csv"
SYNOP_DIR = SHARED / "meteofrance"
#: the actuals each figure is scored against (ENTSO-E's actual, another perimeter, is ~600 MW
#: lower: a comparison always names its actual)
MODELS_SCORED_AGAINST = (
    "every row's MAPE/MAE/bias/coverage (rte_d1 and both combinations included): "
    "load_national/consumption_mw, ODRÉ consommation brute (hourly means), the models' label"
)
RTE_SCORED_AGAINST = (
    "'RTE D-1 20:00 %': RTE's 20:00 D-1 forecast against load_mw of "
    "rte/rte_forecasts_20h_2013-2020.csv (the same ODRÉ consumption series at 20:00, the "
    "label's perimeter); 'MAPE 20:00 %': the model against the label on the same days"
)
#: XGBoost is left out by default to fit the 20-minute budget on a shared 2-core machine
#: (``--models lightgbm,xgboost,gam,gam_kalman`` adds it; it tracked LightGBM closely)
MODELS = "lightgbm,gam,gam_kalman,gam_kalman_dynamic"
TARGETS = {2019: 1.15, 2020: 1.45}
RTE_20H_MAPE = {2019: 1.34, 2020: 1.54}
LOAD_ONLY_TARGET = 2.2
MONTH_BIAS_MW = 300.0


def _store():  # type: ignore[no-untyped-def]
    """A fresh store in a temporary directory (the user's data/ is never touched)."""
    os.environ["EDIP_DATA_DIR"] = tempfile.mkdtemp(prefix="edip-bench-accuracy-")
    from edip_pipeline.config import reset_settings_cache
    from edip_pipeline.store import Store

    reset_settings_cache()
    return Store()


def rte_20h() -> pd.DataFrame:
    """RTE's D-1 forecast and the actual at 20:00 Paris, indexed by the UTC instant."""
    from edip_pipeline.calendar import paris_wallclock_to_utc

    raw = pd.read_csv(RTE_20H)
    raw.index = pd.DatetimeIndex(paris_wallclock_to_utc(raw["time_paris"]))
    return raw[raw.index.notna()][["load_mw", "rte_d1_mw"]]


def ingest(store, synop: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Load 2012–2020, RTE's 20:00 D-1 as ``forecast_d1_mw``, and either the daily regional
    temperatures or (``synop``) the hourly national SYNOP weather of the connector (2015–2019)."""
    from edip_pipeline.features.load import AREA, DATASET
    from edip_pipeline.ingest import write_batches
    from edip_pipeline.schema import Vintage
    from edip_pipeline.sources.base import canonical
    from edip_pipeline.sources.odre import parse_file

    write_batches(store, parse_file("consommation-quotidienne-brute", DEV_LOAD))
    if synop:  # alone: with the daily file too, the builder would pick the wider daily span
        from edip_pipeline.sources import meteofrance

        write_batches(store, meteofrance.parse_file(meteofrance.DATASET, SYNOP_DIR))
    else:
        write_batches(store, parse_file("temperature-quotidienne-regionale", DEV_TEMP))
    rte = rte_20h()
    store.write(
        DATASET,
        canonical(
            pd.DatetimeIndex(rte.index),
            rte["rte_d1_mw"].to_numpy(dtype=float),
            variable="forecast_d1_mw",
            area=AREA,
            vintage=int(Vintage.DEFINITIVE),
            source="rte-20h-dev",
        ),
    )


Setting = tuple[str, str, str | None, list[int], bool, bool]


def settings(years: list[int], robustness: bool = True) -> list[Setting]:
    """(label, weather mode, training start, test years, SYNOP store?, perturbed weather?) of
    each setting run; ``load only`` last.

    SYNOP files cover 2015–2019 only, so the hourly setting tests 2019 alone and 2020 is tested
    with the daily regional temperatures (each labelled). ``robustness``: each weather setting
    again with the day-ahead forecast error on its test period's weather.
    """
    weather: list[Setting] = []
    if any(SYNOP_DIR.glob("synop.*.csv.gz")) and 2019 in years:
        weather.append(
            ("hourly SYNOP national temperature, observed (ORACLE)", "observed", "2015-01-03",
             [2019], True, False)
        )  # fmt: skip
    weather.append(
        ("daily regional temperature, observed (ORACLE)", "observed", "2016-01-02", years, False,
         False)
    )  # fmt: skip
    perturbed = [(w[0] + PERTURBED, *w[1:5], True) for w in weather] if robustness else []
    return [*weather, *perturbed, ("load only (no weather)", "none", None, years[:1], False, False)]


def score_rows(
    forecasts: pd.DataFrame, rte: pd.DataFrame, setting: str, year: int
) -> list[dict[str, object]]:
    """One table row per model of one backtest, with its wall time: fits and forecasts over the
    folds (the backtest's ``fit_seconds``; the combinations are computed after, in seconds)."""
    from edip_ml.evaluation.metrics import breakdown, summary
    from edip_pipeline.calendar import PARIS

    table = summary(forecasts)
    season = breakdown(forecasts, "season")
    month = breakdown(forecasts, "month")
    hour = pd.DatetimeIndex(forecasts["target_time"]).tz_convert(PARIS).hour
    wall = forecasts.attrs.get("fit_seconds", {})
    pinball_season = season_pinball(forecasts)
    rows = []
    for model, s in table.iterrows():
        at20 = forecasts[(forecasts["model"] == model) & (np.asarray(hour) == 20)].dropna(
            subset=["p50", "actual"]
        )
        days = pd.DatetimeIndex(at20["target_time"])
        ref = rte.reindex(days).dropna()
        m20 = at20.set_index("target_time").reindex(ref.index)
        cov = season[season["model"] == model].set_index("season")["coverage_p10_p90"]
        rows.append(
            {
                "setting": setting,
                "year": year,
                "model": model,
                "wall s": round(wall[model], 1) if model in wall else np.nan,
                "MAPE %": round(100 * s["mape"], 2),
                "MAE MW": round(s["mae"]),
                "bias MW": round(s["bias"]),
                "worst month bias MW": round(month[month["model"] == model]["bias"].abs().max()),
                "P10-P90 cov.": round(s["coverage_p10_p90"], 2),
                "season cov. W/Sp/Su/A": "/".join(
                    f"{cov.get(k, np.nan):.2f}" for k in ("winter", "spring", "summer", "autumn")
                )
                if cov.notna().any()
                else "–",
                "pinball MW": round(s["pinball"]) if np.isfinite(s["pinball"]) else np.nan,
                "season pinball W/Sp/Su/A": pinball_season.get(str(model), "–"),
                "MAPE 20:00 %": round(
                    100 * float(np.mean(np.abs(m20["p50"] - m20["actual"]) / m20["actual"])), 2
                )
                if len(ref)
                else np.nan,
                "RTE D-1 20:00 %": round(
                    100
                    * float(np.mean(np.abs(ref["rte_d1_mw"] - ref["load_mw"]) / ref["load_mw"])),
                    2,
                )
                if len(ref)
                else np.nan,
            }
        )
    return rows


def base_params(n_jobs: int | None) -> Any:
    """The ML parameters of every run: ``n_jobs`` threads, one fit per refit."""
    from edip_ml.config import load_ml_params

    # calibration_fraction 0: one fit per refit; the backtest's P10/P90 are the rolling bands
    # (edip_ml.models.online), so the calibration slice's second fit would only feed their fallback
    return load_ml_params().with_overrides(
        {
            "lightgbm": {"n_jobs": n_jobs},
            "xgboost": {"n_jobs": n_jobs},
            "calibration_fraction": 0.0,
        }
    )


def backtest_year(
    store: Any,
    models: list[str],
    year: int,
    quick: bool,
    params: Any,
    weather: str,
    label: str,
    train_start: str | None,
    warmup_days: int = 0,
    perturbed: bool = False,
    keep_warmup: bool = False,
) -> tuple[pd.DataFrame, str]:
    """One setting's backtest of one test year (its forecasts from 1 January, the warm-up days
    before it cut unless ``keep_warmup``), and its "weather used" line (with its time)."""
    from edip_ml.data.training_data import load_training_data
    from edip_ml.evaluation.backtest import backtest
    from edip_ml.evaluation.weather_error import ForecastError, perturbed_data

    end = f"{year}-01-14" if quick else f"{year}-12-31"
    warmup_days = min(warmup_days, 14) if quick else warmup_days
    first = pd.Timestamp(f"{year}-01-01") - pd.Timedelta(days=warmup_days)
    t1 = time.perf_counter()
    data, note = None, ""
    if perturbed:
        error = ForecastError(seed=year)
        raw = load_training_data(store, params, weather=weather, protocol="day-ahead")  # type: ignore[arg-type]
        data, note = perturbed_data(raw, first, error), f", test weather + {error.describe()}"
    res = backtest(
        store,
        models,
        first.strftime("%Y-%m-%d"),
        end,
        "day-ahead",
        params,
        weather=weather,  # type: ignore[arg-type]
        baselines=["same_hour_last_week"],
        progress=False,
        data=data,
    )
    line = (
        f"{label}, {year}: weather_source={res.weather_source}, groups={res.groups}, "
        f"train from {train_start or 'first stored day'}, warm-up from {first.date()}{note}, "
        f"{time.perf_counter() - t1:.0f} s"
    )
    from edip_pipeline.calendar import PARIS

    t = pd.DatetimeIndex(res.forecasts["target_time"]).tz_convert(PARIS)
    scored = res.forecasts[np.asarray((t.year == year) | keep_warmup)].reset_index(drop=True)
    scored.attrs = dict(res.forecasts.attrs)
    return scored, line


def monthly_bias(forecasts: pd.DataFrame) -> pd.DataFrame:
    """Bias (MW) per month and model, rounded."""
    from edip_ml.evaluation.metrics import breakdown

    m = breakdown(forecasts, "month").pivot(index="month", columns="model", values="bias")
    return m.round(0)


def report_text(
    table: pd.DataFrame,
    winter: pd.DataFrame,
    monthly: dict[str, pd.DataFrame],
    weather_used: list[str],
    runs: list[Setting],
    years: list[int],
    seconds: float,
) -> str:
    """The markdown report: winter months first, the table, the weather used, monthly biases,
    the targets, the time."""
    lines = [
        "## accuracy: day-ahead (origin D-1 12:00 Paris), monthly refits + daily online updates",
        "",
        "### winter months: MAPE vs RTE's D-1 MAPE at 20:00 (the only hour it is archived at)",
        "",
        "Primary verdict: the same instants (our MAPE at 20:00 Paris vs RTE's at 20:00, the same "
        "days). Harsher one, kept: our all-hours MAPE vs RTE's 20:00 MAPE as a 20:00 anchor.",
        "",
        winter.to_markdown(index=False) if len(winter) else "(no winter month tested)",
        "",
        "### every setting, whole test year",
        "",
        table.to_markdown(index=False),
        "",
        "scored against:",
        f"- {MODELS_SCORED_AGAINST}",
        f"- {RTE_SCORED_AGAINST}",
        "",
        "weather used (observed weather standing in for forecasts is an ORACLE):",
        *[f"- {w}" for w in weather_used],
        "",
    ]
    for label, m in monthly.items():
        lines += [f"### monthly bias (MW), first test year, {label}", "", m.to_markdown(), ""]
    lines += verdict(table, years, oracle=[r[0] for r in runs[:-1]], label_load=runs[-1][0])
    lines += [*winter_verdict(winter), *robustness_lines(table), ""]
    lines.append(f"whole benchmark: {seconds:.0f} s (target < 1200 s)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    stores = {}
    rte = rte_20h()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    years = [int(y) for y in (args.years or "2019,2020").split(",")]
    base = base_params(args.n_jobs).with_overrides(json.loads(args.set))
    rows: list[dict[str, object]] = []
    winter: list[dict[str, object]] = []
    monthly: dict[str, pd.DataFrame] = {}
    weather_used: list[str] = []
    runs = settings(years, robustness=not args.no_robustness)
    for label, weather, train_start, run_years, synop, perturbed in runs:
        if synop not in stores:
            stores[synop] = _store()
            ingest(stores[synop], synop)
        store = stores[synop]
        params = base.with_overrides({"backtest": {"train_start": train_start}})
        for year in run_years:
            forecasts, line = backtest_year(
                store, models, year, args.quick, params, weather, label, train_start,
                args.warmup_days, perturbed,
            )  # fmt: skip
            weather_used.append(line)
            rows += score_rows(forecasts, rte, label, year)
            if weather != "none":
                winter += winter_rows(forecasts, rte, label, year)
            if (year == 2019 or year == years[0]) and not perturbed:
                monthly[label] = monthly_bias(forecasts)
    table = pd.DataFrame(rows)
    seconds = time.perf_counter() - t0
    text = report_text(table, pd.DataFrame(winter), monthly, weather_used, runs, years, seconds)
    print(text)  # noqa: T201
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "accuracy.md").write_text(text + "\n")
    table.to_csv(args.out / "accuracy.csv", index=False)


def verdict(table: pd.DataFrame, years: list[int], oracle: list[str], label_load: str) -> list[str]:
    """Targets met or missed: the best forecast without RTE as an input, per year and setting."""
    out = ["### targets", ""]
    own = table[~table["model"].isin(["rte_d1", "combination_rte"])]
    for year, label_oracle in [(y, o) for o in oracle for y in years]:
        w = own[(own["setting"] == label_oracle) & (own["year"] == year)]
        if w.empty:
            continue
        best = w.sort_values("MAPE %").iloc[0]
        goal = TARGETS.get(year)
        ok = "MET" if goal and best["MAPE %"] <= goal else "MISSED"
        out.append(
            f"- {year}, {label_oracle}: best {best['model']}: MAPE {best['MAPE %']} % vs target "
            f"≤ {goal} % → {ok}; 20:00 MAPE {best['MAPE 20:00 %']} % vs RTE "
            f"{best['RTE D-1 20:00 %']} % → "
            f"{'beats RTE' if best['MAPE 20:00 %'] < best['RTE D-1 20:00 %'] else 'loses to RTE'}; "
            f"worst month bias {best['worst month bias MW']} MW "
            f"({'within' if best['worst month bias MW'] <= MONTH_BIAS_MW else 'outside'} ±300)"
        )
    lo = own[(own["setting"] == label_load) & (own["year"] == years[0])]
    if len(lo):
        best = lo.sort_values("MAPE %").iloc[0]
        out.append(
            f"- load only {years[0]} best ({best['model']}): {best['MAPE %']} % vs ≤ "
            f"{LOAD_ONLY_TARGET} % → {'MET' if best['MAPE %'] <= LOAD_ONLY_TARGET else 'MISSED'}"
        )
    return [*out, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--years", default=None, help="default 2019,2020 (2017,2018 validating)")
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--quick", action="store_true", help="two weeks per year (smoke test)")
    parser.add_argument(
        "--n-jobs",
        type=int,
        default=None,
        help="threads of LightGBM/XGBoost (default: EDIP_FIT_THREADS, 1: edip_pipeline.runtime)",
    )
    parser.add_argument(
        "--warmup-days",
        type=int,
        default=61,
        help="days forecast before each 1 January, not scored (online states warm up)",
    )
    parser.add_argument(
        "--no-robustness", action="store_true", help="skip the perturbed-weather settings"
    )
    parser.add_argument(
        "--set", default="{}", help="ML parameter overrides, JSON (e.g. a combination knob)"
    )
    parser.add_argument("--out", type=Path, default=Path("reports/accuracy"))
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("edip_ml.evaluation.backtest").setLevel(
        logging.INFO
    )  # one line per fold: progress
    if not (DEV_LOAD.is_file() and DEV_TEMP.is_file() and RTE_20H.is_file()):
        print(f"## accuracy: skipped — development files absent under {SHARED}")  # noqa: T201
        return
    validate(args) if args.validate else run(args)


if __name__ == "__main__":
    main()
