"""The training loop of the sequence forecasters: per-origin batches, epochs, early stopping on
the validation origins, then the optional refit on every row.

Why per origin: the encoder runs once per forecast origin and the head emits that origin's whole
horizon, so a batch is a set of origins (with all their rows), not of rows. A NaN/inf loss stops
training with :class:`TrainingDivergedError`: such a model must never be registered.
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from edip_dl.config import SequenceParams
from edip_dl.networks import SequenceNet, pinball_loss
from edip_dl.windows import OriginSplit
from edip_ml.models.base import ModelError

log = logging.getLogger(__name__)

#: ``on_epoch(epoch, validation_loss)``: Optuna's pruning hook (may raise ``TrialPruned``)
EpochCallback = Callable[[int, float], None]
Scheduler = torch.optim.lr_scheduler.LRScheduler


class TrainingDivergedError(ModelError):
    """The loss became NaN or infinite: the model is unusable and must not be registered."""


#: fewest optimiser steps a OneCycle schedule runs over (else a constant rate)
ONECYCLE_MIN_STEPS = 8


def make_scheduler(
    opt: torch.optim.Optimizer, cfg: SequenceParams, epochs: int, steps_per_epoch: int
) -> Scheduler | None:
    """Per-batch learning-rate schedule over the whole epoch budget (early stopping may cut it).

    OneCycle needs a few steps to warm up and anneal (torch divides by zero when its warm-up is
    a single step: a short table in big batches, as a tuning trial may sample): below
    :data:`ONECYCLE_MIN_STEPS` the rate stays constant.
    """
    total = max(1, epochs * steps_per_epoch)
    if cfg.lr_schedule == "onecycle" and total >= ONECYCLE_MIN_STEPS:
        return torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.learning_rate, total_steps=total, pct_start=0.25
        )
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    return None


class OriginBatches:
    """The sorted rows on the device; the pinball loss of any set of origins."""

    def __init__(self, split: OriginSplit, device: torch.device, amp: bool) -> None:
        self.xt = torch.from_numpy(np.ascontiguousarray(split.X)).to(device)
        self.yt = torch.from_numpy(split.y.astype(np.float32)).to(device)
        self.starts, self.counts = split.starts, split.counts
        self.device, self.amp = device, amp

    def loss(
        self, net: SequenceNet, origin_ids: np.ndarray, rows_mask: np.ndarray | None
    ) -> torch.Tensor:
        """Encode each origin once, decode all its rows (those of ``rows_mask`` when given)."""
        starts, counts, device = self.starts, self.counts, self.device
        rows = np.concatenate([np.arange(starts[o], starts[o] + counts[o]) for o in origin_ids])
        local = np.repeat(np.arange(len(origin_ids)), counts[origin_ids])
        if rows_mask is not None:
            keep = rows_mask[rows]
            rows, local = rows[keep], local[keep]
        rows_t = torch.from_numpy(rows).to(device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=self.amp):
            ctx = self.encode(net, origin_ids)
            xr = self.xt[rows_t]
            q = net.decode_scaled(ctx[torch.from_numpy(local).to(device)], xr)
        return pinball_loss(q.float(), net.scaled_target(self.yt[rows_t], xr))

    def encode(self, net: SequenceNet, origin_ids: np.ndarray) -> torch.Tensor:
        """Context of each origin, from its first row (every row of an origin shares the window)."""
        return net.encode(self.xt[torch.from_numpy(self.starts[origin_ids]).to(self.device)])


@dataclass
class EarlyStop:
    """What early stopping chose: the restored best network, its loss and epoch (1-based)."""

    net: SequenceNet
    best_loss: float
    best_epoch: int | None


@dataclass
class TrainingLoop:
    """Epochs of one forecaster: ``new_net`` builds a freshly seeded network (on the device)."""

    name: str
    cfg: SequenceParams
    batches: OriginBatches
    new_net: Callable[[], SequenceNet]
    seed: int
    history: list[dict[str, float]] = field(default_factory=list)

    def _start(
        self, epochs: int, n_origins: int
    ) -> tuple[SequenceNet, torch.optim.Optimizer, Scheduler | None]:
        cfg = self.cfg
        net = self.new_net()
        opt = torch.optim.AdamW(
            net.parameters(), lr=cfg.learning_rate, weight_decay=cfg.weight_decay
        )
        sched = make_scheduler(opt, cfg, epochs, -(-n_origins // cfg.batch_size))
        return net, opt, sched

    def train_epoch(
        self,
        net: SequenceNet,
        opt: torch.optim.Optimizer,
        sched: Scheduler | None,
        origin_ids: np.ndarray,
        rows_mask: np.ndarray | None,
        rng: np.random.Generator,
        epoch: int,
    ) -> float:
        """One pass over shuffled origin batches; the mean batch loss."""
        cfg = self.cfg
        net.train()
        perm = rng.permutation(origin_ids)
        total, n_batches = 0.0, 0
        for b in range(0, len(perm), cfg.batch_size):
            loss = self.batches.loss(net, perm[b : b + cfg.batch_size], rows_mask)
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

    def validation_loss(self, net: SequenceNet, origin_ids: np.ndarray, epoch: int) -> float:
        """Pinball loss of the validation origins (all their rows); refuses NaN/inf."""
        net.eval()
        with torch.no_grad():
            val = float(self.batches.loss(net, origin_ids, None).item())
        if not np.isfinite(val):
            raise TrainingDivergedError(
                f"{self.name}: validation loss is {val} at epoch {epoch + 1}: training "
                "diverged — nothing is registered"
            )
        return val

    def early_stopping(self, split: OriginSplit, on_epoch: EpochCallback | None) -> EarlyStop:
        """Train on the training rows, keep the best validation epoch, stop after ``patience``
        epochs without improvement; the best weights are restored."""
        cfg = self.cfg
        train_ids, val_ids = split.train_origins, split.val_origins
        net, opt, sched = self._start(cfg.epochs, len(train_ids))
        rng = np.random.default_rng(self.seed)
        best, best_epoch, stale = float("inf"), None, 0
        best_state: dict[str, torch.Tensor] | None = None
        for epoch in range(cfg.epochs):
            t0 = time.perf_counter()
            train_loss = self.train_epoch(net, opt, sched, train_ids, split.train_rows, rng, epoch)
            val = self.validation_loss(net, val_ids, epoch)
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
                best, stale, best_epoch = val, 0, epoch + 1
                best_state = copy.deepcopy(net.state_dict())
            else:
                stale += 1
            if on_epoch is not None:
                on_epoch(epoch, val)
            if stale >= cfg.patience:
                log.info("%s: early stop at epoch %d (best %d)", self.name, epoch + 1, best_epoch)
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        return EarlyStop(net, best, best_epoch)

    def refit(self, origin_ids: np.ndarray, epochs: int) -> SequenceNet:
        """A fresh network trained on every row of ``origin_ids`` for ``epochs`` (no validation:
        the most recent history matters most, as the tree models refit after calibration)."""
        net, opt, sched = self._start(epochs, len(origin_ids))
        rng = np.random.default_rng(self.seed)
        for epoch in range(epochs):
            t0 = time.perf_counter()
            loss = self.train_epoch(net, opt, sched, origin_ids, None, rng, epoch)
            self.history.append(
                {
                    "epoch": len(self.history) + 1,
                    "train_loss": loss,
                    "val_loss": float("nan"),
                    "seconds": time.perf_counter() - t0,
                    "refit": 1.0,
                }
            )
        return net
