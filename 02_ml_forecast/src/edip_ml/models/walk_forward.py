"""The one walk-forward engine: origin by origin, absorb the days that are over, then forecast.

Every origin-by-origin replay of EDIP is this engine: ``edip backtest`` (every model, fold after
fold, the band running across refits), the combination's ML-Poly over its experts' backtest
forecasts (:mod:`edip_ml.models.aggregation`), promotion's evaluation of the served ONNX files and
the live loop's daily ``update`` (one :meth:`WalkForward.absorb` of the served model,
:mod:`edip_ml.models.online`). So what is evaluated is literally what is served.

The rule, shared by all of them:

* a **Paris day** is absorbed once it is over by the origin (its last target interval ended:
  ``day end <= origin``), whole and in target order — the live loop's ``update`` absorbs
  yesterday every morning, so the backtest does exactly that and nothing earlier;
* absorbing a day: first the conformal band (:class:`edip_pipeline.conformal.ConformalBand`)
  learns the day's residuals against the P50 the state gives for those rows just before, then the
  model's online state absorbs the rows (Kalman effects, ML-Poly weights; a static model absorbs
  nothing, its band still learns). A gap or an outlier is skipped (and counted), never absorbed;
* then the origin's rows are forecast: the model's P10/P50/P90, the band's P10/P90 where its hour
  has enough residuals.

A model may change between origins (a refit: :attr:`WalkForward.model` is replaced): the days
still pending are absorbed with the model current when they become known, which was not trained
on them (a refit trains on the days over by its first origin).
"""

from __future__ import annotations

import logging
from typing import Protocol

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


class WalkForward:
    """One walk: a model (replaceable), its band, the rows forecast but not yet absorbed."""

    def __init__(self, model: Stepping, band: ConformalBand | None = None) -> None:
        self.model = model
        self.band = band
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
        """Absorb outcomes (one day, rows in target order): the band, then the model; returns
        how many rows the model skipped (gaps, outliers)."""
        if not len(X):
            return 0
        if self.band is not None:
            p50 = self.model.predict(X)["p50"].to_numpy(dtype=float)
            self.band.update(p50, y.to_numpy(dtype=float), paris_hours(targets_of(X)))
        skipped = int(np.sum(self.model.absorb(X, y)))
        self.skipped += skipped
        return skipped

    def advance(self, origin: pd.Timestamp | int) -> None:
        """Absorb every pending day over by ``origin`` (whole days, in target order)."""
        if not self._pending:
            return
        X = pd.concat([x for x, _ in self._pending])
        y = pd.concat([v for _, v in self._pending])
        ends = day_ends(targets_of(X))
        cut = pd.Timestamp(origin).as_unit("ns").value
        known = ends <= cut
        if not known.any():
            return
        order = np.lexsort((np.asarray(targets_of(X).asi8), ends))
        order = order[known[order]]
        for end in np.unique(ends[order]):
            rows = order[ends[order] == end]
            self.absorb(X.iloc[rows], y.iloc[rows])
        rest = np.flatnonzero(~known)
        self._pending = [(X.iloc[rest], y.iloc[rest])] if len(rest) else []

    def run(self, X: pd.DataFrame, y: pd.Series) -> pd.DataFrame:
        """Forecasts of ``X`` origin by origin (in the order of ``X``), each after absorbing the
        days over by its origin; ``X``'s rows stay pending until their day is over."""
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
    model: Stepping, X: pd.DataFrame, y: pd.Series, band: ConformalBand | None = None
) -> pd.DataFrame:
    """P10/P50/P90 of ``model`` over ``X``, one walk (see the module doc); ``attrs["skipped"]``."""
    engine = WalkForward(model, band)
    out = engine.run(X, y)
    out.attrs["skipped"] = engine.skipped
    if engine.skipped:
        log.info("%s: %d outcomes skipped by the online update (gaps/outliers)", model.name,
                 engine.skipped)  # fmt: skip
    return out
