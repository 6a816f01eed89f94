"""The exported network on tiny synthetic inputs: shapes, non-crossing quantiles, causality of
the TCN, the per-origin training path equal to the exported one, NaN handling, the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from edip_dl.config import ARCHITECTURES
from edip_dl.networks import Encoder, Layout, Scaling, SequenceNet, pinball_loss

#: 6 window steps (columns 0..5), covariates: a reference load level (6) and the hour (7)
LAYOUT = Layout(
    window=[5, 4, 3, 2, 1, 0], covariates=[6, 7], load_covariates=[True, False], reference=[6]
)
SCALING = Scaling(
    fallback_reference=50_000.0,
    window_mean=0.0,
    window_std=0.1,
    cov_mean=np.array([1.0, 12.0], dtype=np.float32),
    cov_std=np.array([0.1, 7.0], dtype=np.float32),
    target_mean=0.0,
    target_std=0.1,
)


def _features(n: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = 50_000.0 * (1.0 + 0.1 * torch.randn(n, 8, generator=g))
    x[:, 7] = torch.randint(0, 24, (n,), generator=g).float()
    return x


def _net(arch: str, **kw: object) -> SequenceNet:
    torch.manual_seed(0)
    args: dict[str, object] = {"hidden": 8, "layers": 2, "dropout": 0.0, "head_hidden": 8}
    return SequenceNet(arch, LAYOUT, SCALING, **{**args, "heads": 2, **kw}).eval()  # type: ignore[arg-type]


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_quantiles_in_mw_never_cross_and_match_the_training_path(arch: str) -> None:
    net = _net(arch)
    x = _features(5)
    with torch.no_grad():
        q = net(x)
        assert q.shape == (5, 3)
        assert torch.isfinite(q).all()
        assert (q[:, 0] <= q[:, 1]).all()
        assert (q[:, 1] <= q[:, 2]).all()
        assert 1_000.0 < float(q[:, 1].abs().mean()) < 1e6  # MW, not standardised units
        assert net.encode(x).shape == (5, 8)
        # training decodes the rows of an origin from its context: the same numbers
        trained = net.to_mw(net.decode_scaled(net.encode(x), x), x)
        torch.testing.assert_close(trained, q)
        # batch-independent: one row alone gives its row of the batch
        torch.testing.assert_close(net(x[2:3]), q[2:3], rtol=1e-5, atol=1e-3)


def test_tcn_is_causal_and_recurrent_encoders_read_the_last_step() -> None:
    torch.manual_seed(0)
    tcn = Encoder("tcn", steps=6, hidden=4, layers=2, dropout=0.0).eval()
    seq = torch.randn(3, 6, 2)
    later = seq.clone()
    later[:, -1, :] += 5.0  # only the most recent step changes
    with torch.no_grad():
        full = tcn.rnn(seq.transpose(1, 2))
        moved = tcn.rnn(later.transpose(1, 2))
        # outputs up to the step before the change do not see it: no look-ahead
        torch.testing.assert_close(full[:, :, :-1], moved[:, :, :-1])
        assert not torch.allclose(full[:, :, -1], moved[:, :, -1])
        for arch in ("lstm", "gru", "transformer"):
            enc = Encoder(arch, steps=6, hidden=4, layers=1, dropout=0.0, heads=2).eval()
            assert not torch.allclose(enc(seq), enc(later)), arch


def test_missing_values_are_imputed_in_graph() -> None:
    net = _net("gru")
    x = _features(4)
    x[0, 0:3] = float("nan")  # half the past window
    x[1, 7] = float("nan")  # a covariate
    x[2, 6] = float("nan")  # the reference: the training fallback level is used
    with torch.no_grad():
        q = net(x)
    assert torch.isfinite(q).all()
    seq = net.sequence(x, net.reference(x))
    assert seq.shape == (4, 6, 2)
    assert seq[0, :, 1].tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]  # the missing flag channel
    assert float(net.reference(x)[2, 0]) == 50_000.0


def test_linear_skip_is_optional_and_bad_shapes_are_refused() -> None:
    assert _net("lstm").skip is not None
    assert _net("lstm", linear_skip=False).skip is None
    with pytest.raises(ValueError, match="not divisible by heads"):
        _net("transformer", hidden=6, heads=4)
    with pytest.raises(ValueError, match="unknown architecture"):
        Encoder("mamba", steps=6, hidden=4, layers=1, dropout=0.0)


def test_pinball_loss_weights_the_quantiles() -> None:
    target = torch.tensor([[1.0]])
    assert float(pinball_loss(torch.tensor([[1.0, 1.0, 1.0]]), target)) == 0.0
    # every quantile 1 below the target: 0.1, 0.5, 0.9 → mean 0.5
    assert float(pinball_loss(torch.zeros(1, 3), target)) == pytest.approx(0.5)
    # every quantile 1 above: 0.9, 0.5, 0.1 → mean 0.5; P10 above costs more than P90 above
    above = pinball_loss(torch.tensor([[2.0, 1.0, 1.0]]), target)
    assert float(above) == pytest.approx(0.9 / 3)
