"""DL parameters: the ``dl:`` section of ``params.yaml``.

Why a section of its own: DVC's ``train_dl`` stage depends on ``dl`` only, so changing an LSTM knob
re-runs the DL training and not the tree models. :func:`to_ml_params` folds the section into
:class:`edip_ml.config.MLParams` (as extra model sections plus the ``window_h`` feature override),
which is how the sequence models run on the very same backtest, tracking and registry code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field

from edip_ml.config import BASELINES
from edip_ml.hyperparams import ModelParams, Search
from edip_pipeline.config import get_settings

if TYPE_CHECKING:
    from edip_ml.config import MLParams

Architecture = Literal["lstm", "gru", "tcn", "transformer"]
ARCHITECTURES: tuple[str, ...] = ("lstm", "gru", "tcn", "transformer")
Device = Literal["auto", "cpu", "cuda"]


class SequenceParams(ModelParams):
    """Knobs of one sequence forecaster (encoder over the past window + quantile head); the
    ``Search`` ranges are what ``edip train dl --tune N`` samples."""

    hidden_size: Annotated[int, Search(choices=(16, 32, 64))] = Field(
        32, ge=4, description="Encoder width (LSTM/GRU state, TCN channels, d_model)."
    )
    layers: Annotated[int, Search(choices=(1, 2))] = Field(
        1, ge=1, description="Encoder depth (TCN: dilation levels 1, 2, 4, …)."
    )
    dropout: Annotated[float, Search(low=0.0, high=0.3)] = Field(
        0.0,
        ge=0.0,
        lt=1.0,
        description="Dropout in the encoder and the head (CPU dropout is slow; early stopping "
        "and the linear path regularise enough on the sample).",
    )
    learning_rate: Annotated[float, Search(low=1e-3, high=1e-2, log=True)] = Field(
        3e-3, gt=0.0, description="AdamW learning rate."
    )
    weight_decay: float = Field(1e-4, ge=0.0, description="AdamW weight decay.")
    batch_size: Annotated[int, Search(choices=(16, 32, 64))] = Field(
        8, ge=1, description="Forecast origins per batch (each with its whole horizon)."
    )
    epochs: int = Field(12, ge=1, description="Maximum training epochs.")
    patience: int = Field(
        4, ge=1, description="Early stopping: epochs without validation improvement."
    )
    validation_fraction: float = Field(
        0.15,
        gt=0.0,
        lt=0.5,
        description="Last share of training origins held out for early stopping.",
    )
    refit: bool = Field(
        True,
        description="After early stopping, retrain on every row (validation slice included) "
        "for the best epoch count: the most recent history is the most telling.",
    )
    grad_clip: float = Field(1.0, gt=0.0, description="Gradient-norm clipping threshold.")
    window_h: Annotated[int | None, Search(choices=(72, 168))] = Field(
        None,
        ge=1,
        description="Hours of the table's past window the encoder reads (None = all; the "
        "search keeps to choices within dl.window_h).",
    )
    head_hidden: int = Field(64, ge=4, description="Width of the quantile head's hidden layer.")
    linear_skip: bool = Field(
        True,
        description="Add a linear path from covariates and past window to the quantiles "
        "(learns the lag/autoregressive baseline at once; the deep part learns corrections).",
    )
    lr_schedule: Literal["onecycle", "cosine", "constant"] = Field(
        "onecycle",
        description="Learning-rate schedule over the epoch budget (OneCycle warm-up then "
        "annealing, cosine annealing, or constant).",
    )
    kernel_size: int = Field(3, ge=2, description="TCN convolution kernel size.")
    heads: int = Field(
        4, ge=1, description="Transformer attention heads (must divide hidden_size)."
    )
    device: Device = Field("auto", description="auto (CUDA when present, else CPU), cpu or cuda.")
    threads: int | None = Field(
        None,
        ge=1,
        description="torch.set_num_threads on CPU (None = EDIP_FIT_THREADS, 1: the threads of "
        "one model fit, edip_pipeline.runtime).",
    )
    amp: bool = Field(True, description="bfloat16 mixed precision on CUDA (ignored on CPU).")
    max_missing_share: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="A row whose past window is missing more than this share is refused "
        "(window longer than the history) instead of silently imputed.",
    )


class TCNParams(SequenceParams):
    """The TCN: deeper by default (dilation levels 1..32 reach 63 hours back with kernel 3)."""

    layers: Annotated[int, Search(choices=(6, 7))] = Field(
        6, ge=1, description="Dilation levels 1, 2, 4, … (the receptive field grows as 2^layers)."
    )


class TransformerParams(SequenceParams):
    """The transformer: a 72-hour window by default (attention is quadratic in it)."""

    window_h: Annotated[int | None, Search(choices=(72, 168))] = Field(
        72,
        ge=1,
        description="Hours of the table's past window the encoder reads (None = all; the "
        "search keeps to choices within dl.window_h).",
    )


class DLStudyParams(BaseModel):
    """How ``edip train dl --tune N`` runs its Optuna study (the space itself is declared on
    each architecture's params: :class:`SequenceParams`)."""

    storage: str = Field(
        "sqlite:///optuna.db", description="RDB storage (PostgreSQL URL for parallel workers)."
    )
    pruner: Literal["median", "halving"] = Field(
        "median", description="Median pruner or successive halving on per-epoch validation loss."
    )
    epochs: int = Field(8, ge=1, description="Epoch budget of one trial.")


class DLParams(BaseModel):
    """Everything ``edip_dl`` reads from ``params.yaml`` (section ``dl``)."""

    models: list[str] = Field(
        default_factory=list,
        description="Architectures trained by default, written only in params.yaml (dl.models).",
    )
    window_h: int = Field(
        168, ge=1, description="Past-load window of the feature table (FeatureParams.window_h)."
    )
    baselines: list[str] = Field(
        default_factory=lambda: list(BASELINES),
        description="Baselines run beside the DL models in their backtests.",
    )
    lstm: SequenceParams = Field(default_factory=SequenceParams, description="LSTM encoder.")
    gru: SequenceParams = Field(default_factory=SequenceParams, description="GRU encoder.")
    tcn: TCNParams = Field(default_factory=TCNParams, description="TCN (dilated causal conv).")
    transformer: TransformerParams = Field(
        default_factory=TransformerParams, description="Transformer encoder."
    )
    tuning: DLStudyParams = Field(
        default_factory=DLStudyParams, description="How the Optuna study runs."
    )

    def section(self, arch: str) -> SequenceParams:
        if arch not in ARCHITECTURES:
            raise ValueError(f"unknown architecture {arch!r}; known: {list(ARCHITECTURES)}")
        block: SequenceParams = getattr(self, arch)
        return block

    def with_overrides(self, overrides: dict[str, Any]) -> DLParams:
        """A copy with nested overrides, e.g. ``{"lstm": {"epochs": 3}}``."""
        from edip_ml.config import _deep_merge

        return DLParams.model_validate(_deep_merge(self.model_dump(), overrides))

    def for_all(self, **knobs: Any) -> DLParams:
        """The same knobs (epochs, device, …) set on every architecture."""
        knobs = {k: v for k, v in knobs.items() if v is not None}
        return self.with_overrides({a: dict(knobs) for a in ARCHITECTURES}) if knobs else self


def load_dl_params(path: Path | None = None) -> DLParams:
    """Read the ``dl`` section of ``params.yaml``; documented defaults when absent."""
    path = Path(path) if path else get_settings().params_file
    raw: dict[str, Any] = {}
    if path.is_file():
        raw = yaml.safe_load(path.read_text()) or {}
    return DLParams.model_validate(raw.get("dl") or {})


def to_ml_params(dl: DLParams, ml: MLParams | None = None) -> MLParams:
    """``ml`` (default: params.yaml) carrying the DL sections, window and baselines.

    The result drives :mod:`edip_ml`'s backtest, training and registry unchanged: ``hyper("lstm")``
    is the LSTM section, ``feature_params()`` adds ``window_h``.
    """
    from edip_ml.config import load_ml_params

    base = ml or load_ml_params()
    over: dict[str, Any] = {a: dl.section(a).model_dump() for a in ARCHITECTURES}
    over["feature_overrides"] = {"window_h": dl.window_h}
    over["backtest"] = {"baselines": list(dl.baselines)}
    over["models"] = list(dl.models)
    return base.with_overrides(over)
