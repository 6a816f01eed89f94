"""The served model as the walk-forward engine steps it: the live loop's daily online update.

Production: a model is refitted from time to time; every day before the issuance the ``update``
deployment absorbs the outcomes published since the last update (``ml.absorb_lag``) into the
champion's online state — one
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

from edip_ml.models.walk_forward import AbsorbRule, Static, WalkForward, known_at
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand
from edip_pipeline.online import LAST_DAY_KEY

if TYPE_CHECKING:
    from edip_pipeline.contract import OnnxForecaster

log = logging.getLogger(__name__)

#: the instant a live state is up to date to (ISO, UTC): every target interval ended by it is in
ABSORBED_TO_KEY = "absorbed_to"


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


def served_walk(forecaster: OnnxForecaster, rule: AbsorbRule | None = None) -> WalkForward:
    """The engine over a served ONNX forecaster: with its online state, else static; absorbing
    by ``rule`` (default: the live loop's, :func:`live_rule`)."""
    rule = rule or live_rule(forecaster)
    state = forecaster.online_state
    if not state:
        return WalkForward(Static(forecaster), rule=rule)
    served = ServedOnline(forecaster, dict(state))
    return WalkForward(served, served.band, rule)


def absorb_groups(
    forecaster: OnnxForecaster, state: dict[str, Any], groups: list[tuple[pd.DataFrame, pd.Series]]
) -> tuple[dict[str, Any], int]:
    """``state`` after one engine step per group (in order): (new state, rows skipped)."""
    served = ServedOnline(forecaster, state)
    engine = WalkForward(served, served.band)
    skipped = sum(engine.absorb(X, y) for X, y in groups)
    return served.online_state(), skipped


def absorbed_to(state: dict[str, Any]) -> pd.Timestamp | None:
    """The instant ``state`` is up to date to (every target interval ended by it absorbed):
    its ``absorbed_to``; a state written before it existed, the end of its ``last_day``."""
    from edip_pipeline.calendar import local_day_bounds

    if state.get(ABSORBED_TO_KEY):
        return pd.Timestamp(state[ABSORBED_TO_KEY]).tz_convert("UTC")
    last = state.get(LAST_DAY_KEY)
    return None if last is None else local_day_bounds(str(last))[1]


def due_groups(
    rule: AbsorbRule, since: pd.Timestamp | None, now: pd.Timestamp, step: pd.Timedelta
) -> list[tuple[pd.Timestamp, pd.DatetimeIndex]]:
    """The groups the engine has absorbed by the next issuance at or after ``now`` whose rows
    are published by ``now``, after ``since`` (``None``: only the last one): per group, the
    instant a state is up to date to once it is in, and its targets."""
    now = pd.Timestamp(now).tz_convert("UTC")
    upto = _grid_after(now - pd.Timedelta(1), rule.hour)
    while rule.ended_by(upto) > now:  # not all published yet: the group before
        upto = _grid_after(upto - pd.Timedelta(hours=26), rule.hour)
    end = rule.ended_by(upto)
    start = since if since is not None else end - pd.Timedelta(days=2)
    targets = pd.date_range(start, end, freq=step, inclusive="left")
    known = rule.known_at(targets)
    if since is None:
        targets, known = targets[known == upto.value], known[known == upto.value]
    return [(rule.ended_by(pd.Timestamp(int(at), tz="UTC")), targets[known == at])
            for at in np.unique(known)]  # fmt: skip


def _grid_after(instant: pd.Timestamp, hour: int) -> pd.Timestamp:
    """The first instant at Paris ``hour`` strictly after ``instant`` (UTC)."""
    return pd.Timestamp(int(known_at(pd.DatetimeIndex([instant]), hour)[0]), tz="UTC")


def group_rows(ctx: Any, forecaster: OnnxForecaster, targets: pd.DatetimeIndex
               ) -> tuple[pd.DataFrame, pd.Series]:  # fmt: skip
    """The served model's features of ``targets`` (each at its day-ahead origin) and their
    measured load, in target order."""
    from edip_pipeline.calendar import PARIS

    days = pd.DatetimeIndex(targets).tz_convert(PARIS).tz_localize(None).normalize().unique()
    parts = [day_rows(ctx, forecaster, day) for day in days]
    X = pd.concat([x for x, _ in parts])
    y = pd.concat([v for _, v in parts])
    keep = np.asarray(pd.DatetimeIndex(X.index.get_level_values("target_time")).isin(targets))
    order = np.argsort(np.asarray(X.index.get_level_values("target_time"))[keep], kind="stable")
    return X[keep].iloc[order], y[keep].iloc[order]


def day_rows(
    ctx: Any, forecaster: OnnxForecaster, day: pd.Timestamp
) -> tuple[pd.DataFrame, pd.Series]:
    """The served model's features of Paris day ``day`` (its day-ahead origin, D-1 at the
    issuance hour, built as the API serves them) and the day's measured load."""
    from edip_pipeline.features import build_features, day_ahead_pairs, load_target

    params = served_feature_params(forecaster)
    pairs = day_ahead_pairs(day, day, params.step, params.origin_hour_local)
    origin = pd.Timestamp(pairs["origin"].iloc[0])
    targets = pd.DatetimeIndex(pairs["target_time"])
    ft = build_features(ctx.store, origin, targets, params)
    y = load_target(ctx.store, targets, params.step)
    return ft.frame, pd.Series(y.to_numpy(dtype=float), index=ft.frame.index)


def served_feature_params(forecaster: OnnxForecaster) -> Any:
    """The feature parameters the served model records (else the project's)."""
    from edip_pipeline.config import FeatureParams, load_params

    raw = forecaster.feature_params
    return FeatureParams.model_validate(raw) if raw else load_params().features


def published_in_store(store: Any, last_target: pd.Timestamp) -> bool:
    """Whether the store's load reaches ``last_target`` (a group is absorbed whole: an update
    before the ingest that brings its last hour waits for the next one)."""
    last = store.last_timestamp("load_national")
    return last is not None and pd.Timestamp(last) >= last_target


def live_rule(forecaster: OnnxForecaster) -> AbsorbRule:
    """The engine's rule for the served model: ``ml.absorb_lag`` at its issuance hour."""
    from edip_ml.config import load_ml_params

    hour = served_feature_params(forecaster).origin_hour_local
    return AbsorbRule.of(load_ml_params().absorb_lag, hour)


def live_update(
    ctx: Any, forecaster: Any | None = None, rule: AbsorbRule | None = None
) -> str | None:
    """Absorb every measured load published since the champion's state is up to date into it.

    The hook of :mod:`edip_ml.live.update`: the walk-forward engine's steps (:func:`absorb_groups`)
    on the champion (``ctx.model``, the API's /v1/model; loaded from the registry unless
    ``forecaster`` is given), from the state the API serves (``ctx.states``, :class:`OnlineStates`:
    the newest it keeps, else the embedded one), for the groups of rows its ``rule`` (default:
    ``ml.absorb_lag``, :class:`AbsorbRule`) makes known by the next issuance at or after
    ``ctx.now``: so, run just before the issuance, the forecast issued has absorbed what the
    backtest absorbs at that origin, in the same groups. The new state records the instant it is
    up to date to (``absorbed_to``) and the Paris day of its last target (``last_day``, the API's
    key) and is posted back to the API, which serves it at once. Idempotent: nothing is absorbed
    twice; a group the store does not hold to its end, or without any measured load, waits (and
    so do the later ones). ``None`` when the champion has no online state.
    """
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
    tag = f"{registered} v{version} ({state.get('kind')})"
    rule = rule or live_rule(forecaster)
    step = pd.Timedelta(served_feature_params(forecaster).step)
    since = absorbed_to(state)
    groups, why = _ready_groups(ctx, forecaster, due_groups(rule, since, ctx.now, step), step)
    at = f"state at {since.isoformat() if since is not None else state.get(LAST_DAY_KEY)}"
    if not groups:
        return f"{tag}: nothing to absorb ({why or 'all absorbed'}), unchanged, {at}"
    new, skipped = absorb_groups(forecaster, state, [(X, y) for _, X, y in groups])
    to = groups[-1][0]
    new[ABSORBED_TO_KEY] = to.isoformat()
    new[LAST_DAY_KEY] = label = last_day_of(to)
    new["updated_at"] = pd.Timestamp(ctx.now).isoformat()
    states.put_online_state(registered, str(version), label, new)
    n = sum(len(y) for _, _, y in groups)
    flag = f", {skipped} of {n} hours skipped (gaps/outliers)" if skipped else ""
    rest = f"; then waits: {why}" if why else ""
    return (f"{tag}: absorbed {n - skipped} hours up to {to.isoformat()} ({len(groups)} "
            f"group(s){flag}), served by the API as {label}{rest}")  # fmt: skip


def _ready_groups(
    ctx: Any,
    forecaster: OnnxForecaster,
    due: list[tuple[pd.Timestamp, pd.DatetimeIndex]],
    step: pd.Timedelta,
) -> tuple[list[tuple[pd.Timestamp, pd.DataFrame, pd.Series]], str]:
    """The due groups the store holds, in order, up to the first it does not (and why: "")."""
    ready: list[tuple[pd.Timestamp, pd.DataFrame, pd.Series]] = []
    for at, targets in due:
        end = (targets.max() + step).isoformat()
        if not published_in_store(ctx.store, targets.max()):
            return ready, f"the load up to {end} is not in the store yet"
        X, y = group_rows(ctx, forecaster, targets)
        if not np.isfinite(y.to_numpy()).any():
            return ready, f"no measured load up to {end} yet"
        ready.append((at, X, y))
    return ready, ""


def last_day_of(to: pd.Timestamp) -> str:
    """The Paris day of the last target absorbed by a state up to date to ``to``."""
    from edip_pipeline.calendar import PARIS

    return str((pd.Timestamp(to) - pd.Timedelta(1)).tz_convert(PARIS).date())
