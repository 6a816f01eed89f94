"""DL benchmark: day-ahead MAPE per architecture vs LightGBM on the ML benchmark's periods,
training time per epoch (CPU; GPU when present), ONNX vs PyTorch inference latency.

Settings and data come from ``bench/ml.py`` (same periods, same store loading, reused):

* ``sample`` — bundled éCO2mix sample, backtest 2020-07-01 → 2020-12-31, load only;
* ``dev`` — ``../shared/data`` ODRÉ files when present, test 2019 with temperature.

    python bench/dl.py [--setting sample|dev] [--models lstm,gru,tcn,transformer] [--epochs 8]
        [--start 2020-07-01 --end 2020-12-31]

The report ends with a plain statement: does the best DL model beat LightGBM, and by how much
(target: best DL within 10 % of LightGBM's MAPE).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ml as bench_ml

log = logging.getLogger("bench.dl")


def _dev_store():  # type: ignore[no-untyped-def]
    from edip_pipeline.ingest import write_batches
    from edip_pipeline.sources.odre import parse_file

    store = bench_ml._store("dl-dev")
    write_batches(store, parse_file("consommation-quotidienne-brute", bench_ml.DEV_LOAD))
    write_batches(store, parse_file("temperature-quotidienne-regionale", bench_ml.DEV_TEMP))
    return store


def _sample_store():  # type: ignore[no-untyped-def]
    from edip_pipeline.sources.sample import sample_frame

    store = bench_ml._store("dl-sample")
    store.write("load_national", sample_frame())
    return store


def run(setting: str, models: list[str], epochs: int, start: str | None, end: str | None) -> None:
    from edip_dl.config import load_dl_params, to_ml_params
    from edip_ml.config import load_ml_params
    from edip_ml.evaluation.backtest import backtest

    if setting == "dev" and bench_ml.DEV_LOAD.is_file() and bench_ml.DEV_TEMP.is_file():
        store = _dev_store()
        start, end = start or "2019-01-01", end or "2019-12-31"
    else:
        if setting == "dev":
            print(f"dev data absent under {bench_ml.SHARED}: using the sample")  # noqa: T201
        setting = "sample"
        store = _sample_store()
        start, end = start or "2020-07-01", end or "2020-12-31"
    ml = load_ml_params()
    dl = load_dl_params().for_all(epochs=epochs, device="auto")
    dl = dl.with_overrides({"baselines": []})
    res_ml = backtest(store, ["lightgbm"], start, end, "day-ahead", ml, progress=False)
    res_dl = backtest(store, models, start, end, "day-ahead", to_ml_params(dl, ml), progress=False)
    print(f"\n# DL benchmark — {setting}, day-ahead {start} → {end}, {epochs} epochs max")  # noqa: T201
    print(f"weather: {res_dl.weather_source}; folds: {len(res_dl.folds)} (monthly retraining)")  # noqa: T201
    from edip_dl.compare import combine, ranking

    both = combine([res_ml.forecasts, res_dl.forecasts])
    rank = ranking(both)
    fit_s = {**res_ml.fit_seconds, **res_dl.fit_seconds}
    view = pd.DataFrame(
        {
            "family": rank["family"],
            "MAPE %": (100 * rank["mape"]).round(2),
            "MAE MW": rank["mae"].round(0),
            "P10-P90 cov.": rank["coverage_p10_p90"].round(2),
            "fit s (all folds)": [round(fit_s.get(m, 0.0), 1) for m in rank.index],
        },
        index=rank.index,
    )
    print("\n## day-ahead backtest")  # noqa: T201
    print(view.to_markdown())  # noqa: T201
    epoch_and_latency(store, models, ml, dl, epochs)
    lgb = float(rank["mape"]["lightgbm"])
    dl_rows = rank[rank["family"] == "dl"]
    best = str(dl_rows["mape"].idxmin())
    ratio = float(dl_rows["mape"].min()) / lgb
    best_mape = float(dl_rows["mape"].min())
    gap = 100 * (best_mape - lgb)
    if ratio < 1:
        verdict = f"DL BEATS LightGBM by {-gap:.2f} MAPE points ({100 * (1 - ratio):.1f} % better)"
    else:
        verdict = (
            f"DL does NOT beat LightGBM: {gap:.2f} MAPE points worse ({100 * (ratio - 1):.1f} % "
            "relative)"
        )
    print(  # noqa: T201
        f"\n## verdict\nbest DL = {best}: MAPE {100 * best_mape:.2f} % vs LightGBM "
        f"{100 * lgb:.2f} % on the same backtest → {verdict}; "
        f"target 'best DL within 10 % of LightGBM': {'met' if ratio <= 1.10 else 'NOT met'}"
    )


def epoch_and_latency(store, models: list[str], ml, dl, epochs: int = 2) -> None:  # type: ignore[no-untyped-def]
    """Seconds per epoch (CPU, GPU if any) and 1-row / 24-row latency, PyTorch vs onnxruntime."""
    import torch

    from edip_dl.config import to_ml_params
    from edip_dl.forecaster import FORECASTERS
    from edip_ml.data.dataset import feature_params, make_xy, protocol_pairs
    from edip_ml.export.onnx_export import OnnxForecaster, check_parity, to_onnx

    params = to_ml_params(dl.for_all(epochs=min(2, epochs)), ml)
    last = pd.Timestamp(store.last_timestamp("load_national", "consumption_mw")).tz_convert(None)
    end = str((last.normalize() - pd.Timedelta(days=1)).date())
    begin = str((last.normalize() - pd.Timedelta(days=120)).date())
    fp = feature_params(store, params)
    X, y, _ = make_xy(store, protocol_pairs(begin, end, "day-ahead", params, fp), params)
    rows = []
    for name in models:
        row: dict[str, object] = {"model": name}
        model = FORECASTERS[name]({**params.hyper(name), "device": "cpu"}, seed=params.seed)
        model.fit(X, y)
        row["CPU s/epoch (120 d)"] = round(float(np.mean([h["seconds"] for h in model.history])), 2)
        if torch.cuda.is_available():
            gpu = FORECASTERS[name]({**params.hyper(name), "device": "cuda"}).fit(X, y)
            row["GPU s/epoch"] = round(float(np.mean([h["seconds"] for h in gpu.history])), 2)
        else:
            row["GPU s/epoch"] = "no GPU available"
        onx = to_onnx(model)
        row["parity max|Δ| MW"] = round(check_parity(model, onx, X), 4)
        runtime = OnnxForecaster(onx.SerializeToString())
        for n in (1, 24):
            batch = X.iloc[-n:]
            for label, fn in (("torch", model.predict), ("onnx", runtime.predict)):
                fn(batch)
                times = []
                for _ in range(50):
                    t0 = time.perf_counter()
                    fn(batch)
                    times.append(time.perf_counter() - t0)
                row[f"{label} {n} ms"] = round(1000 * float(np.median(times)), 2)
        rows.append(row)
    print("\n## training time and inference latency (median of 50 calls)")  # noqa: T201
    print(pd.DataFrame(rows).set_index("model").to_markdown())  # noqa: T201


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--setting", choices=["sample", "dev"], default="dev")
    parser.add_argument("--models", default="lstm,gru,tcn,transformer")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--start", default=None)
    parser.add_argument("--end", default=None)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    run(args.setting, models, args.epochs, args.start, args.end)


if __name__ == "__main__":
    main()
