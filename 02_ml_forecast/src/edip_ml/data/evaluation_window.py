"""The evaluation window held out of training: one rule for ``edip train``, ``edip promote`` and
the loop's ``retrain``.

Why: the promotion gate decides what is served, so it must judge a challenger on days it never
saw. The window is the last ``ml.promotion.eval_window_days`` complete Paris days (or the days
ending at a given day); training stops the day before it. ``edip train`` without ``--end`` ends
there (:func:`default_train_end`), the weekly ``retrain`` does the same at the loop's now, every
registered version records its training period (:func:`tag_training_period`), and ``edip
promote`` refuses a challenger whose training period covers its window
(:func:`check_out_of_sample`, :class:`OverlapError`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pandas as pd

from edip_pipeline.calendar import PARIS, paris_day

if TYPE_CHECKING:
    from mlflow import MlflowClient

    from edip_pipeline.store import Store

log = logging.getLogger(__name__)

#: version tags of the training period (first and last target day, Paris, inclusive)
TRAIN_START_TAG = "edip.train_start"
TRAIN_END_TAG = "edip.train_end"


class OverlapError(RuntimeError):
    """The challenger was trained on days of its evaluation window: its score would be in-sample.

    (A plain error, not :class:`~edip_ml.registry.versions.RegistryError`: this module imports nothing of
    ``edip_ml``, so the training data may use it without an import cycle.)
    """


@dataclass(frozen=True)
class HeldOutWindow:
    """Paris days ``first_day``..``last_day`` (naive, inclusive) that training must not reach."""

    first_day: pd.Timestamp
    last_day: pd.Timestamp

    @property
    def train_end(self) -> pd.Timestamp:
        """The last day a model judged on this window may be trained on."""
        return self.first_day - pd.Timedelta(days=1)

    def covered_by(self, train_end: pd.Timestamp) -> bool:
        """Whether a training period ending ``train_end`` reaches into the window."""
        return train_end >= self.first_day

    def describe(self) -> str:
        return f"{self.first_day.date()}..{self.last_day.date()}"


def window_ending(last_day: pd.Timestamp | str, days: int) -> HeldOutWindow:
    """The ``days`` Paris days ending with ``last_day``."""
    if days < 1:
        raise ValueError(f"an evaluation window needs at least one day, got {days}")
    last = paris_day(last_day)
    return HeldOutWindow(last - pd.Timedelta(days=days - 1), last)


def last_complete_day(load_last: pd.Timestamp) -> pd.Timestamp:
    """The last Paris day whose every half-hour is known, given the last stored load instant."""
    end_excl = (load_last + pd.Timedelta("30min")).tz_convert(PARIS)
    return end_excl.normalize().tz_localize(None) - pd.Timedelta(days=1)


def store_last_day(store: Store, end_day: pd.Timestamp | str | None = None) -> pd.Timestamp | None:
    """``end_day`` as a Paris day, or the store's last complete day of national load (``None``:
    the store holds none)."""
    if end_day is not None:
        return paris_day(end_day)
    last = store.last_timestamp("load_national", "consumption_mw")
    return None if last is None else last_complete_day(last)


def default_train_end(last_day: pd.Timestamp, days: int) -> pd.Timestamp:
    """Where training stops when no end is given: the day before the window ending ``last_day``."""
    window = window_ending(last_day, days)
    log.info(
        "training ends %s: %s is held out for `edip promote` (ml.promotion.eval_window_days=%d; "
        "--end overrides)",
        window.train_end.date(),
        window.describe(),
        days,
    )
    return window.train_end


def training_period_tags(start: pd.Timestamp, end: pd.Timestamp) -> dict[str, str]:
    """The version tags recording a training period."""
    return {TRAIN_START_TAG: str(start.date()), TRAIN_END_TAG: str(end.date())}


class _Registered(Protocol):
    ok: bool
    version: str | None


def tag_training_period(
    results: Sequence[_Registered],
    model_name: str,
    start: pd.Timestamp,
    end: pd.Timestamp,
    client: MlflowClient | None = None,
) -> None:
    """Record the training period on every version a training batch registered."""
    from mlflow import MlflowClient

    c = client or MlflowClient()
    for result in results:
        if result.ok and result.version is not None:
            for key, value in training_period_tags(start, end).items():
                c.set_model_version_tag(model_name, result.version, key, value)


def recorded_train_end(client: MlflowClient, model_name: str, version: str) -> pd.Timestamp | None:
    """The last training day a version recorded (its tag, else its run's ``train_end`` param)."""
    mv = client.get_model_version(model_name, version)
    value = mv.tags.get(TRAIN_END_TAG)
    if value is None and mv.run_id:
        value = client.get_run(mv.run_id).data.params.get("train_end")
    return paris_day(value) if value else None


def check_out_of_sample(
    client: MlflowClient,
    model_name: str,
    version: str,
    window: HeldOutWindow,
    *,
    allow_overlap: bool = False,
) -> pd.Timestamp | None:
    """Raise :class:`OverlapError` when ``version`` was trained on days of ``window``.

    Returns the recorded training end (``None``: the version records none, e.g. one published
    outside ``edip train``; it is judged with a warning). ``allow_overlap`` only logs.
    """
    train_end = recorded_train_end(client, model_name, version)
    if train_end is None:
        log.warning("v%s records no training period: cannot prove %s is out-of-sample",
                    version, window.describe())  # fmt: skip
    elif window.covered_by(train_end):
        reason = (
            f"challenger v{version} was trained up to {train_end.date()}, inside its evaluation "
            f"window {window.describe()}: train with the default end (it holds the window out) "
            f"or --end {window.train_end.date()}"
        )
        if not allow_overlap:
            raise OverlapError(reason)
        log.warning("%s — judged in-sample anyway (--allow-overlap)", reason)
    return train_end
