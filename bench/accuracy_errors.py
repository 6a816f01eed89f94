"""Winter error analysis of the forecasts saved by ``bench/accuracy.py --validate --save``.

Why: to choose a winter fix on the validation years, first see where the winter is lost — per
model and month, per Paris hour, in cold spells (daily national mean of the regional TMoy, the
development file), over Christmas–New Year (20 Dec – 6 Jan) — without looking at 2019/2020.

    python bench/accuracy_errors.py reports/accuracy/validation/default
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from accuracy import DEV_TEMP

MODELS = ("lightgbm", "xgboost", "gam", "gam_kalman", "gam_kalman_dynamic", "combination")
WINTER = (1, 2, 11, 12)
#: daily national temperature bins (°C) of the cold-spell table
BINS = (-20.0, 0.0, 3.0, 6.0, 9.0, 30.0)


def daily_temperature() -> pd.Series:
    """Daily national temperature: the unweighted mean of the regions' TMoy (°C)."""
    raw = pd.read_csv(DEV_TEMP, sep=";")
    day = pd.to_datetime(raw["Date"], format="%d/%m/%y")
    return raw.groupby(day)["TMoy (°C)"].mean()


def frame(path: Path, year: int, temperature: pd.Series) -> pd.DataFrame:
    """The scored forecasts of ``year`` (warm-up cut) with Paris month/hour/day, error, APE, T."""
    df = pd.read_parquet(path)
    df = df[df["model"].isin(MODELS)].dropna(subset=["p50", "actual"])
    t = pd.DatetimeIndex(df["target_time"]).tz_convert("Europe/Paris")
    df = df[np.asarray(t.year == year)].copy()
    t = pd.DatetimeIndex(df["target_time"]).tz_convert("Europe/Paris")
    day = t.tz_localize(None).normalize()
    return df.assign(
        month=t.month,
        hour=t.hour,
        day=day,
        err=df["p50"] - df["actual"],
        ape=100 * (df["p50"] - df["actual"]).abs() / df["actual"],
        T=np.asarray(pd.Series(day).map(temperature)),
    )


def tables(df: pd.DataFrame) -> list[str]:
    """The markdown tables of one validation run."""
    models = [m for m in MODELS if m in set(df["model"])]
    w = df[df["month"].isin(WINTER)]
    w = w.assign(
        T_bin=pd.cut(w["T"], list(BINS)),
        xmas=((w["month"] == 12) & (w["day"].dt.day >= 20))
        | ((w["month"] == 1) & (w["day"].dt.day <= 6)),
    )
    comb = w[w["model"] == "combination"]
    days = comb.groupby("T_bin", observed=True)["day"].nunique().rename("days")

    def pivot(data: pd.DataFrame, index: str, value: str, digits: int) -> str:
        p = data.pivot_table(index=index, columns="model", values=value, observed=True)
        return p.reindex(columns=models).round(digits).to_markdown()

    return [
        "MAPE % by month", pivot(df, "month", "ape", 2),
        "bias MW by month", pivot(df, "month", "err", 0),
        "winter MAPE % by Paris hour (combination)",
        comb.groupby("hour")["ape"].mean().round(2).to_frame().T.to_markdown(),
        "winter bias MW by daily national temperature", pivot(w, "T_bin", "err", 0),
        "winter MAPE % by daily national temperature", pivot(w, "T_bin", "ape", 2),
        "days per temperature bin", days.to_frame().T.to_markdown(),
        "winter MAPE %, Christmas–New Year (20 Dec – 6 Jan) vs the rest",
        pivot(w, "xmas", "ape", 2),
        "winter bias MW, Christmas–New Year vs the rest", pivot(w, "xmas", "err", 0),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a --validate --save candidate folder")
    args = parser.parse_args()
    temperature = daily_temperature()
    for path in sorted(args.folder.glob("forecasts_*.parquet")):
        key, year = path.stem.split("_")[1:]
        print(f"\n## {key} {year} (validation, ORACLE weather)\n")  # noqa: T201
        for block in tables(frame(path, int(year), temperature)):
            print(block + "\n")  # noqa: T201


if __name__ == "__main__":
    main()
