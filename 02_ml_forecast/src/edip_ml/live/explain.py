"""Why this forecast: the issued P50 split into named contributions, computed at issue time.

The API serves ONNX graphs and has no training library, so the loop — which has it — decomposes
every forecast it issues: right after the champion's forecast was served and logged, it loads
the same registered version natively (:func:`edip_ml.registry.versions.load_native`) with the
online state the API served it with (the one the API keeps for the day it names,
``GET /v1/model/online-state``, else the one embedded at training), builds the same feature rows from the store at the same origin, and asks
the model for its contributions (:meth:`edip_ml.models.base.Forecaster.contributions`: the GAM's
terms, the trees' TreeSHAP, the Kalman correction, the combination's weighted experts). Each
point must add up to the P50 the API served (within 1 MW); the API checks it again and stores
the decomposition with the issuance (``POST /v1/forecast/explain``).

Never fatal: an issuance does not fail because its explanation could not be made. A family
without an exact decomposition (a network, RF), a state that moved between the forecast and the
decomposition, or any error is recorded as ``available: false`` with the reason.
"""

from __future__ import annotations

import copy
import functools
import logging
from typing import Any

import numpy as np
import pandas as pd

from edip_ml.live.api import LoopApi, LoopApiError
from edip_ml.models.base import Forecaster, OnlineForecaster
from edip_ml.models.online import OnlineStates
from edip_pipeline.config import FeatureParams, load_params
from edip_pipeline.contributions import CONTRIBUTIONS
from edip_pipeline.features import build_feature_table, rolling_pairs
from edip_pipeline.online import LAST_DAY_KEY
from edip_pipeline.registry_names import REGISTERED_MODEL
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: the largest gap allowed between a point's contributions and the P50 served (MW)
TOLERANCE_MW = 1.0
#: how each family's contributions are computed (the explanation's ``method``)
METHODS: dict[str, str] = {
    "gam": "the GAM's additive terms",
    "gam_kalman": "the GAM's additive terms and its Kalman re-weighting",
    "lightgbm": "TreeSHAP (LightGBM pred_contrib) × the reference load",
    "xgboost": "TreeSHAP (XGBoost pred_contribs) × the reference load",
    "combination": "its experts' decompositions under the served weights",
}


class UnexplainedError(RuntimeError):
    """No decomposition can be given for this forecast (the message says why)."""


@functools.lru_cache(maxsize=4)
def _native(
    tracking_uri: str, registered: str, version: str
) -> tuple[Forecaster, dict[str, Any] | None]:
    """The registered version's pickled forecaster and the online state it was exported with
    (cached: the loop issues daily with the same model)."""
    from edip_ml.registry.tracking_server import configure
    from edip_ml.registry.versions import load_native

    configure(tracking_uri or None)
    model = load_native(version, model_name=registered)
    if not isinstance(model, Forecaster):
        raise UnexplainedError(
            f"{registered} v{version} is not a forecaster ({type(model).__name__})"
        )
    return model, copy.deepcopy(model.online_state())


def served_model(
    model: dict[str, Any],
    registered: str,
    states: OnlineStates | None,
    tracking_uri: str = "",
) -> Forecaster:
    """The native twin of the served model (``model``: the forecast answer's ``model``), with
    the online state the API serves for it (the one it keeps for the day ``model`` names, read
    from ``states``, else the embedded one)."""
    version = model.get("version")
    if model.get("source", "registry") != "registry" or not version:
        raise UnexplainedError(
            f"the API served its fallback ({model.get('name')}): no decomposition"
        )
    forecaster, embedded = _native(tracking_uri, registered, str(version))
    if not isinstance(forecaster, OnlineForecaster):
        return forecaster
    served_day = model.get("online_last_day")
    state = embedded
    if served_day:  # the state of that day, as the API keeps it
        state = states.online_state(registered, str(version), served_day) if states else None
        if state is None or state.get(LAST_DAY_KEY) != served_day:
            raise UnexplainedError(
                f"the online state served (absorbed up to {served_day}) is not kept by the "
                "API: the decomposition would not be of the forecast issued"
            )
    if state is not None:
        forecaster.load_online_state(state)
    return forecaster


def decompose(
    forecaster: Forecaster, store: Store, origin: pd.Timestamp, served: pd.Series
) -> tuple[pd.DataFrame, str]:
    """Contributions [targets × names] of the forecast from ``origin`` whose served P50 is
    ``served`` (indexed by UTC target time), and the method; raises :class:`UnexplainedError`."""
    parts_of = forecaster.contributions
    raw = forecaster.feature_params
    params = FeatureParams.model_validate(raw) if raw else load_params().features
    pairs = rolling_pairs(pd.DatetimeIndex([origin]), len(served), "1h")
    ft = build_feature_table(store, pairs, params)
    parts = parts_of(ft.frame)
    if parts is None:
        raise UnexplainedError(
            f"the champion {forecaster.name} (family {forecaster.family}) has no exact "
            "decomposition of its forecast"
        )
    parts.index = pd.DatetimeIndex(ft.frame.index.get_level_values("target_time"))
    parts = parts.reindex(served.index)
    gap = (parts.sum(axis=1) - served).abs()
    if not np.isfinite(gap).all() or gap.max() > TOLERANCE_MW:
        raise UnexplainedError(
            f"the decomposition of {forecaster.name} misses the served P50 by up to "
            f"{float(np.nanmax(gap.to_numpy(dtype=float), initial=np.inf)):.1f} MW"
        )
    return parts, METHODS.get(forecaster.name, forecaster.name)


def explanation_body(
    forecast: dict[str, Any],
    target_day: str,
    registered: str,
    store: Store,
    states: OnlineStates | None = None,
) -> dict[str, Any]:
    """What ``POST /v1/forecast/explain`` stores for a served ``forecast`` (the API's answer)."""
    from edip_ml.registry.tracking_server import tracking_uri

    model = forecast["model"]
    served = pd.Series(
        [float(p["p50"]) for p in forecast["points"]],
        index=pd.DatetimeIndex([pd.Timestamp(p["target_time"]) for p in forecast["points"]]),
    ).tz_convert("UTC")
    body: dict[str, Any] = {
        "request_id": forecast["request_id"],
        "target_day": target_day,
        "origin": forecast["origin"],
        "model_name": model["name"],
        "model_version": model.get("version") or "",
    }
    try:
        forecaster = served_model(model, registered, states, tracking_uri())
        origin = pd.Timestamp(forecast["origin"]).tz_convert("UTC")
        parts, method = decompose(forecaster, store, origin, served)
    except UnexplainedError as exc:
        return {**body, "available": False, "reason": str(exc)}
    values = parts[list(CONTRIBUTIONS)].to_numpy(dtype=float)
    points = [
        {
            "target_time": t.isoformat(),
            "p50": p50,
            "contributions": {
                c: round(float(v), 3) for c, v in zip(CONTRIBUTIONS, row, strict=True)
            },
        }
        for t, p50, row in zip(served.index, served.to_numpy(dtype=float), values, strict=True)
    ]
    return {**body, "method": method, "available": True, "points": points}


def explain_issued(
    api: LoopApi, forecast: dict[str, Any], target_day: str, store: Store
) -> dict[str, Any] | None:
    """Decompose an issued forecast and store it with the API; the stored explanation, or
    ``None`` when even saying why could not be stored (logged: the issuance stands)."""
    try:
        registered = str(api.model().get("registered_model") or REGISTERED_MODEL)
        body = explanation_body(forecast, target_day, registered, store, api)
    except Exception as exc:  # never fail an issuance for its explanation
        log.exception("the forecast of %s could not be decomposed", target_day)
        body = _unavailable(forecast, target_day, f"decomposition failed: {exc}")
    if not body["available"]:
        log.warning("forecast of %s not explained: %s", target_day, body["reason"])
    try:
        stored: dict[str, Any] = api.post_explanation(body)["explanation"]
    except LoopApiError as exc:
        log.error("the explanation of %s was refused: %s", target_day, exc)
        if not body["available"]:
            return None
        return explain_refused(api, forecast, target_day, str(exc))
    return stored


def explain_refused(
    api: LoopApi, forecast: dict[str, Any], target_day: str, why: str
) -> dict[str, Any] | None:
    """Record that the decomposition was refused by the API (so the page says why)."""
    body = _unavailable(forecast, target_day, f"the API refused the decomposition: {why}")
    try:
        stored: dict[str, Any] = api.post_explanation(body)["explanation"]
    except LoopApiError:
        log.exception("no explanation recorded for %s", target_day)
        return None
    return stored


def _unavailable(forecast: dict[str, Any], target_day: str, reason: str) -> dict[str, Any]:
    model = forecast.get("model") or {}
    return {
        "request_id": forecast["request_id"],
        "target_day": target_day,
        "origin": forecast["origin"],
        "model_name": model.get("name") or "?",
        "model_version": model.get("version") or "",
        "available": False,
        "reason": reason[:2000],
    }
