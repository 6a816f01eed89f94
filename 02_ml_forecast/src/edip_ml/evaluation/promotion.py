"""The promotion decision: does ``challenger`` become ``champion``?

Why: the API serves ``models:/edip-load-fr@champion``; moving that alias is the one production
decision this package takes, so it is made on evidence, in one place, and written down.
:func:`promote` evaluates ``challenger`` and ``champion`` — both as served, i.e. their ONNX files
under onnxruntime, walked forward by the one engine (:mod:`edip_ml.models.walk_forward`) — on the
same most recent days of the store (day-ahead protocol, features from
:mod:`edip_pipeline.features`, actuals from ``load_target``) and moves ``champion`` only if the
challenger passes the absolute gate (MAPE ≤ ``max_mape``) and is not worse than the champion by
more than ``tolerance`` (relative). The decision and its figures are written as tags of the
challenger version. Any error leaves every alias where it was.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from edip_ml.data.evaluation_window import check_out_of_sample, store_last_day, window_ending
from edip_ml.export.onnx_export import FeatureContractError, OnnxForecaster
from edip_ml.registry.versions import (
    CHALLENGER,
    CHAMPION,
    REGISTERED_MODEL,
    RegistryError,
    load_version,
    mlflow_client,
    version_by_alias,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from edip_ml.config import MLParams
    from edip_ml.data.training_data import TrainingData
    from edip_pipeline.config import FeatureParams
    from edip_pipeline.features import WeatherMode
    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: defaults of ``ml.promotion`` in params.yaml (see :class:`edip_ml.config.PromotionParams`)
DEFAULT_WINDOW_DAYS = 28
DEFAULT_TOLERANCE = 0.02
DEFAULT_MAX_MAPE = 0.05  # a fraction, like every MAPE in edip_ml.evaluation.metrics


# ---------------------------------------------------------------------------------------------
# evaluation window
# ---------------------------------------------------------------------------------------------
@dataclass
class EvaluationWindow:
    """Features and actuals of the most recent complete days, day-ahead protocol."""

    X: pd.DataFrame
    y: pd.Series
    start_day: pd.Timestamp
    end_day: pd.Timestamp
    weather_source: str

    def describe(self) -> str:
        return f"{self.start_day.date()}..{self.end_day.date()} ({len(self.y)} rows)"


def evaluation_window(
    store: Store,
    days: int = DEFAULT_WINDOW_DAYS,
    *,
    end_day: pd.Timestamp | str | None = None,
    weather: WeatherMode = "auto",
    ml_params: MLParams | None = None,
    model_feature_params: dict[str, Any] | None = None,
) -> EvaluationWindow:
    """The last ``days`` complete Paris days with load in the store (or ending at ``end_day``).

    Day-ahead pairs at the ML step (``ml.step``), features from the pipeline's builder: exactly
    what the API will compute when it serves the model. ``model_feature_params`` (the
    ``feature_params`` a model recorded at training, e.g. with a past-load window) win over the
    store's, as they do when the API serves it.
    """
    from edip_ml.config import load_ml_params
    from edip_ml.data.training_data import load_training_data

    ml = ml_params or load_ml_params()
    params = _window_feature_params(store, ml, model_feature_params)
    held_out = window_ending(_last_day(store, end_day), days)
    first_day, last_day = held_out.first_day, held_out.last_day
    # the training data's table (the one `edip features` wrote when it is current), its rows of
    # the window: exactly the builder the API serves with
    data = load_training_data(
        store,
        ml,
        weather=weather,
        protocol="day-ahead",
        feature_params=params,
        first_day=first_day,
        last_day=last_day,
    )
    return _window_rows(data, first_day, last_day)


def _window_feature_params(
    store: Store, ml: MLParams, model_feature_params: dict[str, Any] | None
) -> FeatureParams:
    """The store's feature parameters, overridden by those the model recorded (known fields)."""
    from edip_ml.data.dataset import feature_params
    from edip_pipeline.config import FeatureParams

    params = feature_params(store, ml)
    if model_feature_params:
        known = {k: v for k, v in model_feature_params.items() if k in FeatureParams.model_fields}
        params = FeatureParams.model_validate({**params.model_dump(), **known})
    return params


def _last_day(store: Store, end_day: pd.Timestamp | str | None) -> pd.Timestamp:
    """The window's last day (:func:`~edip_ml.data.evaluation_window.store_last_day`)."""
    last_day = store_last_day(store, end_day)
    if last_day is None:
        raise RegistryError("the store holds no national load: nothing to evaluate on")
    return last_day


def _window_rows(
    data: TrainingData, first_day: pd.Timestamp, last_day: pd.Timestamp
) -> EvaluationWindow:
    """The window's rows of ``data`` with a known actual; every column of the table is kept
    (the served model picks its own by its feature contract, so a missing one shows there)."""
    ft = data.rows(first_day, last_day)
    y = data.target.reindex(ft.frame.index)
    keep = y.notna().to_numpy()
    if not keep.any():
        raise RegistryError(
            f"no actual load between {first_day.date()} and {last_day.date()}: nothing to evaluate"
        )
    return EvaluationWindow(
        X=ft.frame[keep],
        y=y[keep],
        start_day=first_day,
        end_day=last_day,
        weather_source=ft.weather_source,
    )


def mape(y: np.ndarray | pd.Series, p: np.ndarray | pd.Series) -> float:
    """MAPE as a fraction (:func:`edip_ml.evaluation.metrics.mape`); a missing forecast counts as inf."""
    from edip_ml.evaluation.metrics import mape as metrics_mape

    if np.isnan(np.asarray(p, dtype=float)).any():
        return float("inf")  # a model that cannot forecast some rows does not pass any gate
    return metrics_mape(y, p)


# ---------------------------------------------------------------------------------------------
# promote
# ---------------------------------------------------------------------------------------------
@dataclass
class PromotionDecision:
    """What :func:`promote` decided and why (also written as tags of the challenger version)."""

    decision: str  # "promoted", "rejected" or "unchanged"
    reason: str
    challenger_version: str
    champion_version: str | None  # the champion before the decision
    mape_challenger: float | None
    mape_champion: float | None
    window: str
    max_mape: float
    tolerance: float

    @property
    def promoted(self) -> bool:
        return self.decision == "promoted"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _fmt(value: float | None) -> str:
    return "none" if value is None or not math.isfinite(value) else f"{value:.6f}"


def _pct(value: float) -> str:
    return f"{value * 100:.3f} %"


def _gates(ml_params: MLParams | None) -> tuple[int, float, float]:
    """(window_days, tolerance, max_mape) from ``ml.promotion`` of params.yaml."""
    from edip_ml.config import load_ml_params

    promotion = (ml_params or load_ml_params()).promotion
    return promotion.eval_window_days, promotion.tolerance, promotion.max_mape


def promote(
    store: Store | None = None,
    *,
    model_name: str = REGISTERED_MODEL,
    window_days: int | None = None,
    tolerance: float | None = None,
    max_mape: float | None = None,
    end_day: pd.Timestamp | str | None = None,
    weather: WeatherMode = "auto",
    ml_params: MLParams | None = None,
    client: MlflowClient | None = None,
    champion_live_mape: float | None = None,
    allow_overlap: bool = False,
) -> PromotionDecision:
    """Decide whether ``challenger`` becomes ``champion`` (see the module doc).

    ``max_mape`` is a fraction (0.05 = 5 %), like every MAPE here; ``tolerance`` is relative
    (0.02: the challenger may be up to 2 % worse than the champion). Unset gates come from
    ``ml_params.promotion`` (default: ``params.yaml``). With no champion yet, a challenger that
    passes the absolute gate becomes champion. ``champion_live_mape`` (the champion's error as
    served, from the log store; :mod:`edip_ml.live.retrain`) replaces its offline MAPE as the
    reference the challenger is compared with, when given. A challenger trained on days of the
    window raises :class:`~edip_ml.data.evaluation_window.OverlapError` (aliases unchanged) unless
    ``allow_overlap`` (then judged in-sample, tagged ``promotion_in_sample``).
    """
    from edip_pipeline.store import Store

    c = mlflow_client(client)
    d_window, d_tol, d_max = _gates(ml_params)
    window_days = window_days if window_days is not None else d_window
    tolerance = tolerance if tolerance is not None else d_tol
    max_mape = max_mape if max_mape is not None else d_max

    chal_v, champ_v = _aliased_versions(c, model_name)
    if champ_v == chal_v:
        reason = f"version {chal_v} is already {CHAMPION}"
        return PromotionDecision(
            "unchanged", reason, chal_v, champ_v, None, None, "", max_mape, tolerance
        )
    store = store or Store()
    held_out = window_ending(_last_day(store, end_day), window_days)
    train_end = check_out_of_sample(c, model_name, chal_v, held_out, allow_overlap=allow_overlap)
    windows = _Windows(store, window_days, end_day, weather, ml_params)
    scores = _score(windows, model_name, chal_v, champ_v)
    decision, basis = _decide(scores, chal_v, champ_v, max_mape, tolerance, champion_live_mape)
    in_sample = train_end is not None and held_out.covered_by(train_end)
    _record(c, model_name, decision, scores.window, basis, in_sample)
    return decision


def _aliased_versions(c: MlflowClient, model_name: str) -> tuple[str, str | None]:
    """(challenger, champion) version numbers; no challenger is an error."""
    challenger = version_by_alias(CHALLENGER, model_name=model_name, client=c)
    if challenger is None:
        raise RegistryError(f"{model_name} has no '{CHALLENGER}' version: train one first")
    champion = version_by_alias(CHAMPION, model_name=model_name, client=c)
    return str(challenger.version), str(champion.version) if champion is not None else None


@dataclass
class _Windows:
    """The same days for both models, featured as each was trained (cached per params)."""

    store: Store
    days: int
    end_day: pd.Timestamp | str | None
    weather: WeatherMode
    ml_params: MLParams | None
    cache: dict[str, EvaluationWindow] = field(default_factory=dict)

    def for_model(self, model: OnnxForecaster) -> EvaluationWindow:
        recorded = model.feature_params
        key = json.dumps(recorded, sort_keys=True, default=str)
        if key not in self.cache:
            self.cache[key] = evaluation_window(
                self.store,
                self.days,
                end_day=self.end_day,
                weather=self.weather,
                ml_params=self.ml_params,
                model_feature_params=recorded,
            )
        return self.cache[key]


@dataclass(frozen=True)
class _Scores:
    """Offline MAPEs on the window (``failure``: why the challenger could not be scored)."""

    window: EvaluationWindow  # the challenger's
    mape_challenger: float | None
    failure: str | None
    mape_champion: float | None


def _score(windows: _Windows, model_name: str, chal_v: str, champ_v: str | None) -> _Scores:
    """Both versions as served (ONNX under onnxruntime), each on its window."""
    with tempfile.TemporaryDirectory(prefix="edip-promote-") as tmp:
        chal_model = load_version(chal_v, model_name=model_name, dst=Path(tmp) / CHALLENGER)
        champ_model = (
            load_version(champ_v, model_name=model_name, dst=Path(tmp) / CHAMPION)
            if champ_v is not None
            else None
        )
        window = windows.for_model(chal_model)
        mape_champ = None
        if champ_model is not None:
            # a champion that cannot be scored is an error, not a reason to replace it blindly
            champ_window = windows.for_model(champ_model)
            try:
                mape_champ = mape(champ_window.y, served_p50(champ_model, champ_window))
            except FeatureContractError as exc:
                raise RegistryError(
                    f"{CHAMPION} v{champ_v} cannot be evaluated on {window.describe()}: {exc}"
                ) from exc
        try:
            mape_chal: float | None = mape(window.y, served_p50(chal_model, window))
            failure = None
        except FeatureContractError as exc:
            mape_chal, failure = None, str(exc)
    return _Scores(window, mape_chal, failure, mape_champ)


def served_p50(model: OnnxForecaster, window: EvaluationWindow) -> pd.Series:
    """The P50 the version would serve over the window, walked forward by the one engine (an
    online state absorbs each day once it is over, as the live loop's ``update`` does)."""
    from edip_ml.models.online import served_walk

    return served_walk(model).run(window.X, window.y)["p50"]


def _decide(
    scores: _Scores,
    chal_v: str,
    champ_v: str | None,
    max_mape: float,
    tolerance: float,
    champion_live_mape: float | None,
) -> tuple[PromotionDecision, str]:
    """The decision, and the basis of the champion's MAPE (``live`` or ``offline``)."""
    mape_chal, mape_champ = scores.mape_challenger, scores.mape_champion
    champ_label = f"champion v{champ_v}"
    if mape_champ is not None and champion_live_mape is not None:
        champ_label += f" live (offline {_pct(mape_champ)})"
        mape_champ = champion_live_mape
    if scores.failure is not None or mape_chal is None:
        promoted, reason = False, f"challenger cannot be evaluated on the window: {scores.failure}"
    elif not math.isfinite(mape_chal) or mape_chal > max_mape:
        promoted = False
        reason = f"fails the absolute gate: MAPE {_pct(mape_chal)} > max_mape {_pct(max_mape)}"
    elif mape_champ is None:
        promoted = True
        reason = f"no {CHAMPION} yet and MAPE {_pct(mape_chal)} ≤ max_mape {_pct(max_mape)}"
    elif mape_chal <= mape_champ * (1.0 + tolerance):
        promoted = True
        reason = f"MAPE {_pct(mape_chal)} ≤ {champ_label} {_pct(mape_champ)} × (1 + {tolerance:g})"
    else:
        promoted = False
        reason = (
            f"worse than {champ_label}: MAPE {_pct(mape_chal)} > "
            f"{_pct(mape_champ)} × (1 + {tolerance:g})"
        )
    decision = PromotionDecision(
        "promoted" if promoted else "rejected",
        reason,
        chal_v,
        champ_v,
        mape_chal,
        mape_champ,
        scores.window.describe(),
        max_mape,
        tolerance,
    )
    return decision, "live" if "live" in champ_label else "offline"


def _record(
    c: MlflowClient,
    model_name: str,
    decision: PromotionDecision,
    window: EvaluationWindow,
    basis: str,
    in_sample: bool,
) -> None:
    """The decision as tags of the challenger version; ``champion`` moved when promoted."""
    chal_v = decision.challenger_version
    tags = {
        "promotion_decision": decision.decision,
        "promotion_reason": decision.reason,
        "promotion_mape_challenger": _fmt(decision.mape_challenger),
        "promotion_mape_champion": _fmt(decision.mape_champion),
        "promotion_champion_basis": basis,
        "promotion_champion_version": decision.champion_version or "none",
        "promotion_window": window.describe(),
        "promotion_weather_source": window.weather_source,
        "promotion_in_sample": str(in_sample).lower(),
        "promotion_timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    for key, value in tags.items():
        c.set_model_version_tag(model_name, chal_v, key, value)
    if decision.promoted:
        c.set_registered_model_alias(model_name, CHAMPION, chal_v)
    log.info("promotion of %s v%s: %s (%s)", model_name, chal_v, decision.decision, decision.reason)
