"""The served model as the walk-forward engine steps it: the live loop's daily online update.

Production: a model is refitted from time to time; every morning the ``update`` deployment
absorbs yesterday's outcomes into the champion's online state — one
:meth:`edip_ml.models.walk_forward.WalkForward.absorb` of the engine the backtest walks with, on
the served ONNX file: :class:`ServedOnline` gives the engine the served P50 (the state applied by
:class:`edip_pipeline.contract.OnnxForecaster`) and absorbs a day with the numpy update of
:mod:`edip_pipeline.online` (Kalman effects; ML-Poly weights and its experts' Kalman states); the
engine's band is the state's ``conformal`` band. A gap or an outlier is skipped, never absorbed.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from edip_ml.models.walk_forward import Static, WalkForward
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand

if TYPE_CHECKING:
    from edip_pipeline.contract import OnnxForecaster

log = logging.getLogger(__name__)


class OnlineStates(Protocol):
    """Where the served online states live: the API (:class:`edip_ml.live.api.LoopApi`), which
    checks, keeps and serves what is posted (``/v1/model/online-state``)."""

    def online_state(
        self, model: str, version: str, day: str | None = None
    ) -> dict[str, Any] | None:
        """The state kept for ``day`` (the newest without), ``None`` when there is none."""
        ...

    def put_online_state(
        self, model: str, version: str, day: str, state: dict[str, Any]
    ) -> dict[str, Any]:
        """Serve ``state`` (absorbed up to ``day``) from now on; raises when refused."""
        ...


def raw_outputs(forecaster: OnnxForecaster, X: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every output of the served graph on ``X``: the state's inputs, before it is applied."""
    from edip_pipeline.contract import ONNX_INPUT

    data = np.ascontiguousarray(X[forecaster.feature_names].to_numpy(dtype=np.float32))
    names = list(forecaster.outputs)
    got = forecaster.session.run(names, {ONNX_INPUT: data})
    return {n: np.asarray(v, dtype=float) for n, v in zip(names, got, strict=True)}


class ServedOnline:
    """A served ONNX forecaster and its online state, as the engine steps it.

    ``predict`` is what the API serves with the state (:class:`OnnxForecaster` applies it);
    ``absorb`` updates the state with numpy: Kalman, θ absorbs (effects, y) row by row; ML-Poly,
    the weights learn from the experts as served (their own Kalman states applied), then each
    expert's Kalman state absorbs its effects. The band is the engine's (:attr:`band`).
    """

    def __init__(self, forecaster: OnnxForecaster, state: dict[str, Any]) -> None:
        self.forecaster = copy.copy(forecaster)  # the session is shared; only the state differs
        self.state = {k: v for k, v in state.items() if k != CONFORMAL_KEY}
        self.forecaster.online_state = dict(state)
        self.band = (
            ConformalBand.from_dict(state[CONFORMAL_KEY]) if CONFORMAL_KEY in state else None
        )

    @property
    def name(self) -> str:
        return str(self.forecaster.model_name)

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.forecaster.predict(X)

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
        from edip_pipeline.contract import (
            EFFECTS_OUTPUT,
            EXPERTS_OUTPUT,
            HOUR_COLUMN,
            RTE_EXPERT_KEY,
            WITHOUT_RTE_KEY,
        )
        from edip_pipeline.online import KalmanEffects, MLPoly, state_from_dict

        outputs = raw_outputs(self.forecaster, X)
        values = y.to_numpy(dtype=float)
        parsed = state_from_dict(self.state)
        if isinstance(parsed, KalmanEffects):
            skipped = parsed.update(outputs[EFFECTS_OUTPUT], values)
            self.state.update(parsed.to_dict())
        else:
            assert isinstance(parsed, MLPoly)
            hours = np.clip(np.nan_to_num(X[HOUR_COLUMN].to_numpy(dtype=float)), 0, 23).astype(int)
            experts = np.array(outputs[EXPERTS_OUTPUT], dtype=float)
            subs = dict(self.state.get("expert_states") or {})
            kalmans = {k: KalmanEffects.from_dict(v) for k, v in subs.items()}
            for k, kf in kalmans.items():
                experts[:, int(k)] = kf.predict(outputs[f"{EFFECTS_OUTPUT}_{k}"])
            if WITHOUT_RTE_KEY in self.state:  # combination_rte: its no-RTE fallback learns too
                plain = np.delete(experts, int(self.state[RTE_EXPERT_KEY]), axis=1)
                self.state[WITHOUT_RTE_KEY] = _absorb_plain(
                    self.state[WITHOUT_RTE_KEY], plain, values, hours
                )
            parsed.update(experts, values, hours)
            for k, kf in kalmans.items():
                kf.update(outputs[f"{EFFECTS_OUTPUT}_{k}"], values)
            self.state.update(parsed.to_dict())
            if subs:
                self.state["expert_states"] = {k: {**subs[k], **kf.to_dict()}
                                               for k, kf in kalmans.items()}  # fmt: skip
            skipped = ~np.isfinite(values)
        self.forecaster.online_state = self.online_state()
        return np.asarray(skipped, dtype=bool)

    def online_state(self) -> dict[str, Any]:
        """The state now, with its band."""
        out = dict(self.state)
        if self.band is not None:
            out[CONFORMAL_KEY] = self.band.to_dict()
        return out


def _absorb_plain(
    state: dict[str, Any], experts: np.ndarray, y: np.ndarray, hours: np.ndarray
) -> dict[str, Any]:
    """A nested ML-Poly state (``combination_rte``'s no-RTE fallback) after one day: its own band
    against its P50 before the day (one engine step on it), then its weights."""
    from edip_pipeline.online import MLPoly

    new = dict(state)
    weights = MLPoly.from_dict(state)
    if CONFORMAL_KEY in state:
        band = ConformalBand.from_dict(state[CONFORMAL_KEY])
        band.update(weights.combine(experts, hours), y, hours)
        new[CONFORMAL_KEY] = band.to_dict()
    weights.update(experts, y, hours)
    new.update(weights.to_dict())
    return new


def served_walk(forecaster: OnnxForecaster) -> WalkForward:
    """The engine over a served ONNX forecaster: with its online state, else static."""
    state = forecaster.online_state
    if not state:
        return WalkForward(Static(forecaster))
    served = ServedOnline(forecaster, dict(state))
    return WalkForward(served, served.band)


def absorb_day(forecaster: OnnxForecaster, state: dict[str, Any], X: pd.DataFrame, y: pd.Series
               ) -> tuple[dict[str, Any], int]:  # fmt: skip
    """``state`` after one step of the engine over one day's rows: (new state, rows skipped)."""
    served = ServedOnline(forecaster, state)
    engine = WalkForward(served, served.band)
    skipped = engine.absorb(X, y)
    return served.online_state(), skipped


def day_rows(
    ctx: Any, forecaster: OnnxForecaster, day: pd.Timestamp
) -> tuple[pd.DataFrame, pd.Series]:
    """The served model's features of Paris day ``day`` (its day-ahead origin, D-1 at the
    issuance hour, built as the API serves them) and the day's measured load."""
    from edip_pipeline.config import FeatureParams, load_params
    from edip_pipeline.features import build_features, day_ahead_pairs, load_target

    raw = forecaster.feature_params
    params = FeatureParams.model_validate(raw) if raw else load_params().features
    pairs = day_ahead_pairs(day, day, params.step, params.origin_hour_local)
    origin = pd.Timestamp(pairs["origin"].iloc[0])
    targets = pd.DatetimeIndex(pairs["target_time"])
    ft = build_features(ctx.store, origin, targets, params)
    y = load_target(ctx.store, targets, params.step)
    return ft.frame, pd.Series(y.to_numpy(dtype=float), index=ft.frame.index)


def day_over_in_store(store: Any, day: pd.Timestamp) -> bool:
    """Whether the store's load reaches the end of Paris day ``day``: the engine absorbs a day
    once it is over, whole (an update before the morning's ingest waits for the next one)."""
    from edip_pipeline.calendar import local_day_bounds

    last = store.last_timestamp("load_national")
    end = local_day_bounds(day)[1]
    return last is not None and pd.Timestamp(last) >= end - pd.Timedelta(hours=1)


def live_update(ctx: Any, forecaster: Any | None = None) -> str | None:
    """Absorb the measured load of Paris day ``ctx.day`` into the champion's online state.

    The hook of :mod:`edip_ml.live.update`: one step of the walk-forward engine (:func:`absorb_day`)
    on the champion (``ctx.model``, the API's /v1/model; loaded from the registry unless
    ``forecaster`` is given), from the state the API serves (``ctx.states``, :class:`OnlineStates`:
    the newest it keeps, else the embedded one); the new state is posted back to the API, which
    serves it at once. Idempotent: a day up to the state's ``last_day`` is not absorbed again; a
    day the store does not hold to its end, or without any measured load, changes nothing
    (absorbed later). ``None`` when the champion has no online state.
    """
    from edip_pipeline.online import LAST_DAY_KEY
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
    states: OnlineStates | None = ctx.states
    if states is None:
        raise ValueError("the online update reads and posts the state through the API: no client")
    state = states.online_state(registered, str(version)) or dict(embedded)
    day = pd.Timestamp(ctx.day).normalize()
    label = str(day.date())
    last = state.get(LAST_DAY_KEY)
    tag = f"{registered} v{version} ({state.get('kind')})"
    if last is not None and label <= str(last):
        return f"{tag}: {label} already absorbed (state at {last}), unchanged"
    if not day_over_in_store(ctx.store, day):
        return f"{tag}: {label} skipped, the day is not over in the store yet (state at {last})"
    X, y = day_rows(ctx, forecaster, day)
    if not np.isfinite(y.to_numpy()).any():
        return f"{tag}: {label} skipped, no measured load yet (state unchanged at {last})"
    new, skipped = absorb_day(forecaster, state, X, y)
    new[LAST_DAY_KEY] = label
    new["updated_at"] = pd.Timestamp(ctx.now).isoformat()
    states.put_online_state(registered, str(version), label, new)
    flag = f", {skipped} of {len(y)} hours skipped (gaps/outliers)" if skipped else ""
    return f"{tag}: absorbed {label} ({len(y) - skipped} hours{flag}), served by the API"
