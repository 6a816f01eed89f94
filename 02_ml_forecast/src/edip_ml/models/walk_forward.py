"""The one walk-forward engine: origin by origin, absorb the outcomes published, then forecast.

Every origin-by-origin replay of EDIP is this engine: ``edip backtest`` (every model, fold after
fold, the band running across refits), the combination's ML-Poly over its experts' backtest
forecasts (:mod:`edip_ml.models.aggregation`), promotion's evaluation of the served ONNX files and
the live loop's ``update`` (:meth:`WalkForward.absorb` of the served model, by the same
:class:`AbsorbRule`: :mod:`edip_ml.models.online`). So what is evaluated is literally what is served.

The rule, shared by all of them (:class:`AbsorbRule`, ``ml.absorb_lag``):

* an outcome (a row: origin, target) is **known** at the first daily instant at the issuance hour
  (Paris; ``hour``) at least ``lag`` after its target interval ended: its ``known_at``. With the
  default lag (the publication lag of éCO2mix real-time data plus the loop's ingest margin) the
  forecast issued at D-1 12:00 has absorbed the hours of D-1 up to 10:00; ``absorb_lag: null``
  is the whole-day rule (``hour`` 0, lag 0: a Paris day once it is over by the origin);
* before each origin, every pending row known by it is absorbed, once, grouped by ``known_at``
  (one update per group, whatever the schedule of the calls: the live loop's daily ``update``
  absorbs exactly the group the backtest absorbs at that origin) and in target order;
* absorbing a group: first the conformal band (:class:`edip_pipeline.conformal.ConformalBand`)
  learns its residuals against the P50 the state gives for those rows just before, then the
  model's online state absorbs the rows (Kalman effects, ML-Poly weights; a static model absorbs
  nothing, its band still learns). A gap or an outlier is skipped (and counted), never absorbed;
* then the origin's rows are forecast: the model's P10/P50/P90, the band's P10/P90 where its hour
  has enough residuals.

A model may change between origins (a refit: :attr:`WalkForward.model` is replaced): the rows it
was trained on that are still pending are absorbed first with the model before it
(:meth:`WalkForward.advance` ``through`` its training end), the later ones with the refit — as
the live loop's update continues a new champion's state from the end of its training.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from edip_pipeline.calendar import PARIS
from edip_pipeline.conformal import ConformalBand

log = logging.getLogger(__name__)

QUANTILES = ["p10", "p50", "p90"]


class Stepping(Protocol):
    """What the engine needs of a model: a forecaster, or an adapter over one (a protocol: the
    models import this module, so it does not import them back)."""

    @property
    def name(self) -> str: ...

    def predict(self, X: pd.DataFrame) -> pd.DataFrame: ...

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray: ...


class Predicting(Protocol):
    """A model that forecasts and has no online state."""

    @property
    def name(self) -> str: ...

    def predict(self, X: pd.DataFrame) -> pd.DataFrame: ...


class Static:
    """A model without online state stepped by the engine: it absorbs nothing (its band may)."""

    def __init__(self, model: Predicting) -> None:
        self.model = model

    @property
    def name(self) -> str:
        return self.model.name

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        return self.model.predict(X)

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
        return ~np.isfinite(y.to_numpy(dtype=float))


def new_band(window_days: int, gamma: float) -> ConformalBand:
    """The band every model starts a walk with (``ml.combination.interval_window_days``)."""
    return ConformalBand(gamma=gamma, window=max(window_days, 7), min_count=7)


def paris_hours(targets: pd.DatetimeIndex) -> np.ndarray:
    """The Paris hour of each target: the band's group, as the ``hour`` feature served."""
    return np.asarray(pd.DatetimeIndex(targets).tz_convert(PARIS).hour, dtype=int)


def targets_of(X: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(X.index.get_level_values("target_time")).as_unit("ns")


def origins_of(X: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(X.index.get_level_values("origin")).as_unit("ns")


def day_ends(targets: pd.DatetimeIndex) -> np.ndarray:
    """UTC ns of the end of each target's Paris day (when the whole day is known)."""
    local = pd.DatetimeIndex(targets).tz_convert(PARIS).tz_localize(None).normalize()
    days, inverse = np.unique(np.asarray(local.as_unit("ns").asi8), return_inverse=True)
    next_days = pd.to_datetime(days, unit="ns") + pd.Timedelta(days=1)
    ends = pd.DatetimeIndex(next_days).tz_localize(PARIS).tz_convert("UTC")
    return np.asarray(ends.as_unit("ns").asi8)[inverse]


@dataclass(frozen=True)
class AbsorbRule:
    """When an outcome is known (module doc): at the first instant at Paris hour ``hour`` at
    least ``lag`` after its target interval ended. The default, ``hour`` 0 and ``lag`` 0, is the
    whole-day rule: a Paris day once it is over. Targets are on their step's grid, so "its
    interval ended by ``g - lag``" is "it started before ``g - lag``" (no step needed)."""

    lag: pd.Timedelta = field(default_factory=lambda: pd.Timedelta(0))
    hour: int = 0

    def __post_init__(self) -> None:
        if self.lag < pd.Timedelta(0) or not 0 <= self.hour <= 23:
            raise ValueError(f"absorb rule: lag >= 0 and hour in 0..23, got {self}")

    @classmethod
    def of(cls, lag: str | None, issuance_hour: int) -> AbsorbRule:
        """The rule of the setting ``ml.absorb_lag`` (``None``: whole days) for models issued
        at Paris hour ``issuance_hour`` (``features.origin_hour_local``)."""
        return WHOLE_DAYS if lag is None else cls(pd.Timedelta(lag), int(issuance_hour))

    def stamp(self, forecasts: pd.DataFrame) -> None:
        """Record the rule in ``forecasts.attrs`` (JSON-able): replays over them absorb alike
        (:func:`rule_of`)."""
        forecasts.attrs[ABSORB_ATTR] = {"lag": str(self.lag), "hour": self.hour}

    def known_at(self, targets: pd.DatetimeIndex) -> np.ndarray:
        """UTC ns of the instant each target's outcome is known (absorbed before an origin at or
        after it)."""
        return known_at(pd.DatetimeIndex(targets) + self.lag, self.hour)

    def ended_by(self, instant: pd.Timestamp) -> pd.Timestamp:
        """The latest target end known at ``instant`` (an instant of the rule's grid)."""
        return pd.Timestamp(instant) - self.lag


WHOLE_DAYS = AbsorbRule()
#: ``attrs`` key of a backtest's forecasts: the rule its walks absorbed by (:func:`rule_of`)
ABSORB_ATTR = "absorb"


def rule_of(attrs: Mapping[Any, Any]) -> AbsorbRule:
    """The rule a forecasts frame was walked with (:data:`ABSORB_ATTR`), else whole days."""
    raw = attrs.get(ABSORB_ATTR)
    return AbsorbRule(pd.Timedelta(raw["lag"]), int(raw["hour"])) if raw else WHOLE_DAYS


def known_at(instants: pd.DatetimeIndex, hour: int) -> np.ndarray:
    """UTC ns of the first instant at Paris ``hour`` strictly after each of ``instants``."""
    local = pd.DatetimeIndex(instants).tz_convert(PARIS).tz_localize(None)
    anchor = local.normalize() + pd.Timedelta(hours=hour)
    due = pd.DatetimeIndex(np.where(local < anchor, anchor, anchor + pd.Timedelta(days=1)))
    aware = due.tz_localize(PARIS, ambiguous=True, nonexistent="shift_forward")
    return np.asarray(aware.tz_convert("UTC").as_unit("ns").asi8)


class WalkForward:
    """One walk: a model (replaceable), its band, the rows forecast but not yet absorbed."""

    def __init__(
        self, model: Stepping, band: ConformalBand | None = None, rule: AbsorbRule = WHOLE_DAYS
    ) -> None:
        self.model = model
        self.band = band
        self.rule = rule
        self.skipped = 0
        self._pending: list[tuple[pd.DataFrame, pd.Series]] = []

    def forecast(self, X: pd.DataFrame) -> pd.DataFrame:
        """P10/P50/P90 of ``X`` with the state as it is now (the band's where it has one)."""
        q = self.model.predict(X)[QUANTILES].to_numpy(dtype=float)
        if self.band is not None and len(X):
            aci = self.band.interval(q[:, 1], paris_hours(targets_of(X)))
            q = np.where(np.isnan(aci), q, aci)
        return pd.DataFrame(q, index=X.index, columns=QUANTILES)

    def absorb(self, X: pd.DataFrame, y: pd.Series) -> int:
        """Absorb outcomes (one group, rows in target order): the band, then the model; returns
        how many rows the model skipped (gaps, outliers)."""
        if not len(X):
            return 0
        if self.band is not None:
            p50 = self.model.predict(X)["p50"].to_numpy(dtype=float)
            self.band.update(p50, y.to_numpy(dtype=float), paris_hours(targets_of(X)))
        skipped = int(np.sum(self.model.absorb(X, y)))
        self.skipped += skipped
        return skipped

    def advance(self, origin: pd.Timestamp | int, through: pd.Timestamp | None = None) -> None:
        """Absorb every pending row known by ``origin`` (grouped by when it became known, in
        target order); with ``through``, only those whose target interval ended by then (a
        refit's training end: the rows it was trained on)."""
        if not self._pending:
            return
        X = pd.concat([x for x, _ in self._pending])
        y = pd.concat([v for _, v in self._pending])
        targets = targets_of(X)
        known = self.rule.known_at(targets)
        take = known <= pd.Timestamp(origin).as_unit("ns").value
        if through is not None:  # the interval ended by ``through``: it started before
            take &= np.asarray(targets.asi8) < pd.Timestamp(through).as_unit("ns").value
        if not take.any():
            return
        order = np.lexsort((np.asarray(targets.asi8), known))
        order = order[take[order]]
        for at in np.unique(known[order]):
            rows = order[known[order] == at]
            self.absorb(X.iloc[rows], y.iloc[rows])
        rest = np.flatnonzero(~take)
        self._pending = [(X.iloc[rest], y.iloc[rest])] if len(rest) else []

    def run(self, X: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
        """Forecasts of ``X`` origin by origin (in the order of ``X``), each after absorbing the
        rows known by its origin; ``X``'s rows stay pending until they are known."""
        origins = origins_of(X).asi8
        out = pd.DataFrame(index=X.index, columns=QUANTILES, dtype=float)
        for origin in np.unique(origins):
            self.advance(int(origin))
            at = np.flatnonzero(origins == origin)
            out.iloc[at] = self.forecast(X.iloc[at]).to_numpy()
            self._pending.append((X.iloc[at], y.iloc[at]))
        return out

    def finish(self) -> None:
        """Absorb everything still pending: the state a model exported after the walk serves."""
        if self._pending:
            self.advance(pd.Timestamp.max.tz_localize("UTC"))


def walk_forward(
    model: Stepping,
    X: pd.DataFrame,
    y: pd.Series,
    band: ConformalBand | None = None,
    rule: AbsorbRule = WHOLE_DAYS,
) -> pd.DataFrame:
    """P10/P50/P90 of ``model`` over ``X``, one walk (see the module doc); ``attrs["skipped"]``."""
    engine = WalkForward(model, band, rule)
    out = engine.run(X, y)
    out.attrs["skipped"] = engine.skipped
    if engine.skipped:
        log.info("%s: %d outcomes skipped by the online update (gaps/outliers)", model.name,
                 engine.skipped)  # fmt: skip
    return out
