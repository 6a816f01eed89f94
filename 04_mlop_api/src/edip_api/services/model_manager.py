"""The model manager: serves ``models:/{name}@{alias}`` and swaps it atomically when the alias moves.

Why this shape:

* the champion is read from the registry's REST API (:mod:`.registry`: the version, its run and
  its ``.onnx`` artifact; no MLflow client in the serving install) and run by :class:`edip_pipeline.contract.OnnxForecaster`: no training library
  is imported in the serving process;
* the feature contract is verified before a model is served: every feature it expects must be
  buildable by ``edip_pipeline.features`` with the ``feature_params`` it was trained with
  (``params.yaml``'s when it carries none), and one prediction must run;
* a background thread polls the alias every ``EDIP_MODEL_POLL_S``; a new version is loaded and
  checked off the request path, then a single reference is replaced (requests read it once, so
  none sees half a model and none fails during the swap);
* an online champion (a Kalman or ML-Poly state, :mod:`edip_pipeline.online`) serves the newest
  state the loop posted for its version (``PUT /v1/model/online-state``, kept in the log store):
  applied at once when posted (after the checks of :meth:`ModelManager.put_online_state`), read
  back on load and on every poll (other workers, a restart): a newer ``last_day`` swaps in a copy
  of the model with that state (a new cache key, so cached forecasts are not reused);
* with no loadable champion the documented fallback (:mod:`.fallback`) is served and says why. A
  serving champion is never replaced by the fallback because the registry became unreachable.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from edip_api.core.config import Settings
from edip_api.schemas import ModelInfo
from edip_api.services.errors import NotReadyError, ServiceError
from edip_api.services.fallback import FALLBACK_COLUMN, FALLBACK_NAME, fallback_quantiles
from edip_api.services.registry import ModelVersion, RegistryReader
from edip_pipeline.config import FeatureParams
from edip_pipeline.contract import RTE_FEATURE, WITHOUT_RTE, FeatureContractError, OnnxForecaster
from edip_pipeline.features import feature_names as buildable_feature_names
from edip_pipeline.online import LAST_DAY_KEY

log = logging.getLogger(__name__)
#: longest wait for the poller thread at shutdown (its share of EDIP_SHUTDOWN_BUDGET_S)
POLLER_STOP_S = 2.0


#: the newest persisted online state of (registered model, version), or None
StateSource = Callable[[str, str], dict[str, Any] | None]
#: keeps a posted state durably (registered model, version, day, state)
StateSink = Callable[[str, str, str, dict[str, Any]], None]


class ModelLoadError(RuntimeError):
    """The alias cannot be served (no such version, no ONNX file, contract mismatch, …)."""


@dataclass(frozen=True)
class ServedModel:
    """One immutable served model: swapped as a whole, never mutated."""

    info: ModelInfo
    feature_params: FeatureParams
    feature_names: list[str]
    forecaster: OnnxForecaster | None = None
    registered_model: str = ""
    run_id: str | None = None
    feature_params_raw: dict[str, Any] | None = None
    backtest_metrics: dict[str, float] = field(default_factory=dict)
    data_version: str | None = None
    trained_on: tuple[str | None, str | None] = (None, None)
    tags: dict[str, str] = field(default_factory=dict)
    #: the weather source of its training table (run tag ``weather_source``), when recorded
    trained_weather_source: str | None = None

    @property
    def is_fallback(self) -> bool:
        return self.forecaster is None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """Cache key part: a forecast depends on the model version, its load time and state."""
        return (
            self.info.name,
            self.info.version or "",
            self.info.loaded_at.isoformat(),
            self.info.online_last_day or "",
        )

    @property
    def takes_rte(self) -> bool:
        """Whether the model takes RTE's D-1 forecast as an expert (``combination_rte``)."""
        return RTE_FEATURE in self.feature_names

    def variant(self, X: pd.DataFrame) -> str:
        """``with_rte`` / ``without_rte``: how :meth:`predict` serves these rows (a model
        without RTE's forecast, or rows lacking it: ``without_rte``, the model's own fallback)."""
        if self.forecaster is None or not self.takes_rte:
            return WITHOUT_RTE
        return self.forecaster.variant(X[self.feature_names].to_numpy(dtype=float))

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """``[N, 3]`` P10/P50/P90 (NaN where the fallback claims nothing)."""
        if self.forecaster is None:
            return fallback_quantiles(X)
        return self.forecaster.predict_matrix(X[self.feature_names].to_numpy(dtype=np.float32))


def _now() -> datetime:
    return datetime.now(UTC)


def fallback_model(settings: Settings, params: FeatureParams, reason: str) -> ServedModel:
    """The "same hour last week" model, with the reason it is served."""
    info = ModelInfo(
        name=FALLBACK_NAME,
        version=None,
        source="fallback",
        family="baseline",
        alias=settings.model_alias,
        loaded_at=_now(),
        reason=reason,
    )
    return ServedModel(
        info=info,
        feature_params=params,
        feature_names=[FALLBACK_COLUMN],
        registered_model=settings.model_name,
    )


def check_contract(forecaster: OnnxForecaster, params: FeatureParams) -> None:
    """Refuse a model whose features the pipeline cannot build, or that cannot run."""
    buildable = set(buildable_feature_names(params))
    missing = [n for n in forecaster.feature_names if n not in buildable]
    if missing:
        raise FeatureContractError(
            f"{forecaster.model_name}: features not buildable by edip_pipeline.features: {missing}"
        )
    probe = np.zeros((2, len(forecaster.feature_names)), dtype=np.float32)
    out = forecaster.predict_matrix(probe)
    if out.shape != (2, 3):
        raise FeatureContractError(f"{forecaster.model_name}: output shape {list(out.shape)}")


class ModelManager:
    """Loads the alias at start, polls it, swaps the served model; thread-safe."""

    def __init__(
        self,
        settings: Settings,
        default_params: FeatureParams,
        on_swap: Callable[[ServedModel], None] | None = None,
        states: StateSource | None = None,
    ) -> None:
        self.settings = settings
        self.states = states
        self.default_params = default_params
        self.on_swap = on_swap
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._current = fallback_model(settings, default_params, "not loaded yet")
        self.last_error: str | None = None
        # registry calls fail fast: a dead registry means "serve the fallback", not a hang
        self.registry = RegistryReader(settings.mlflow_tracking_uri, settings.registry_timeout_s)

    # ------------------------------------------------------------------ state
    @property
    def current(self) -> ServedModel:
        """The model serving now (one reference read: a swap never shows half a model)."""
        return self._current

    def _swap(self, model: ServedModel) -> None:
        self._current = model
        log.info(
            "serving %s v%s (%s)%s",
            model.info.name,
            model.info.version,
            model.info.source,
            f": {model.info.reason}" if model.info.reason else "",
        )
        if self.on_swap is not None:
            self.on_swap(model)

    # ------------------------------------------------------------------ registry
    def alias_version(self) -> str:
        """The version the alias points at now (raises when the registry cannot say)."""
        mv = self.registry.version_by_alias(self.settings.model_name, self.settings.model_alias)
        return mv.version

    def _load(self, version: str | None = None) -> ServedModel:
        """``version`` (else the alias's) downloaded, contract-checked, with its provenance."""
        registry = self.registry
        name, alias = self.settings.model_name, self.settings.model_alias
        mv = registry.version(name, version) if version else registry.version_by_alias(name, alias)
        forecaster = self._download(name, mv.version)
        raw = forecaster.feature_params
        params = FeatureParams.model_validate(raw) if raw else self.default_params
        check_contract(forecaster, params)
        tags = {str(k): str(v) for k, v in mv.tags.items()}
        metrics, trained, run_tags = self._run_provenance(registry, name, mv)
        info = ModelInfo(
            name=forecaster.model_name,
            version=mv.version,
            source="registry",
            family=tags.get("edip.family") or run_tags.get("edip.family") or None,
            alias=alias,
            registered_model=name,
            loaded_at=_now(),
            reason=None,
        )
        served = ServedModel(
            info=info,
            feature_params=params,
            feature_names=list(forecaster.feature_names),
            forecaster=forecaster,
            registered_model=name,
            run_id=mv.run_id,
            feature_params_raw=json.loads(json.dumps(raw)) if raw else None,
            backtest_metrics=metrics,
            data_version=tags.get("data_version") or run_tags.get("data_version"),
            trained_on=trained,
            tags=tags,
            trained_weather_source=run_tags.get("weather_source"),
        )
        return self.with_online_state(served)

    def _download(self, name: str, version: str) -> OnnxForecaster:
        """The version's ``.onnx`` artifact as a forecaster."""
        files = self.registry.artifact_files(name, version, ".onnx")
        if not files:
            raise ModelLoadError(f"{name} v{version} holds no .onnx file")
        try:
            return OnnxForecaster(files[0][1], intra_op_threads=1)
        except FeatureContractError:
            raise
        except Exception as exc:  # onnxruntime refuses a corrupt graph with its own errors
            raise ModelLoadError(
                f"{name} v{version}: ONNX file unreadable ({type(exc).__name__}: {exc})"
            ) from exc

    @staticmethod
    def _run_provenance(
        registry: RegistryReader, name: str, mv: ModelVersion
    ) -> tuple[dict[str, float], tuple[str | None, str | None], dict[str, str]]:
        """Backtest metrics, training span and tags of the version's run (empty if unreadable)."""
        if not mv.run_id:
            return {}, (None, None), {}
        try:
            run = registry.run(mv.run_id)
            trained = (run.params.get("train_start"), run.params.get("train_end"))
            return run.metrics, trained, run.tags
        except Exception as exc:  # provenance is nice to have, the model is what matters
            log.warning("run %s of %s v%s unreadable: %s", mv.run_id, name, mv.version, exc)
            return {}, (None, None), {}

    def with_online_state(self, model: ServedModel) -> ServedModel:
        """``model`` with the newest persisted online state of its version, else ``model`` itself
        (none newer than the served one, or one it refuses: logged)."""
        if self.states is None or not _online(model):
            return model
        try:
            saved = self.states(model.registered_model, str(model.info.version))
        except Exception as exc:  # the log store down: keep serving the state in memory
            log.warning("online states unreadable, keeping the served one: %s", exc)
            return model
        day = str((saved or {}).get(LAST_DAY_KEY) or "")
        if saved is None or not day or day <= (model.info.online_last_day or ""):
            return model
        try:
            return _apply_state(model, saved)
        except ServiceError as exc:
            log.warning("online state of %s ignored: %s", day, exc.detail)
            return model

    def put_online_state(
        self, name: str, version: str, day: str, state: dict[str, Any], keep: StateSink
    ) -> ServedModel:
        """Serve ``state`` (absorbed up to Paris ``day``) now, after ``keep`` persisted it.

        Refused, the served state untouched: 409 when the served model is not ``name`` v``version``
        or has no online state, or ``day`` is not after the served one; 422 when the state is not
        of the served kind or the model cannot run with it.
        """
        with self._reload_lock:
            current = self._current
            served = f"{current.registered_model} v{current.info.version}"
            if current.is_fallback or (current.registered_model, current.info.version) != (
                name,
                version,
            ):
                raise ServiceError(f"the API serves {served}, not {name} v{version}", 409)
            if not _online(current):
                raise ServiceError(f"{served} has no online state", 409)
            last = current.info.online_last_day
            if last is not None and day <= last:
                raise ServiceError(f"{served} already serves the state of {last} (>= {day})", 409)
            updated = _apply_state(current, {**state, LAST_DAY_KEY: day})
            keep(name, version, day, {**state, LAST_DAY_KEY: day})
            self._swap(updated)
            return updated

    def refresh_online_state(self) -> ServedModel:
        """Serve the newest persisted online state of the current version (see above)."""
        with self._reload_lock:
            current = self._current
            refreshed = self.with_online_state(current)
            if refreshed is not current:
                self._swap(refreshed)
            return refreshed

    def reload(self, *, force: bool = True) -> ServedModel:
        """Load the alias now and serve it; on failure keep a serving champion, else fall back."""
        with self._reload_lock:
            current = self._current
            try:
                if (
                    not force
                    and not current.is_fallback
                    and self.alias_version() == current.info.version
                ):
                    refreshed = self.with_online_state(current)
                    if refreshed is not current:
                        self._swap(refreshed)
                    return refreshed
                model = self._load()
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}".strip()[:500]
                self.last_error = reason
                if current.is_fallback:
                    log.warning("no loadable %s: serving the fallback (%s)", self._ref(), reason)
                    if current.info.reason != reason:
                        self._swap(fallback_model(self.settings, self.default_params, reason))
                else:
                    log.warning(
                        "reloading %s failed, keeping v%s: %s",
                        self._ref(),
                        current.info.version,
                        reason,
                    )
                return self._current
            self.last_error = None
            self._swap(model)
            return model

    def _ref(self) -> str:
        return f"models:/{self.settings.model_name}@{self.settings.model_alias}"

    def versions(self) -> list[tuple[ModelVersion, list[str]]]:
        """Every version (newest first) with its aliases; raises NotReadyError when the registry is down."""
        name = self.settings.model_name
        try:
            found = self.registry.versions(name)
            aliases = self.registry.aliases(name)
        except Exception as exc:
            raise NotReadyError(f"model registry unreachable: {type(exc).__name__}") from exc
        by_version: dict[str, list[str]] = {}
        for alias, version in aliases.items():
            by_version.setdefault(str(version), []).append(alias)
        ordered = sorted(found, key=lambda mv: int(mv.version), reverse=True)
        return [(mv, sorted(by_version.get(str(mv.version), []))) for mv in ordered]

    # ------------------------------------------------------------------ polling
    def start(self) -> None:
        """Load once (blocking: the app starts with a model or the fallback), then poll."""
        self.reload(force=True)
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, name="edip-model-poll", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(self.settings.model_poll_s):
            try:
                self.reload(force=False)
            except Exception:  # the poller must never die
                log.exception("model poll failed")
            try:  # states posted to another worker; also when the registry is unreachable
                self.refresh_online_state()
            except Exception:
                log.exception("online state refresh failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # a poll stuck in a registry call must not eat the shutdown budget (daemon thread)
            self._thread.join(timeout=POLLER_STOP_S)


def _online(model: ServedModel) -> bool:
    """Whether ``model`` is a registry version with an online state."""
    f = model.forecaster
    return f is not None and bool(f.online_state) and bool(model.info.version)


def _apply_state(model: ServedModel, state: dict[str, Any]) -> ServedModel:
    """A copy of ``model`` serving ``state``; 422 when not of its kind or unusable."""
    assert model.forecaster is not None
    kind = model.forecaster.online_state.get("kind") if model.forecaster.online_state else None
    if state.get("kind") != kind:
        raise ServiceError(f"the state is of kind {state.get('kind')!r}, the model's {kind!r}", 422)
    updated = copy.copy(model.forecaster)  # the session is shared; only the state differs
    updated.online_state = state
    try:
        check_contract(updated, model.feature_params)
    except Exception as exc:
        raise ServiceError(f"the model cannot run with this state: {exc}"[:400], 422) from exc
    day = str(state[LAST_DAY_KEY])
    log.info("%s v%s: online state of %s applied", model.info.name, model.info.version, day)
    info = model.info.model_copy(update={"online_last_day": day})
    return dataclasses.replace(model, info=info, forecaster=updated)
