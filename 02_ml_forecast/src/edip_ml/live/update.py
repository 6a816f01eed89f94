"""``update``: the scores of the last day and the champion's online update, when it has one.

Daily, just before the issuance (11:40 by default, after the 11:05 ingest): the online update
absorbs every load published since the served state is up to date
(:func:`edip_ml.models.online.live_update`), so the 12:00 forecast has absorbed what the backtest's
12:00 origin absorbs. The scores are the API's own (``/v1/metrics/summary`` over
yesterday, Paris): what was served against what was measured, with RTE's D-1 on the same hours;
they are logged and kept as a Prefect artifact.

**Online-update hook.** Model families that adapt between retrains (e.g. a Kalman correction of
the champion's level) plug in here; a plain ONNX champion has none and the step says so. The hook
is found, in order, as

1. an entry point of the group ``edip.online`` named after the champion's family, or
2. EDIP's own :func:`edip_ml.models.online.live_update` (a declared import, never a name looked up),

and is called as ``hook(UpdateContext) -> str | None`` (a one-line summary, ``None`` when it does
not apply to this champion). It must be idempotent: ``update`` may run twice for a day.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

import pandas as pd
from prefect import flow

from edip_ml.live.api import LoopApi
from edip_ml.live.config import live_settings
from edip_ml.models.online import OnlineStates, live_update
from edip_pipeline import clock
from edip_pipeline.calendar import PARIS, local_day_bounds
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

ONLINE_GROUP = "edip.online"


@dataclass
class UpdateContext:
    """What an online-update hook receives."""

    model: dict[str, Any]  # the API's /v1/model: name, version, family, feature_params …
    day: str  # the Paris day just scored (YYYY-MM-DD)
    now: pd.Timestamp
    store: Store
    scores: dict[str, Any] = field(default_factory=dict)
    states: OnlineStates | None = None  # the API, where the online state is read and posted


OnlineHook = Callable[[UpdateContext], "str | None"]


def find_online_hook(family: str | None) -> OnlineHook | None:
    """The online-update hook of a model family, or ``None`` (see the module doc)."""
    for ep in entry_points(group=ONLINE_GROUP):
        if family and ep.name == family:
            hook: OnlineHook = ep.load()
            return hook
    return live_update


def day_scores(api: LoopApi, day: pd.Timestamp) -> dict[str, Any]:
    """The API's summary of the served forecasts over Paris day ``day``."""
    _, end = local_day_bounds(day)
    summary = api.summary("24h", end.isoformat())
    return {"models": summary.get("models") or [], "rte_d1": summary.get("rte_d1")}


def _artifact(day: str, scores: dict[str, Any], online: str) -> None:
    from prefect.artifacts import create_markdown_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return
    lines = [
        f"# Scores of {day}",
        "",
        "| model | n | MAPE | MAE MW | bias MW |",
        "|---|---:|---:|---:|---:|",
    ]
    for m in scores["models"]:
        mape = m.get("mape")
        lines.append(f"| {m.get('model_name')} v{m.get('model_version')} | {m.get('n')} | "
                     f"{'-' if mape is None else f'{mape:.2%}'} | {m.get('mae') or 0:.0f} | {m.get('bias') or 0:.0f} |")  # fmt: skip
    lines += ["", f"Online update: {online}"]
    create_markdown_artifact("\n".join(lines), key="update-scores", description=f"scores of {day}")


@flow(name="update", log_prints=False)
def update_flow() -> dict[str, Any]:
    """Score yesterday, then run the champion's online update when its family has one."""
    settings = live_settings()
    now = clock.now()
    day = now.tz_convert(PARIS).tz_localize(None).normalize() - pd.Timedelta(days=1)
    label = str(day.date())
    with LoopApi(settings) as api:
        scores = day_scores(api, day)
        model = api.model()
        hook = find_online_hook(model.get("family") or model.get("name"))
        online = "none: the champion's family has no online update"
        if hook is not None:
            done = hook(UpdateContext(model, label, now, Store(), scores, states=api))
            online = done or online
    for m in scores["models"]:
        log.info("%s: %s v%s n=%s MAPE=%s", label, m.get("model_name"), m.get("model_version"),
                 m.get("n"), m.get("mape"))  # fmt: skip
    log.info("online update: %s", online)
    _artifact(label, scores, online)
    return {"day": label, **scores, "online": online}
