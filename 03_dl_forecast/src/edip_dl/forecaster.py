"""Sequence forecasters (LSTM, GRU, TCN, Transformer) behind :class:`edip_ml.models.base.Forecaster`.

Why a ``Forecaster`` subclass: the ML backtest, metrics, ``publish()`` (export → parity → MLflow →
registry), ``edip promote`` and the reports then work unchanged for DL. What differs:

* quantiles come from pinball-loss heads (P10/P50/P90, non-crossing), so ``offsets`` stay zero;
* training groups rows by origin: the encoder runs once per origin and the head emits that
  origin's whole horizon in one pass; the last ``validation_fraction`` of origins (strictly after
  every training target) drives early stopping and keeps the best epoch
  (:mod:`edip_dl.windows` splits and scales, :mod:`edip_dl.training_loop` trains);
* scaling constants are fitted on the training rows only and live inside the exported module;
* a NaN/inf loss stops training with :class:`edip_dl.training_loop.TrainingDivergedError`
  (nothing is registered);
* ONNX export is ``torch.onnx.export`` of the same module (:meth:`export_onnx`), with the contract
  metadata of :mod:`edip_ml.export.onnx_export`.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import torch

from edip_dl.config import SequenceParams, TCNParams, TransformerParams
from edip_dl.device import resolve_device
from edip_dl.networks import Layout, Scaling, SequenceNet
from edip_dl.training_loop import EpochCallback, OriginBatches, TrainingLoop
from edip_dl.windows import (
    OriginSplit,
    check_rows,
    fit_scaling,
    split_by_origin,
    target_step,
    window_layout,
)
from edip_ml.models.base import FIT_COUNTS, Forecaster, ModelError
from edip_pipeline.runtime import fit_threads

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

ONNX_OPSET = 17


class SequenceForecaster(Forecaster):
    """Encoder over the past load window + quantile head; see the module doc."""

    name: ClassVar[str] = "sequence"
    arch: ClassVar[str] = "lstm"
    family: ClassVar[str] = "torch"
    handles_nan: ClassVar[bool] = True
    params_class: ClassVar[type[SequenceParams]] = SequenceParams

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.config = self.params_class.model_validate(params or {})
        super().__init__(self.config.model_dump(), seed)
        self.net: SequenceNet | None = None
        self.history: list[dict[str, float]] = []
        self.split: dict[str, str] = {}
        self.best_epoch: int | None = None
        self.device_used: str = "cpu"

    # -- the abstract hooks: fit/predict are overridden as a whole ---------------------------
    def _fit_median(self, X: np.ndarray, y: np.ndarray) -> None:
        raise ModelError(f"{self.name}: sequence models are fitted through fit()")

    def _predict_median(self, X: np.ndarray) -> np.ndarray:
        return self._predict_array(X)[:, 1]

    # -- fit ----------------------------------------------------------------------------------
    def fit(
        self,
        X: pd.DataFrame,
        y: pd.Series,
        calibration_fraction: float = 0.15,
        *,
        on_epoch: EpochCallback | None = None,
    ) -> SequenceForecaster:
        """Train with early stopping on the last origins (``calibration_fraction`` unused)."""
        FIT_COUNTS[self.name] += 1
        cfg = self.config
        split, layout = self._training_rows(X, y)
        self.split = split.bounds
        scaling = fit_scaling(split.X[split.train_rows], split.y[split.train_rows], layout)
        device = self._training_device()
        batches = OriginBatches(split, device, amp=cfg.amp and device.type == "cuda")
        self.history = []
        loop = TrainingLoop(
            self.name,
            cfg,
            batches,
            lambda: self._new_network(layout, scaling, device),
            self.seed,
            self.history,
        )
        # 1) early stopping on the validation origins picks the epoch count
        stop = loop.early_stopping(split, on_epoch)
        self.best_epoch, net = stop.best_epoch, stop.net
        # 2) refit on every row (validation slice included) for the chosen number of epochs
        if cfg.refit and self.best_epoch:
            net = loop.refit(split.all_origins, self.best_epoch)
        self.net = net.cpu().eval()
        log.info(
            "%s: %d epochs on %s, best validation pinball %.4f at epoch %s%s",
            self.name,
            len(self.history),
            device.type,
            stop.best_loss,
            self.best_epoch,
            ", refitted on all rows" if cfg.refit else "",
        )
        return self

    def _training_rows(self, X: pd.DataFrame, y: pd.Series) -> tuple[OriginSplit, Layout]:
        """Checked training rows, sorted and split by origin, and the column layout."""
        yv = y.to_numpy(dtype=float)
        if np.isnan(yv).any() or np.isinf(yv).any():
            raise ModelError(
                f"{self.name}: NaN or inf in the target ({int((~np.isfinite(yv)).sum())} rows)"
            )
        if len(X) < 100:
            raise ModelError(f"{self.name}: too little history to train ({len(X)} rows < 100)")
        if not isinstance(X.index, pd.MultiIndex) or "origin" not in X.index.names:
            raise ModelError(f"{self.name}: training rows need an (origin, target_time) index")
        self.feature_names = list(X.columns)
        origins = pd.DatetimeIndex(X.index.get_level_values("origin"))
        targets = pd.DatetimeIndex(X.index.get_level_values("target_time"))
        step = target_step(targets)
        layout = window_layout(
            self.feature_names, self.config.window_h, step / pd.Timedelta(hours=1), self.name
        )
        Xa = X.to_numpy(dtype=np.float32)
        self._check_rows(Xa, layout.window, "training")
        split = split_by_origin(
            Xa, yv, origins, targets, step, self.config.validation_fraction, self.name
        )
        return split, layout

    def _check_rows(self, Xa: np.ndarray, window: list[int], what: str) -> None:
        check_rows(Xa, window, self.feature_names, self.config.max_missing_share, self.name, what)

    def _training_device(self) -> torch.device:
        device = resolve_device(self.config.device)
        self.device_used = device.type
        if device.type == "cpu":
            torch.set_num_threads(self.config.threads or fit_threads())
        return device

    def _new_network(self, layout: Layout, scaling: Scaling, device: torch.device) -> SequenceNet:
        """A network seeded with ``self.seed``: the early-stopping run and the refit start alike."""
        cfg = self.config
        torch.manual_seed(self.seed)
        return SequenceNet(
            self.arch,
            layout,
            scaling,
            hidden=cfg.hidden_size,
            layers=cfg.layers,
            dropout=cfg.dropout,
            head_hidden=cfg.head_hidden,
            kernel=cfg.kernel_size,
            heads=cfg.heads,
            linear_skip=cfg.linear_skip,
        ).to(device)

    # -- predict ------------------------------------------------------------------------------
    def _predict_array(self, Xa: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise ModelError(f"{self.name}: not fitted")
        self._check_rows(Xa, self.net.window_idx.numpy().tolist(), "prediction")
        out = []
        with torch.no_grad():
            for b in range(0, len(Xa), 4096):
                # a copy: the rows may be a read-only view (parquet / pandas), torch wants writable
                out.append(self.net(torch.tensor(Xa[b : b + 4096])).numpy())
        return np.concatenate(out).astype(float) if out else np.zeros((0, 3))

    def predict(self, X: pd.DataFrame) -> pd.DataFrame:
        """P10/P50/P90 in MW (columns ``p10, p50, p90``), index of ``X``."""
        q = self._predict_array(self._matrix(X))
        return pd.DataFrame(q, index=X.index, columns=["p10", "p50", "p90"])

    # -- export and logging hooks (called by edip_ml.export.onnx_export / edip_ml.registry.tracking) -----------
    def export_onnx(self) -> onnx.ModelProto:
        """The module as a contract ONNX graph (dynamic batch axis, opset 17)."""
        import onnx

        from edip_ml.export.onnx_export import feature_params_metadata
        from edip_ml.export.onnx_wrap import contract_metadata
        from edip_pipeline.contract import ONNX_INPUT, ONNX_OUTPUT

        if self.net is None:
            raise ModelError(f"{self.name}: not fitted")
        buf = io.BytesIO()
        example = torch.zeros(2, len(self.feature_names), dtype=torch.float32)
        torch.onnx.export(
            self.net.eval(),
            (example,),
            buf,  # type: ignore[arg-type]  # a file-like object works
            input_names=[ONNX_INPUT],
            output_names=[ONNX_OUTPUT],
            dynamic_axes={ONNX_INPUT: {0: "batch"}, ONNX_OUTPUT: {0: "batch"}},
            opset_version=ONNX_OPSET,
            dynamo=False,
        )
        model = onnx.load_from_string(buf.getvalue())
        model.producer_name = "edip_dl"
        model.doc_string = (
            f"EDIP day-ahead load forecaster {self.name} ({self.arch}): P10/P50/P90 in MW"
        )
        meta = contract_metadata(self.feature_names, self.name, np.asarray(self.offsets))
        meta.update(feature_params_metadata(self))
        meta["edip_family"] = self.family
        meta["architecture"] = self.arch
        del model.metadata_props[:]
        onnx.helper.set_model_props(model, meta)
        onnx.checker.check_model(model, full_check=True)
        return model

    def describe(self) -> dict[str, Any]:
        """Architecture, hyper-parameters, split and training curves (JSON)."""
        return {
            "architecture": self.arch,
            "params": self.config.model_dump(),
            "seed": self.seed,
            "feature_names": self.feature_names,
            "split": self.split,
            "best_epoch": self.best_epoch,
            "device": self.device_used,
            "history": self.history,
            "n_parameters": sum(p.numel() for p in self.net.parameters()) if self.net else 0,
        }

    def log_native(self, tmpdir: Path) -> str | None:
        """Inside the MLflow run: state_dict + config, the training curves (metrics + plot)."""
        import mlflow
        import plotly.graph_objects as go

        if self.net is None:
            raise ModelError(f"{self.name}: not fitted")
        state = tmpdir / f"{self.name}_state_dict.pt"
        torch.save(self.net.state_dict(), state)
        config = tmpdir / f"{self.name}_config.json"
        config.write_text(json.dumps(self.describe(), indent=2, default=str))
        mlflow.log_artifact(str(state), artifact_path="model")
        mlflow.log_artifact(str(config), artifact_path="model")
        for h in self.history:
            step = int(h["epoch"])
            mlflow.log_metric("train_loss", h["train_loss"], step=step)
            if np.isfinite(h["val_loss"]):  # refit epochs have no validation slice
                mlflow.log_metric("val_loss", h["val_loss"], step=step)
            mlflow.log_metric("epoch_seconds", h["seconds"], step=step)
        mlflow.set_tags(
            {
                "edip.architecture": self.arch,
                "edip.device": self.device_used,
                "edip.best_epoch": str(self.best_epoch),
                **{f"edip.split.{k}": v for k, v in self.split.items()},
            }
        )
        epochs = [h["epoch"] for h in self.history]
        fig = go.Figure(
            [
                go.Scatter(x=epochs, y=[h["train_loss"] for h in self.history], name="train"),
                go.Scatter(x=epochs, y=[h["val_loss"] for h in self.history], name="validation"),
            ]
        )
        fig.update_layout(title=f"{self.name}: pinball loss per epoch", xaxis_title="epoch")
        curves = tmpdir / "training_curves.html"
        fig.write_html(str(curves), include_plotlyjs=True)
        mlflow.log_artifact(str(curves), artifact_path="plots")
        return None


class LSTMForecaster(SequenceForecaster):
    """LSTM encoder over the past window."""

    name: ClassVar[str] = "lstm"
    arch: ClassVar[str] = "lstm"


class GRUForecaster(SequenceForecaster):
    """GRU encoder over the past window."""

    name: ClassVar[str] = "gru"
    arch: ClassVar[str] = "gru"


class TCNForecaster(SequenceForecaster):
    """Temporal convolutional network: dilated causal convolutions (dilations 1, 2, 4, …)."""

    name: ClassVar[str] = "tcn"
    arch: ClassVar[str] = "tcn"
    params_class: ClassVar[type[SequenceParams]] = TCNParams


class TransformerForecaster(SequenceForecaster):
    """Transformer encoder (pre-norm self-attention, learnt positions) over the past window."""

    name: ClassVar[str] = "transformer"
    arch: ClassVar[str] = "transformer"
    params_class: ClassVar[type[SequenceParams]] = TransformerParams


FORECASTERS: dict[str, type[SequenceForecaster]] = {
    cls.name: cls for cls in (LSTMForecaster, GRUForecaster, TCNForecaster, TransformerForecaster)
}
