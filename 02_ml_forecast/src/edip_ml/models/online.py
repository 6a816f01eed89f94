"""Online adaptation in the backtest, exactly as production runs it: daily updates between refits.

Production: a model is refitted monthly; every day, at the 12:00 origin, the outcomes that have
become known since the previous origin are assimilated (Kalman update of the effects, see
:class:`edip_pipeline.online.KalmanEffects`), then tomorrow is forecast. :func:`walk_forward`
replays that origin by origin over a fold's test rows: before forecasting from origin ``o`` it
feeds every test row whose target interval had ended (``target_time + step <= o``) and was not
yet fed. A gap (NaN outcome) or an outlier is skipped and flagged by the filter, never assimilated.

P10/P90: :func:`conformal_replay`, the adaptive conformal band of
:class:`edip_pipeline.conformal.ConformalBand` (per Paris hour, over the residuals known at each
origin), replayed origin by origin exactly as it is updated and served in production.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand

log = logging.getLogger(__name__)


class Absorbing(Protocol):
    """What :func:`walk_forward` needs of an :class:`edip_ml.models.base.OnlineForecaster` (a
    protocol: the models import this package's aggregation, so it does not import them back)."""

    @property
    def name(self) -> str: ...

    def predict(self, X: pd.DataFrame) -> pd.DataFrame: ...

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray: ...


def walk_forward(
    model: Absorbing, X: pd.DataFrame, y: pd.Series, step: pd.Timedelta
) -> pd.DataFrame:
    """P10/P50/P90 of an online ``model`` over ``X`` (one fold), absorbing outcomes between
    origins. Returns the predictions in the order of ``X`` with a ``skipped`` count in ``attrs``.
    """
    origins = pd.DatetimeIndex(X.index.get_level_values("origin")).as_unit("ns")
    targets = pd.DatetimeIndex(X.index.get_level_values("target_time")).as_unit("ns")
    order = np.argsort(np.asarray(targets.asi8), kind="stable")
    end_ns = targets.asi8[order] + step.value
    out = pd.DataFrame(index=X.index, columns=["p10", "p50", "p90"], dtype=float)
    fed = 0
    skipped = 0
    for origin in np.unique(origins.asi8):
        known = int(np.searchsorted(end_ns, origin, side="right"))
        if known > fed:
            rows = order[fed:known]
            skipped += int(np.sum(model.absorb(X.iloc[rows], y.iloc[rows])))
            fed = known
        at = np.flatnonzero(origins.asi8 == origin)
        out.iloc[at] = model.predict(X.iloc[at])[["p10", "p50", "p90"]].to_numpy()
    out.attrs["skipped"] = skipped
    if skipped:
        log.info(
            "%s: %d outcomes skipped by the online update (gaps/outliers)", model.name, skipped
        )
    return out


def conformal_replay(
    origins: pd.DatetimeIndex,
    targets: pd.DatetimeIndex,
    p50: np.ndarray,
    actual: np.ndarray,
    step: pd.Timedelta,
    band: ConformalBand,
) -> np.ndarray:
    """``[N, 3]`` P10/P50/P90 per row from ``band`` as it stood at the row's origin.

    Origin by origin, as :func:`walk_forward`: the band first absorbs every outcome whose target
    interval had ended by the origin (in time order), then gives the origin's rows their band.
    ``band`` ends holding every outcome: the state a model exported after this replay serves.
    """
    o = np.asarray(pd.DatetimeIndex(origins).as_unit("ns").asi8)
    t = pd.DatetimeIndex(targets).as_unit("ns")
    end_ns = np.asarray(t.asi8) + step.value
    order = np.argsort(end_ns, kind="stable")
    hours = paris_hours(t)
    p50 = np.asarray(p50, dtype=float)
    y = np.asarray(actual, dtype=float)
    out = np.full((len(o), 3), np.nan)
    fed = 0
    for origin in np.unique(o):
        known = int(np.searchsorted(end_ns[order], origin, side="right"))
        if known > fed:
            rows = order[fed:known]
            band.update(p50[rows], y[rows], hours[rows])
            fed = known
        at = np.flatnonzero(o == origin)
        out[at] = band.interval(p50[at], hours[at])
    band.update(p50[order[fed:]], y[order[fed:]], hours[order[fed:]])
    return out


def paris_hours(targets: pd.DatetimeIndex) -> np.ndarray:
    """The Paris hour of each target: the band's group, as the ``hour`` feature served."""
    return np.asarray(pd.DatetimeIndex(targets).tz_convert(PARIS).hour, dtype=int)


def with_conformal_band(
    frame: pd.DataFrame, step: pd.Timedelta, window_days: int, gamma: float
) -> pd.DataFrame:
    """A forecasts frame (one model) with P10/P90 from :func:`conformal_replay` of its residuals.

    The frame's own band (the model's calibration offsets, or none) is the fallback until the
    hour has enough residuals. The band's final state is ``attrs["conformal"]`` (JSON dict).
    """
    f = frame.sort_values("target_time", kind="mergesort").copy()
    band = ConformalBand(gamma=gamma, window=max(window_days, 7), min_count=7)
    q = conformal_replay(
        pd.DatetimeIndex(f["origin"]),
        pd.DatetimeIndex(f["target_time"]),
        f["p50"].to_numpy(dtype=float),
        f["actual"].to_numpy(dtype=float),
        step,
        band,
    )
    f["p10"] = np.where(np.isnan(q[:, 0]), f["p10"].to_numpy(dtype=float), q[:, 0])
    f["p90"] = np.where(np.isnan(q[:, 2]), f["p90"].to_numpy(dtype=float), q[:, 2])
    f = f.sort_index()
    f.attrs[CONFORMAL_KEY] = band.to_dict()
    return f


# ---------------------------------------------------------------------------------------------
# production: the daily ``update`` deployment's hook (edip_ml.live.update)
# ---------------------------------------------------------------------------------------------
def raw_outputs(forecaster: Any, X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every output of the champion's graph on ``X``: the state's inputs, before it is applied."""
    from edip_pipeline.contract import ONNX_INPUT

    data = np.ascontiguousarray(X[forecaster.feature_names].to_numpy(dtype=np.float32))
    names = list(forecaster.outputs)
    got = forecaster.session.run(names, {ONNX_INPUT: data})
    return {n: np.asarray(v, dtype=float) for n, v in zip(names, got, strict=True)}


def absorb(
    state: dict[str, Any], outputs: dict[str, np.ndarray], y: np.ndarray, hours: np.ndarray
) -> tuple[dict[str, Any], int]:
    """``state`` after the numpy update on one day's rows (time order); returns (state, skipped).

    Kalman: θ absorbs (effects, y) row by row, gaps and outliers skipped by the filter. ML-Poly:
    the weights learn from the experts as served (their own Kalman states applied), then each
    expert's Kalman state absorbs its effects. The conformal band (``conformal``) absorbs the
    day's residuals against the P50 the state gave before the update.
    """
    from edip_pipeline.contract import EFFECTS_OUTPUT, EXPERTS_OUTPUT
    from edip_pipeline.online import KalmanEffects, MLPoly, state_from_dict

    new = dict(state)
    parsed = state_from_dict(state)
    if isinstance(parsed, KalmanEffects):
        _absorb_band(new, parsed.predict(outputs[EFFECTS_OUTPUT]), y, hours)
        skipped = int(parsed.update(outputs[EFFECTS_OUTPUT], y).sum())
        new.update(parsed.to_dict())
        return new, skipped
    assert isinstance(parsed, MLPoly)
    experts = np.array(outputs[EXPERTS_OUTPUT], dtype=float)
    subs = dict(state.get("expert_states") or {})
    kalmans = {k: KalmanEffects.from_dict(v) for k, v in subs.items()}
    for k, kf in kalmans.items():
        experts[:, int(k)] = kf.predict(outputs[f"{EFFECTS_OUTPUT}_{k}"])
    skipped = int((~np.isfinite(y)).sum())
    _absorb_band(new, parsed.combine(experts, hours), y, hours)
    parsed.update(experts, y, hours)
    for k, kf in kalmans.items():
        kf.update(outputs[f"{EFFECTS_OUTPUT}_{k}"], y)
    new.update(parsed.to_dict())
    if subs:
        new["expert_states"] = {k: {**subs[k], **kf.to_dict()} for k, kf in kalmans.items()}
    return new, skipped


def _absorb_band(state: dict[str, Any], p50: np.ndarray, y: np.ndarray, hours: np.ndarray) -> None:
    """The state's conformal band (if any) after the day's outcomes against the P50 served with
    the state before the day (the backtest's band saw the P50 issued at D-1: see the README)."""
    if CONFORMAL_KEY in state:
        band = ConformalBand.from_dict(state[CONFORMAL_KEY])
        band.update(p50, y, hours)
        state[CONFORMAL_KEY] = band.to_dict()


def live_update(ctx: Any, forecaster: Any | None = None) -> str | None:
    """Absorb the measured load of Paris day ``ctx.day`` into the champion's online state.

    The hook of :mod:`edip_ml.live.update`. The champion (``ctx.model``, the API's /v1/model) is
    loaded from the registry (``forecaster`` overrides it); its features for ``ctx.day`` are built
    from the store for the day-ahead origin (D-1 at the issuance hour, Paris), exactly as the API
    serves them, and its raw graph outputs (effects / experts) are fed with the day's actuals to
    the numpy update of :mod:`edip_pipeline.online` — what :func:`walk_forward` does between two
    origins in the backtest. The new state goes to :func:`edip_pipeline.online.state_path` beside
    the store, where the API picks it up. Idempotent: a day up to the state's ``last_day`` is not
    absorbed again; a day without any measured load changes nothing (and may be absorbed later).
    ``None`` when the champion has no online state.
    """
    from edip_pipeline.config import FeatureParams, load_params
    from edip_pipeline.contract import HOUR_COLUMN
    from edip_pipeline.features import build_features, day_ahead_pairs, load_target
    from edip_pipeline.online import LAST_DAY_KEY, load_state, save_state, state_path
    from edip_pipeline.registry_names import REGISTERED_MODEL

    model = dict(ctx.model or {})
    version = model.get("version")
    if model.get("source", "registry") != "registry" or not version:
        return None
    registered = str(model.get("registered_model") or REGISTERED_MODEL)
    if forecaster is None:
        from edip_ml.registry.versions import load_version

        forecaster = load_version(str(version), model_name=registered)
    embedded = forecaster.online_state
    if not embedded:
        return None
    path = state_path(ctx.store.root, registered, version)
    state = load_state(path) or dict(embedded)
    day = pd.Timestamp(ctx.day).normalize()
    label = str(day.date())
    last = state.get(LAST_DAY_KEY)
    tag = f"{registered} v{version} ({state.get('kind')})"
    if last is not None and label <= str(last):
        return f"{tag}: {label} already absorbed (state at {last}), unchanged"
    raw = forecaster.feature_params
    params = FeatureParams.model_validate(raw) if raw else load_params().features
    pairs = day_ahead_pairs(day, day, params.step, params.origin_hour_local)
    origin = pd.Timestamp(pairs["origin"].iloc[0])
    targets = pd.DatetimeIndex(pairs["target_time"])
    ft = build_features(ctx.store, origin, targets, params)
    y = load_target(ctx.store, targets, params.step).to_numpy(dtype=float)
    if not np.isfinite(y).any():
        return f"{tag}: {label} skipped, no measured load yet (state unchanged at {last})"
    outputs = raw_outputs(forecaster, ft.frame)
    if HOUR_COLUMN in ft.frame.columns:
        hour_values = ft.frame[HOUR_COLUMN].to_numpy(dtype=float)
    else:
        hour_values = np.asarray(targets.tz_convert(PARIS).hour, dtype=float)
    hours = np.clip(np.nan_to_num(hour_values), 0, 23)
    new, skipped = absorb(state, outputs, y, hours.astype(int))
    new[LAST_DAY_KEY] = label
    new["updated_at"] = pd.Timestamp(ctx.now).isoformat()
    save_state(path, new)
    flag = f", {skipped} of {len(y)} hours skipped (gaps/outliers)" if skipped else ""
    return f"{tag}: absorbed {label} ({len(y) - skipped} hours{flag}) -> {path}"
