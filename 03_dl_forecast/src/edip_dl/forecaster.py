"""Sequence forecasters (LSTM, GRU, TCN, Transformer) behind :class:`edip_ml.models.base.Forecaster`.

Why a ``Forecaster`` subclass: the ML backtest, metrics, ``publish()`` (export → parity → MLflow →
registry), ``edip promote`` and the reports then work unchanged for DL. What differs:

* quantiles come from pinball-loss heads (P10/P50/P90, non-crossing), so ``offsets`` stay zero;
* training groups rows by origin: the encoder runs once per origin and the head emits that
  origin's whole horizon in one pass; the last ``validation_fraction`` of origins (strictly after
  every training target) drives early stopping and keeps the best epoch;
* scaling constants are fitted on the training rows only and live inside the exported module;
* a NaN/inf loss stops training with :class:`TrainingDivergedError` (nothing is registered);
* ONNX export is ``torch.onnx.export`` of the same module (:meth:`export_onnx`), with the contract
  metadata of :mod:`edip_ml.onnx_export`.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd
import torch

from edip_dl.config import SequenceParams
from edip_dl.device import resolve_device
from edip_dl.networks import Layout, Scaling, SequenceNet, pinball_loss
from edip_ml.config import DEFAULT_TARGET_REFERENCE
from edip_ml.models.base import Forecaster, ModelError
from edip_pipeline.features.load import WINDOW_PREFIX

if TYPE_CHECKING:
    import onnx

log = logging.getLogger(__name__)

#: ``on_epoch(epoch, validation_loss)``: Optuna's pruning hook (may raise ``TrialPruned``)
EpochCallback = Callable[[int, float], None]
ONNX_OPSET = 17


class TrainingDivergedError(ModelError):
    """The loss became NaN or infinite: the model is unusable and must not be registered."""


def _finite_stats(values: np.ndarray) -> tuple[float, float]:
    v = values[np.isfinite(values)]
    if not len(v):
        return 0.0, 1.0
    sd = float(np.std(v))
    return float(np.mean(v)), sd if sd > 1e-6 else 1.0


class SequenceForecaster(Forecaster):
    """Encoder over the past load window + quantile head; see the module doc."""

    name: ClassVar[str] = "sequence"
    arch: ClassVar[str] = "lstm"
    family: ClassVar[str] = "torch"
    handles_nan: ClassVar[bool] = True

    def __init__(self, params: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.config = SequenceParams.model_validate(params or {})
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

    # -- columns ------------------------------------------------------------------------------
    def _layout(self, columns: list[str], step_h: float) -> Layout:
        window_all = sorted(c for c in columns if c.startswith(WINDOW_PREFIX))
        if not window_all:
            raise ModelError(
                f"{self.name}: no past-load window columns ({WINDOW_PREFIX}*) in the features; "
                "build them with FeatureParams.window_h > 0 (dl.window_h in params.yaml)"
            )
        n = len(window_all)
        if self.config.window_h is not None:
            n = max(1, round(self.config.window_h / step_h))
            if n > len(window_all):
                raise ModelError(
                    f"{self.name}: window_h={self.config.window_h} h is longer than the "
                    f"{len(window_all)}-step window of the feature table"
                )
        window = window_all[:n]
        cov = [c for c in columns if not c.startswith(WINDOW_PREFIX)]
        ref = [c for c in DEFAULT_TARGET_REFERENCE if c in columns]
        pos = {c: i for i, c in enumerate(columns)}
        return Layout(
            window=[pos[c] for c in reversed(window)],
            covariates=[pos[c] for c in cov],
            load_covariates=[c.startswith("load_") and "diff" not in c for c in cov],
            reference=[pos[c] for c in ref],
        )

    def _check_inputs(self, Xa: np.ndarray, layout: Layout, what: str) -> None:
        if np.isinf(Xa).any():
            bad = sorted({self.feature_names[j] for j in np.nonzero(np.isinf(Xa))[1]})
            raise ModelError(f"{self.name}: infinite values in the {what} features {bad[:5]}")
        if not len(Xa):
            return
        missing = np.isnan(Xa[:, layout.window]).mean(axis=1)
        over = missing > self.config.max_missing_share
        if over.any():
            raise ModelError(
                f"{self.name}: {int(over.sum())} of {len(Xa)} {what} rows miss more than "
                f"{self.config.max_missing_share:.0%} of their {len(layout.window)}-step past "
                "window: the window is longer than the load history available at their "
                "origin (shorten window_h or give more history)"
            )

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
        cfg = self.config
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
        step = _target_step(targets)
        layout = self._layout(self.feature_names, step / pd.Timedelta(hours=1))
        Xa = X.to_numpy(dtype=np.float32)
        self._check_inputs(Xa, layout, "training")

        order = np.argsort(origins.asi8, kind="stable")
        Xa, yv = Xa[order], yv[order]
        origins, targets = origins[order], targets[order]
        uniq, first, counts = np.unique(origins.asi8, return_index=True, return_counts=True)
        n_val = max(1, round(len(uniq) * cfg.validation_fraction))
        if len(uniq) - n_val < 10:
            raise ModelError(f"{self.name}: too few forecast origins to train ({len(uniq)})")
        val_start = pd.Timestamp(uniq[-n_val], tz="UTC")
        # training rows: labels known before the first validation origin (no overlap)
        is_val_origin = origins.asi8 >= uniq[-n_val]
        train_rows = np.asarray(~is_val_origin & (targets + step <= val_start))
        val_rows = np.asarray(is_val_origin)
        self.split = {
            "train_first_target": targets[train_rows].min().isoformat(),
            "train_end": (targets[train_rows].max() + step).isoformat(),
            "validation_start": val_start.isoformat(),
            "validation_end": (targets[val_rows].max() + step).isoformat(),
        }

        # scaling constants: training rows only
        tr = Xa[train_rows]
        ref_tr = _reference_np(tr, layout.reference, float(np.mean(yv[train_rows])))
        w_mean, w_std = _finite_stats((tr[:, layout.window] / ref_tr[:, None] - 1.0).ravel())
        cov = tr[:, layout.covariates].astype(float)
        is_load = np.asarray(layout.load_covariates)
        cov[:, is_load] = cov[:, is_load] / ref_tr[:, None]
        stats = [_finite_stats(cov[:, j]) for j in range(cov.shape[1])]
        t_mean, t_std = _finite_stats(yv[train_rows] / ref_tr - 1.0)
        scaling = Scaling(
            fallback_reference=float(np.mean(yv[train_rows])),
            window_mean=w_mean,
            window_std=w_std,
            cov_mean=np.array([s[0] for s in stats], dtype=np.float32),
            cov_std=np.array([s[1] for s in stats], dtype=np.float32),
            target_mean=t_mean,
            target_std=t_std,
        )

        device = resolve_device(cfg.device)
        self.device_used = device.type
        if device.type == "cpu":
            torch.set_num_threads(cfg.threads)
        amp = cfg.amp and device.type == "cuda"
        xt = torch.from_numpy(np.ascontiguousarray(Xa)).to(device)
        yt = torch.from_numpy(yv.astype(np.float32)).to(device)
        # origins of the training part (those with at least one training row)
        row_origin = np.repeat(np.arange(len(uniq)), counts)
        train_origin_ids = np.unique(row_origin[train_rows])
        val_origin_ids = np.unique(row_origin[val_rows])
        starts = first

        def new_net() -> tuple[SequenceNet, torch.optim.Optimizer]:
            torch.manual_seed(self.seed)
            net = SequenceNet(
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
            opt = torch.optim.AdamW(
                net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
            )
            return net, opt

        def batch_loss(
            net: SequenceNet, origin_ids: np.ndarray, rows_mask: np.ndarray | None
        ) -> torch.Tensor:
            rows = np.concatenate([np.arange(starts[o], starts[o] + counts[o]) for o in origin_ids])
            local = np.repeat(np.arange(len(origin_ids)), counts[origin_ids])
            if rows_mask is not None:
                keep = rows_mask[rows]
                rows, local = rows[keep], local[keep]
            rows_t = torch.from_numpy(rows).to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                ctx = net.encode(xt[torch.from_numpy(starts[origin_ids]).to(device)])
                xr = xt[rows_t]
                q = net.decode_scaled(ctx[torch.from_numpy(local).to(device)], xr)
            return pinball_loss(q.float(), net.scaled_target(yt[rows_t], xr))

        def train_epoch(
            net: SequenceNet,
            opt: torch.optim.Optimizer,
            sched: torch.optim.lr_scheduler.LRScheduler | None,
            origin_ids: np.ndarray,
            rows_mask: np.ndarray | None,
            rng: np.random.Generator,
            epoch: int,
        ) -> float:
            net.train()
            perm = rng.permutation(origin_ids)
            total, n_batches = 0.0, 0
            for b in range(0, len(perm), cfg.batch_size):
                loss = batch_loss(net, perm[b : b + cfg.batch_size], rows_mask)
                if not torch.isfinite(loss):
                    raise TrainingDivergedError(
                        f"{self.name}: training diverged (loss {loss.item()} at epoch {epoch + 1}, "
                        f"batch {n_batches + 1}); lower the learning rate — nothing is registered"
                    )
                opt.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.grad_clip)
                opt.step()
                if sched is not None:
                    sched.step()
                total += float(loss.item())
                n_batches += 1
            return total / n_batches

        # 1) early stopping on the validation origins picks the epoch count
        net, opt = new_net()
        np_rng = np.random.default_rng(self.seed)
        sched = _scheduler(opt, cfg, cfg.epochs, -(-len(train_origin_ids) // cfg.batch_size))
        self.history = []
        best = float("inf")
        best_state: dict[str, torch.Tensor] | None = None
        stale = 0
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            train_loss = train_epoch(net, opt, sched, train_origin_ids, train_rows, np_rng, epoch)
            net.eval()
            with torch.no_grad():
                val = float(batch_loss(net, val_origin_ids, None).item())
            if not np.isfinite(val):
                raise TrainingDivergedError(
                    f"{self.name}: validation loss is {val} at epoch {epoch + 1}: training "
                    "diverged — nothing is registered"
                )
            seconds = time.perf_counter() - t0
            self.history.append(
                {"epoch": epoch + 1, "train_loss": train_loss, "val_loss": val, "seconds": seconds}
            )
            log.debug(
                "%s epoch %d: train %.4f val %.4f (%.1fs)",
                self.name,
                epoch + 1,
                train_loss,
                val,
                seconds,
            )
            if val < best - 1e-6:
                best, stale, self.best_epoch = val, 0, epoch + 1
                best_state = copy.deepcopy(net.state_dict())
            else:
                stale += 1
            if on_epoch is not None:
                on_epoch(epoch, val)
            if stale >= cfg.patience:
                log.info(
                    "%s: early stop at epoch %d (best %d)", self.name, epoch + 1, self.best_epoch
                )
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        # 2) refit on every row (validation slice included: the most recent history matters
        # most) for the chosen number of epochs, as the tree models refit after calibration
        if cfg.refit and self.best_epoch:
            all_origins = np.unique(row_origin)
            net, opt = new_net()
            rng = np.random.default_rng(self.seed)
            steps = -(-len(all_origins) // cfg.batch_size)
            sched = _scheduler(opt, cfg, self.best_epoch, steps)
            for epoch in range(self.best_epoch):
                t0 = time.perf_counter()
                loss = train_epoch(net, opt, sched, all_origins, None, rng, epoch)
                self.history.append(
                    {
                        "epoch": len(self.history) + 1,
                        "train_loss": loss,
                        "val_loss": float("nan"),
                        "seconds": time.perf_counter() - t0,
                        "refit": 1.0,
                    }
                )
        self.net = net.cpu().eval()
        log.info(
            "%s: %d epochs on %s, best validation pinball %.4f at epoch %s%s",
            self.name,
            len(self.history),
            device.type,
            best,
            self.best_epoch,
            ", refitted on all rows" if cfg.refit else "",
        )
        return self

    # -- predict ------------------------------------------------------------------------------
    def _predict_array(self, Xa: np.ndarray) -> np.ndarray:
        if self.net is None:
            raise ModelError(f"{self.name}: not fitted")
        layout_window = self.net.window_idx.numpy().tolist()
        self._check_inputs(Xa, Layout(layout_window, [], [], []), "prediction")
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

    # -- export and logging hooks (called by edip_ml.onnx_export / edip_ml.tracking) -----------
    def export_onnx(self) -> onnx.ModelProto:
        """The module as a contract ONNX graph (dynamic batch axis, opset 17)."""
        import onnx

        from edip_ml.onnx_export import feature_params_metadata
        from edip_ml.onnx_wrap import contract_metadata
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


def _scheduler(
    opt: torch.optim.Optimizer, cfg: SequenceParams, epochs: int, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """Per-batch learning-rate schedule over the whole epoch budget (early stopping may cut it)."""
    total = max(1, epochs * steps_per_epoch)
    if cfg.lr_schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.learning_rate, total_steps=total, pct_start=0.25
        )
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    return None


def _reference_np(X: np.ndarray, ref_cols: list[int], fallback: float) -> np.ndarray:
    """NumPy twin of :meth:`SequenceNet.reference` (scaling statistics only)."""
    ref = np.full(len(X), fallback, dtype=float)
    for j in reversed(ref_cols):
        v = X[:, j].astype(float)
        ok = np.isfinite(v) & (v > 0)
        ref = np.where(ok, v, ref)
    return ref


def _target_step(targets: pd.DatetimeIndex) -> pd.Timedelta:
    diffs = np.diff(np.unique(targets.asi8))
    return pd.Timedelta(int(diffs.min())) if len(diffs) else pd.Timedelta("1h")


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


class TransformerForecaster(SequenceForecaster):
    """Transformer encoder (pre-norm self-attention, learnt positions) over the past window."""

    name: ClassVar[str] = "transformer"
    arch: ClassVar[str] = "transformer"


FORECASTERS: dict[str, type[SequenceForecaster]] = {
    cls.name: cls for cls in (LSTMForecaster, GRUForecaster, TCNForecaster, TransformerForecaster)
}
