"""``combination_rte``: the combination with RTE's D-1 forecast as one more expert, served.

Why a model of its own: the backtest reports both variants (``combination`` and
``combination_rte``, :mod:`edip_ml.models.aggregation`); this one is what ``edip train ml
--models combination_rte`` registers. Its experts are the combination's, fitted once; RTE's
forecast is not learnt, it is read from the store at serve time as the input feature
``rte_d1_mw`` (known at 10:00 Paris on D-1, :mod:`edip_pipeline.features.rte`), the last column
of the input and the last expert column of the graph.

Two states travel in one model: the ML-Poly weights and band over the experts *and* RTE, and
those of the same experts *without* RTE (the ``combination`` variant, replayed over the same
backtest). When RTE's forecast is missing for any target of a request, the whole answer comes
from the second (variant ``without_rte``, :func:`edip_pipeline.contract.variant_of`): never an
error, never a mix of the two within one forecast.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from edip_ml.config import MLParams
from edip_ml.models.aggregation import aggregate
from edip_ml.models.base import Forecaster, ModelError
from edip_ml.models.combination import CombinedForecaster, _hours
from edip_ml.models.walk_forward import rule_of
from edip_pipeline.conformal import CONFORMAL_KEY, ConformalBand
from edip_pipeline.contract import (
    RTE_EXPERT_KEY,
    RTE_FEATURE,
    WITH_RTE,
    WITHOUT_RTE_KEY,
    variant_of,
)
from edip_pipeline.online import MLPoly, combine
from edip_pipeline.rte_forecast import rte_d1
from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: the pseudo-model name of RTE's forecast in forecasts frames (as in the backtest)
RTE_D1 = "rte_d1"


class CombinedRteForecaster(CombinedForecaster):
    """The combination over its experts plus RTE's D-1 forecast, with the no-RTE fallback."""

    name: ClassVar[str] = "combination_rte"
    family: ClassVar[str] = "combination"

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        super().__init__(params, seed)
        self.without: MLPoly | None = None
        self.band_without = ConformalBand(window=self.band.window, gamma=self.band.gamma)
        #: the store source of RTE's forecast ("odre" / "entsoe"), fixed by store_inputs
        self.rte_source: str = self.config.rte_source

    @classmethod
    def from_params(cls, params: MLParams, seed: int) -> CombinedRteForecaster:
        model = cls(params.hyper("combination"), seed=seed)  # the combination's section
        model.member_params = params
        return model

    @property
    def rte_column(self) -> int | None:
        return len(self.feature_names) - 1 if RTE_FEATURE in self.feature_names else None

    def _expert_input(self, X: pd.DataFrame) -> pd.DataFrame:
        """The experts never see RTE's forecast: it is a column of its own, the last expert."""
        if RTE_FEATURE not in X.columns:
            raise ModelError(f"{self.name}: the table has no {RTE_FEATURE} column")
        return X.drop(columns=RTE_FEATURE)

    def _calibration_matrix(self, experts: Sequence[Forecaster], X: pd.DataFrame) -> np.ndarray:
        own = super()._calibration_matrix(experts, X)
        return np.column_stack([own, X[RTE_FEATURE].to_numpy(dtype=float)])

    def _calibrate(
        self, E: np.ndarray, y: np.ndarray, hours: np.ndarray
    ) -> tuple[MLPoly, ConformalBand]:
        """Both variants on the same calibration rows: without RTE (kept), then with it."""
        self.without, self.band_without = super()._calibrate(E[:, :-1], y, hours)
        return super()._calibrate(E, y, hours)

    def store_inputs(
        self, store: Store, forecasts: pd.DataFrame, X: pd.DataFrame, step: pd.Timedelta
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """RTE's D-1 forecast at the members' backtest rows (an expert, scored against its
        source's own actual) and at the parity rows (the input column), known at the origin."""
        keys = forecasts.drop_duplicates(["origin", "target_time"])
        origins = pd.DatetimeIndex(keys["origin"])
        d1 = rte_d1(
            store, pd.DatetimeIndex(keys["target_time"]), step, origins=origins,
            source=self.config.rte_source,
        )  # fmt: skip
        if d1.source == "none":
            raise ModelError(f"{self.name}: no RTE D-1 forecast stored over its backtest")
        self.rte_source = d1.source
        log.info("%s: %s, %.1f%% of the backtest rows", self.name, d1.label, 100 * d1.coverage())
        rows = keys.assign(model=RTE_D1, p10=np.nan, p50=d1.forecast, p90=np.nan)
        if d1.source != "odre":  # ODRÉ's actual is the label the members are scored on
            rows = rows.assign(actual=d1.actual)
        rows = rows[rows["p50"].notna()]
        targets = pd.DatetimeIndex(X.index.get_level_values("target_time"))
        at = rte_d1(
            store, targets, step, origins=pd.DatetimeIndex(X.index.get_level_values("origin")),
            source=d1.source,  # type: ignore[arg-type]
        )  # fmt: skip
        return pd.concat([forecasts, rows], ignore_index=True), X.assign(
            **{RTE_FEATURE: at.forecast}
        )

    def from_members(
        self, fitted: Sequence[Forecaster], forecasts: pd.DataFrame, step: pd.Timedelta
    ) -> pd.DataFrame:
        """Both replays over the backtest (:func:`aggregate`): without RTE (the fallback) and
        with it (served); returns the ``with_rte`` forecasts."""
        cfg = self.config
        names = [m.name for m in fitted]
        window, gamma, forget = cfg.interval_window_days, cfg.interval_gamma, cfg.forget
        rule = rule_of(forecasts.attrs)  # the members' walks' (ml.absorb_lag)
        frame, state = aggregate(forecasts, [*names, RTE_D1], self.name, window, gamma, forget,
                                 rule=rule)  # fmt: skip
        kept = list(frame.attrs.get("experts", []))
        if state is None or not kept or kept[-1] != RTE_D1:
            raise ModelError(f"{self.name}: RTE's D-1 forecast or the experts were not backtested")
        plain, without = aggregate(forecasts, kept[:-1], "combination", window, gamma, forget,
                                   rule=rule)  # fmt: skip
        if without is None:
            raise ModelError(f"{self.name}: fewer than two of {self.members()} were backtested")
        self.without = without
        self.band_without = ConformalBand.from_dict(plain.attrs[CONFORMAL_KEY])
        by_name = {m.name: m for m in fitted}
        band = ConformalBand.from_dict(frame.attrs[CONFORMAL_KEY])
        self.set_experts([by_name[n] for n in kept[:-1]], state, band)
        return frame

    def set_experts(
        self, experts: Sequence[Forecaster], state: MLPoly, band: ConformalBand
    ) -> None:
        """The fitted ``experts``; ``state`` has one more expert, RTE's (the input's last column)."""
        if state.n_experts != len(experts) + 1:
            raise ModelError(f"{self.name}: RTE's D-1 forecast must be the last expert")
        super().set_experts(experts, state, band)
        self.feature_names = [*self.feature_names, RTE_FEATURE]
        if self.rte_source != "auto":  # the source its backtest read (store_inputs)
            params = dict(self.feature_params or {})
            self.feature_params = {**params, "rte_forecast": self.rte_source}

    def expert_matrix(self, X: pd.DataFrame) -> np.ndarray:
        rte = X[RTE_FEATURE].to_numpy(dtype=float)[:, None]
        return np.column_stack([super().expert_matrix(X), rte])

    def variant(self, X: pd.DataFrame) -> str:
        """``with_rte`` when every row has RTE's forecast, else ``without_rte`` (the fallback)."""
        return variant_of(self.feature_names, X[self.feature_names].to_numpy(dtype=float))

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        if self.variant(X) == WITH_RTE:
            return super().predict(X)
        if self.without is None:
            raise ModelError(f"{self.name}: not built (no fallback state)")
        hours = _hours(X)
        p50 = combine(self.expert_matrix(X)[:, :-1], self.without.weights(), hours)
        q = self.band_without.interval(p50, hours)
        q = np.where(np.isnan(q), p50[:, None], q)
        return pd.DataFrame(q, index=X.index, columns=["p10", "p50", "p90"])

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame | None:
        """None: RTE's forecast, one of the experts, has no decomposition into named parts."""
        return None

    def _absorb_weights(self, E: np.ndarray, values: np.ndarray, hours: np.ndarray) -> None:
        """Both states learn: with RTE (where it is known) and without it."""
        super()._absorb_weights(E, values, hours)
        if self.without is not None:
            plain = E[:, :-1]
            self.band_without.update(combine(plain, self.without.weights(), hours), values, hours)
            self.without.update(plain, values, hours)

    def online_state(self) -> dict[str, Any] | None:
        state = super().online_state()
        if state is None or self.without is None:
            return state
        state["experts"] = [*state["experts"], RTE_D1]
        state[RTE_EXPERT_KEY] = len(self.experts)
        state[WITHOUT_RTE_KEY] = {
            **self.without.to_dict(),
            CONFORMAL_KEY: self.band_without.to_dict(),
        }
        return state

    def load_online_state(self, state: dict[str, Any]) -> None:
        super().load_online_state(state)
        if WITHOUT_RTE_KEY in state:
            self.without = MLPoly.from_dict(state[WITHOUT_RTE_KEY])
            self.band_without = ConformalBand.from_dict(state[WITHOUT_RTE_KEY][CONFORMAL_KEY])
