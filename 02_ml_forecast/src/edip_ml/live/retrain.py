"""``retrain``: challengers trained on fresh data, then the promotion gate, weighing live error.

Weekly. The promotion window is the last ``promotion_window_days`` complete days at the loop's now;
the challengers (``retrain_models``) are trained up to the day before it with
:func:`edip_ml.training.train.train_models` (MLflow runs, ONNX, registry) — so the gate judges them on days
they never saw — the best by backtest MAPE becomes ``challenger``, and
:func:`edip_ml.evaluation.promotion.promote` decides on that window. What this adds is the champion's **live** error: its n-weighted MAPE as served
over the same window (``/v1/metrics/summary``) replaces its offline MAPE as the reference once at
least ``live_min_days`` days have been scored — the champion is judged on what users got. The
decision and its reason are tags of the challenger version (``promotion_*``, the dashboard's
promotion history) plus ``edip.retrain_key``: a second run on the same day finds it and changes
nothing. A promotion asks the API to load the new champion at once.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NONE

from edip_ml.live.api import LoopApi
from edip_ml.live.config import live_settings
from edip_pipeline import clock
from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.flows import run_task
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

RETRAIN_KEY = "edip.retrain_key"


def champion_live_mape(
    api: LoopApi, model: dict[str, Any], end_day: pd.Timestamp, days: int, min_days: int
) -> float | None:
    """The served champion's n-weighted MAPE over the ``days`` ending with ``end_day``."""
    _, end = local_day_bounds(end_day)
    summary = api.summary(f"{days}d", end.isoformat())
    rows = [
        d
        for d in summary.get("daily") or []
        if d.get("model_name") == model.get("name")
        and str(d.get("model_version")) == str(model.get("version"))
        and d.get("mape") is not None
        and int(d.get("n") or 0) > 0
    ]
    if len({d["date"] for d in rows}) < min_days:
        return None
    n = sum(int(d["n"]) for d in rows)
    return sum(float(d["mape"]) * int(d["n"]) for d in rows) / n


def recorded_decision(model_name: str, key: str) -> dict[str, Any] | None:
    """The decision already taken by a retrain with this key (the version's tags), if any."""
    from mlflow import MlflowClient

    for mv in MlflowClient().search_model_versions(f"name='{model_name}'"):
        if mv.tags.get(RETRAIN_KEY) == key:
            return {
                "version": str(mv.version),
                **{k: v for k, v in mv.tags.items() if k.startswith("promotion_")},
            }
    return None


@task(cache_policy=NONE)
def train_challengers(end_day: str) -> list[Any]:
    from edip_ml.training.train import train_models

    settings = live_settings()
    days = settings.retrain_history_days
    start = str((pd.Timestamp(end_day) - pd.Timedelta(days=days)).date()) if days else None
    return train_models(
        settings.retrain_models,
        start=start,
        end=end_day,
        store=Store(),
        model_params=settings.retrain_params,
        backtest_days=settings.retrain_backtest_days,
    )


@flow(name="retrain", log_prints=False)
def retrain_flow() -> dict[str, Any]:
    """Train challengers up to the promotion window and run the live-aware promotion gate."""
    from mlflow import MlflowClient

    from edip_ml.config import load_ml_params
    from edip_ml.data.evaluation_window import window_ending
    from edip_ml.evaluation.promotion import promote
    from edip_ml.registry.tracking_server import configure
    from edip_ml.registry.versions import CHALLENGER

    settings = live_settings()
    configure()
    ml = load_ml_params()
    model_name = ml.tracking.registered_model
    now = clock.now()
    today = now.tz_convert(PARIS).tz_localize(None).normalize()
    key = str(today.date())
    done = recorded_decision(model_name, key)
    if done is not None:
        log.info("retrain of %s already decided: %s", key, done)
        return {"key": key, "skipped": True, **done}
    window = settings.promotion_window_days
    end_day = today - pd.Timedelta(days=1)
    results = run_task(train_challengers, str(window_ending(end_day, window).train_end.date()))
    ok = [r for r in results if r.ok and r.version]
    if not ok:
        raise RuntimeError("no challenger trained: " + "; ".join(r.summary() for r in results))
    best = min(ok, key=lambda r: r.metrics.get("mape", float("inf")))
    client = MlflowClient()
    client.set_registered_model_alias(model_name, CHALLENGER, best.version)
    with LoopApi(settings) as api:
        live = champion_live_mape(api, api.model(), end_day, window, settings.live_min_days)
        decision = promote(
            Store(), model_name=model_name, window_days=window, end_day=end_day,
            max_mape=settings.promotion_max_mape, ml_params=ml, champion_live_mape=live,
        )  # fmt: skip
        client.set_model_version_tag(model_name, decision.challenger_version, RETRAIN_KEY, key)
        client.set_model_version_tag(
            model_name, decision.challenger_version, "edip.loop_now", now.isoformat()
        )
        if decision.promoted:
            try:
                api.http.post("/v1/model/reload").raise_for_status()
            except Exception as exc:  # the API follows the alias by itself, only later
                log.warning("the API did not reload the new champion now: %s", exc)
    log.info("retrain %s: %s — %s", key, decision.decision, decision.reason)
    return {"key": key, "skipped": False, "champion_live_mape": live, **decision.as_dict()}
