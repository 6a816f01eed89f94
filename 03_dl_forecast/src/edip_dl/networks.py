"""The exported network: scaling, NaN imputation, encoder over the past window, quantile head.

One module from raw contract features to MW quantiles, so that the ONNX graph *is* the model:

* ``features [N, F]`` (contract order) → reference level per row (first non-NaN of
  ``load_last``, ``load_roll_mean_24h``, ``load_roll_mean_168h``, else a training constant);
* past window ``load_window_*`` (chronological) → ``w / ref − 1`` standardised with training
  constants, NaN → 0 plus a missing flag channel → encoder (LSTM, GRU, TCN or Transformer) →
  context vector;
* known-future covariates (calendar, holidays, weather at the target, ``horizon_h``, the other
  load features divided by the reference) standardised with training means/stds, NaN → the
  training mean;
* head(context ⊕ covariates) → P50 and two softplus increments (P10 ≤ P50 ≤ P90 by construction),
  in standardised ``y / ref − 1`` units → multiplied back to MW inside the graph.

Training calls :meth:`SequenceNet.encode` once per origin and :meth:`SequenceNet.decode` on every
row of those origins (the whole horizon at once); :meth:`SequenceNet.forward` is the per-row path
that is exported (batch-independent, dynamic batch axis).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F  # noqa: N812


@dataclass(frozen=True)
class Layout:
    """Which contract columns feed what (indices into ``features``)."""

    window: list[int]  # chronological: oldest first, load_window_000 last
    covariates: list[int]
    load_covariates: list[bool]  # divided by the reference before standardising
    reference: list[int]  # first non-NaN wins


@dataclass(frozen=True)
class Scaling:
    """Constants fitted on training rows only (saved in the module, exported as initialisers)."""

    fallback_reference: float
    window_mean: float
    window_std: float
    cov_mean: np.ndarray
    cov_std: np.ndarray
    target_mean: float
    target_std: float


class _Chomp(nn.Module):
    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, : -self.size] if self.size else x


class _TemporalBlock(nn.Module):
    """Dilated causal convolution (left padding only) with a residual connection."""

    def __init__(self, c_in: int, c_out: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        pad = (kernel - 1) * dilation
        self.net = nn.Sequential(
            nn.Conv1d(c_in, c_out, kernel, padding=pad, dilation=dilation),
            _Chomp(pad),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Conv1d(c_out, c_out, kernel, padding=pad, dilation=dilation),
            _Chomp(pad),
            nn.ReLU(),
            nn.Dropout(dropout),
        )
        self.skip = nn.Conv1d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x) + self.skip(x))


class _SelfAttentionLayer(nn.Module):
    """Pre-norm Transformer encoder layer, written out so it traces to plain ONNX ops."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        if d % heads:
            raise ValueError(f"transformer: hidden_size {d} is not divisible by heads {heads}")
        self.heads = heads
        self.scale = 1.0 / float(np.sqrt(d // heads))
        self.qkv = nn.Linear(d, 3 * d)
        self.out = nn.Linear(d, d)
        self.norm1 = nn.LayerNorm(d)
        self.norm2 = nn.LayerNorm(d)
        self.ff = nn.Sequential(
            nn.Linear(d, 2 * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * d, d)
        )
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t, d = x.shape[1], x.shape[2]
        h = self.heads
        q, k, v = self.qkv(self.norm1(x)).chunk(3, dim=-1)
        q = q.reshape(-1, t, h, d // h).transpose(1, 2)
        k = k.reshape(-1, t, h, d // h).transpose(1, 2)
        v = v.reshape(-1, t, h, d // h).transpose(1, 2)
        att = torch.softmax((q @ k.transpose(-2, -1)) * self.scale, dim=-1)
        y = (self.drop(att) @ v).transpose(1, 2).reshape(-1, t, d)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.ff(self.norm2(x)))


class Encoder(nn.Module):
    """Past sequence ``[N, T, 2]`` → context ``[N, hidden]``."""

    def __init__(
        self,
        arch: str,
        steps: int,
        hidden: int,
        layers: int,
        dropout: float,
        kernel: int = 3,
        heads: int = 4,
    ) -> None:
        super().__init__()
        self.arch = arch
        rnn_dropout = dropout if layers > 1 else 0.0
        if arch == "lstm":
            self.rnn: nn.Module = nn.LSTM(2, hidden, layers, batch_first=True, dropout=rnn_dropout)
        elif arch == "gru":
            self.rnn = nn.GRU(2, hidden, layers, batch_first=True, dropout=rnn_dropout)
        elif arch == "tcn":
            blocks = [
                _TemporalBlock(2 if i == 0 else hidden, hidden, kernel, 2**i, dropout)
                for i in range(layers)
            ]
            self.rnn = nn.Sequential(*blocks)
        elif arch == "transformer":
            self.proj = nn.Linear(2, hidden)
            self.pos = nn.Parameter(torch.zeros(1, steps, hidden))
            nn.init.normal_(self.pos, std=0.02)
            self.rnn = nn.Sequential(
                *[_SelfAttentionLayer(hidden, heads, dropout) for _ in range(layers)]
            )
            self.norm = nn.LayerNorm(hidden)
        else:
            raise ValueError(f"unknown architecture {arch!r}")

    def forward(self, seq: torch.Tensor) -> torch.Tensor:
        if self.arch in ("lstm", "gru"):
            out, _ = self.rnn(seq)
            ctx: torch.Tensor = out[:, -1, :]
        elif self.arch == "tcn":
            ctx = self.rnn(seq.transpose(1, 2))[:, :, -1]
        else:
            z = self.rnn(self.proj(seq) + self.pos)
            ctx = self.norm(z[:, -1, :] + z.mean(dim=1))
        return ctx


class SequenceNet(nn.Module):
    """Contract features ``[N, F]`` → P10/P50/P90 in MW ``[N, 3]`` (see the module doc)."""

    window_idx: torch.Tensor
    cov_idx: torch.Tensor
    cov_is_load: torch.Tensor
    fallback_ref: torch.Tensor
    w_mean: torch.Tensor
    w_std: torch.Tensor
    cov_mean: torch.Tensor
    cov_std: torch.Tensor
    t_mean: torch.Tensor
    t_std: torch.Tensor

    def __init__(
        self,
        arch: str,
        layout: Layout,
        scaling: Scaling,
        *,
        hidden: int,
        layers: int,
        dropout: float,
        head_hidden: int,
        kernel: int = 3,
        heads: int = 4,
        linear_skip: bool = True,
    ) -> None:
        super().__init__()
        self.register_buffer("window_idx", torch.tensor(layout.window, dtype=torch.long))
        self.register_buffer("cov_idx", torch.tensor(layout.covariates, dtype=torch.long))
        self.register_buffer("cov_is_load", torch.tensor(layout.load_covariates, dtype=torch.bool))
        f32 = torch.float32
        self.register_buffer("fallback_ref", torch.tensor(scaling.fallback_reference, dtype=f32))
        self.register_buffer("w_mean", torch.tensor(scaling.window_mean, dtype=f32))
        self.register_buffer("w_std", torch.tensor(scaling.window_std, dtype=f32))
        self.register_buffer("cov_mean", torch.tensor(scaling.cov_mean, dtype=f32))
        self.register_buffer("cov_std", torch.tensor(scaling.cov_std, dtype=f32))
        self.register_buffer("t_mean", torch.tensor(scaling.target_mean, dtype=f32))
        self.register_buffer("t_std", torch.tensor(scaling.target_std, dtype=f32))
        self.ref_cols: list[int] = list(layout.reference)
        self.encoder = Encoder(arch, len(layout.window), hidden, layers, dropout, kernel, heads)
        n_cov = len(layout.covariates)
        self.head = nn.Sequential(
            nn.Linear(hidden + n_cov, head_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(head_hidden, 3),
        )
        # linear path from the covariates and the past window straight to the quantiles: the
        # strong autoregressive/lag baseline is learnt at once, the deep part learns corrections
        self.skip = nn.Linear(n_cov + len(layout.window), 3) if linear_skip else None

    # -- pieces --------------------------------------------------------------------------------
    def reference(self, x: torch.Tensor) -> torch.Tensor:
        """Per-row level ``[N, 1]``: the first finite, positive reference column."""
        ref = self.fallback_ref.expand(x.shape[0])
        for j in reversed(self.ref_cols):
            v = x[:, j]
            ref = torch.where(torch.isnan(v) | (v <= 0), ref, v)
        return ref.unsqueeze(1)

    def sequence(self, x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        """Past window ``[N, T, 2]``: standardised ratio to the reference, missing flag."""
        w = x[:, self.window_idx] / ref - 1.0
        missing = torch.isnan(w)
        z = torch.where(missing, torch.zeros_like(w), (w - self.w_mean) / self.w_std)
        return torch.stack([z, missing.to(z.dtype)], dim=-1)

    def covariates(self, x: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
        c = x[:, self.cov_idx]
        c = torch.where(self.cov_is_load, c / ref, c)
        z = (c - self.cov_mean) / self.cov_std
        return torch.where(torch.isnan(z), torch.zeros_like(z), z)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Context ``[N, hidden]`` of the rows' windows (training: one row per origin)."""
        return self.encoder(self.sequence(x, self.reference(x)))

    def decode_scaled(self, ctx: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Quantiles ``[N, 3]`` in standardised ratio units; never crossing."""
        ref = self.reference(x)
        cov = self.covariates(x, ref)
        o = self.head(torch.cat([ctx, cov], dim=1))
        if self.skip is not None:
            o = o + self.skip(torch.cat([cov, self.sequence(x, ref)[..., 0]], dim=1))
        med = o[:, 1:2]
        return torch.cat([med - F.softplus(o[:, 0:1]), med, med + F.softplus(o[:, 2:3])], dim=1)

    def to_mw(self, q: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.reference(x) * (1.0 + self.t_mean + self.t_std * q)

    def scaled_target(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return (y.unsqueeze(1) / self.reference(x) - 1.0 - self.t_mean) / self.t_std

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """The exported per-row path: contract features → MW quantiles."""
        return self.to_mw(self.decode_scaled(self.encode(features), features), features)


QUANTILE_LEVELS = torch.tensor([0.1, 0.5, 0.9])


def pinball_loss(q: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean pinball loss of P10/P50/P90 ``[N, 3]`` against ``target [N, 1]``."""
    levels = QUANTILE_LEVELS.to(q.device, q.dtype)
    diff = target - q
    return torch.mean(torch.maximum(levels * diff, (levels - 1.0) * diff))
