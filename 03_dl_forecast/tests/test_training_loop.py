"""The training loop on a tiny synthetic table (early stopping, best weights, refit, pruning
hook, schedules, per-origin batches) and the divergence stop on real sample rows."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from edip_dl.config import SequenceParams
from edip_dl.forecaster import FORECASTERS
from edip_dl.networks import SequenceNet, pinball_loss
from edip_dl.training_loop import (
    ONECYCLE_MIN_STEPS,
    OriginBatches,
    TrainingDivergedError,
    TrainingLoop,
    make_scheduler,
)
from edip_dl.windows import OriginSplit, fit_scaling, split_by_origin, target_step, window_layout

from .conftest import COLUMNS, TINY, synthetic_table

Data = tuple[pd.DataFrame, pd.Series, pd.DataFrame, pd.Series]


def _loop(**knobs: Any) -> tuple[TrainingLoop, OriginSplit]:
    X, y = synthetic_table(days=24)
    origins = pd.DatetimeIndex(X.index.get_level_values("origin"))
    targets = pd.DatetimeIndex(X.index.get_level_values("target_time"))
    Xa, yv = X.to_numpy(np.float32), y.to_numpy(float)
    split = split_by_origin(Xa, yv, origins, targets, target_step(targets), 0.25, "m")
    layout = window_layout(COLUMNS, None, 1.0, "m")
    scaling = fit_scaling(split.X[split.train_rows], split.y[split.train_rows], layout)
    cfg = SequenceParams.model_validate({**TINY, "hidden_size": 4, "head_hidden": 4, **knobs})

    def new_net() -> SequenceNet:
        torch.manual_seed(0)
        return SequenceNet("gru", layout, scaling, hidden=4, layers=1, dropout=0.0, head_hidden=4)

    batches = OriginBatches(split, torch.device("cpu"), amp=False)
    return TrainingLoop("m", cfg, batches, new_net, seed=0), split


def test_early_stopping_keeps_the_best_epoch_and_its_weights() -> None:
    loop, split = _loop(epochs=8, patience=2, learning_rate=0.05)
    seen: list[tuple[int, float]] = []
    stop = loop.early_stopping(split, lambda epoch, val: seen.append((epoch, val)))
    vals = [h["val_loss"] for h in loop.history]
    assert seen == list(enumerate(vals))  # the pruning hook sees every epoch's validation loss
    assert stop.best_epoch == int(np.argmin(vals)) + 1
    assert stop.best_loss == min(vals)
    assert 1 < stop.best_epoch < len(vals) < 8  # stopped: `patience` epochs without progress
    assert len(vals) == stop.best_epoch + 2
    # the best epoch's weights are back: the validation loss is the best one again
    assert loop.validation_loss(stop.net, split.val_origins, 0) == pytest.approx(stop.best_loss)
    assert [h["epoch"] for h in loop.history] == list(range(1, len(vals) + 1))


def test_refit_trains_a_fresh_network_on_every_origin() -> None:
    loop, split = _loop(epochs=2)
    loop.early_stopping(split, None)
    n = len(loop.history)
    net = loop.refit(split.all_origins, 2)
    refit = loop.history[n:]
    assert [h["epoch"] for h in refit] == [n + 1, n + 2]
    assert all(h["refit"] == 1.0 and np.isnan(h["val_loss"]) for h in refit)
    # same seed, same data, same epochs: the refit is reproducible
    again, _ = _loop(epochs=2)
    net2 = again.refit(split.all_origins, 2)
    for a, b in zip(net.state_dict().values(), net2.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_a_raising_hook_stops_training() -> None:
    loop, split = _loop(epochs=5, patience=5)

    def prune(epoch: int, val: float) -> None:
        if epoch == 1:
            raise RuntimeError("pruned")

    with pytest.raises(RuntimeError, match="pruned"):
        loop.early_stopping(split, prune)
    assert len(loop.history) == 2


def test_batches_encode_each_origin_once_and_honour_the_row_mask() -> None:
    loop, split = _loop()
    net = loop.new_net().eval()
    ids = np.array([0, 3])
    with torch.no_grad():
        x = loop.batches.xt
        rows = torch.arange(split.starts[3], split.starts[3] + split.counts[3])
        mask = np.zeros(len(split.X), dtype=bool)
        mask[rows.numpy()] = True  # only origin 3's rows count
        ctx = net.encode(x[rows[:1]]).expand(len(rows), -1)
        q = net.decode_scaled(ctx, x[rows])
        expected = pinball_loss(q, net.scaled_target(loop.batches.yt[rows], x[rows]))
        torch.testing.assert_close(loop.batches.loss(net, ids, mask), expected)
        assert loop.batches.encode(net, ids).shape == (2, 4)


@pytest.mark.parametrize(
    ("schedule", "kind"),
    [
        ("onecycle", torch.optim.lr_scheduler.OneCycleLR),
        ("cosine", torch.optim.lr_scheduler.CosineAnnealingLR),
    ],
)
def test_schedules(schedule: str, kind: type) -> None:
    cfg = SequenceParams.model_validate({"lr_schedule": schedule})
    opt = torch.optim.AdamW(torch.nn.Linear(2, 1).parameters(), lr=cfg.learning_rate)
    sched = make_scheduler(opt, cfg, epochs=3, steps_per_epoch=4)
    assert isinstance(sched, kind)
    if isinstance(sched, torch.optim.lr_scheduler.OneCycleLR):
        assert sched.total_steps == 12
    assert make_scheduler(opt, SequenceParams(lr_schedule="constant"), 3, 4) is None


def test_too_few_steps_for_a_one_cycle_keep_a_constant_rate() -> None:
    """Two epochs of two batches (a short table in big batches): torch's OneCycle would divide
    by zero; the rate stays constant instead."""
    cfg = SequenceParams(lr_schedule="onecycle")
    opt = torch.optim.AdamW(torch.nn.Linear(2, 1).parameters(), lr=cfg.learning_rate)
    for steps in range(1, ONECYCLE_MIN_STEPS):
        assert make_scheduler(opt, cfg, epochs=1, steps_per_epoch=steps) is None
    assert make_scheduler(opt, cfg, epochs=1, steps_per_epoch=ONECYCLE_MIN_STEPS) is not None


def test_nan_loss_stops_training(train_test: Data) -> None:
    X, y, _, _ = train_test
    huge = y * 1e38  # float32 overflow: the scaled target and the loss become inf / NaN
    with pytest.raises(TrainingDivergedError, match="diverged"):
        FORECASTERS["tcn"]({**TINY, "epochs": 1}, seed=0).fit(X, huge)
