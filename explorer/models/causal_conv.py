"""A stack of dilated 1-D convolutions over token sequences (WaveNet, van den Oord et al. 2016).

Layer l convolves its input with a kernel of size k whose taps are d_l positions apart:

    causal:   h_l[t] = sum_j W_j h_{l-1}[t - (k-1-j) d_l]      (only t and earlier: zero padding on the left)
    centred:  h_l[t] = sum_j W_j h_{l-1}[t - p + j d_l]        (p = floor((k-1) d_l / 2), as padding='same')

so the receptive field of a stack is 1 + sum_l (k-1) d_l positions: linear in depth with a constant dilation,
exponential with dilations 1, 2, 4, ... A gated layer computes tanh(W_f * h) ⊙ σ(W_g * h); a residual layer adds
its (1x1-mixed) output to its input.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .dilations import DILATION_KINDS, dilation_schedule  # noqa: F401 (torch-free, re-exported)


def conv_padding(kernel_size: int, dilation: int, causal: bool) -> tuple[int, int]:
    """(left, right) zero padding that keeps the length: all on the left when causal, split when centred."""
    total = (kernel_size - 1) * dilation
    if causal:
        return total, 0
    left = total // 2
    return left, total - left


class DilatedConv1d(nn.Module):
    """One 1-D convolution with dilation and explicit padding (causal: left only; centred: both sides)."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, dilation: int, causal: bool = True):
        super().__init__()
        self.dilation = dilation
        self.padding = conv_padding(kernel_size, dilation, causal)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)  # nn.Conv1d's default

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T) -> (B, C_out, T)."""
        return F.conv1d(F.pad(x, self.padding), self.weight, self.bias, dilation=self.dilation)


class ConvLayer(nn.Module):
    """A dilated convolution with a ReLU or a WaveNet gate, optionally residual (x + 1x1(activation))."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int, dilation: int,
                 causal: bool, gated: bool, residual: bool) -> None:
        super().__init__()
        self.gated = gated
        self.residual = residual and in_channels == channels
        # gated: the filter W_f and the gate W_g stacked as one convolution with 2C outputs
        self.conv = DilatedConv1d(in_channels, 2 * channels if gated else channels, kernel_size, dilation, causal)
        self.mix = nn.Conv1d(channels, channels, 1) if self.residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C_in, T) -> (B, C, T)."""
        h = self.conv(x)
        if self.gated:
            f, g = h.chunk(2, dim=1)
            h = torch.tanh(f) * torch.sigmoid(g)
        else:
            h = torch.relu(h)
        return x + self.mix(h) if self.mix is not None else h


class CausalConvStack(nn.Module):
    """Token ids -> embedding -> dilated conv layers -> (B, T, channels) features, with an optional linear head."""

    def __init__(self, vocab_size: int, channels: int = 32, layers: int = 4, kernel_size: int = 2,
                 dilations: tuple[int, ...] | None = None, residual: bool = True, gated: bool = True,
                 causal: bool = True, embed_dim: int | None = None, out_dim: int | None = None) -> None:
        super().__init__()
        dilations = tuple(dilations) if dilations is not None else dilation_schedule("doubling", layers)
        if len(dilations) != layers:
            raise ValueError(f"{len(dilations)} dilations given for {layers} layers.")
        if kernel_size < 1 or any(d < 1 for d in dilations):
            raise ValueError("The kernel size and every dilation must be at least 1.")
        self.kernel_size, self.dilations, self.causal = kernel_size, dilations, causal
        self.residual, self.gated = residual, gated
        embed_dim = embed_dim or channels
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.layers = nn.ModuleList(
            ConvLayer(embed_dim if i == 0 else channels, channels, kernel_size, d, causal, gated, residual)
            for i, d in enumerate(dilations)
        )
        self.out = nn.Linear(channels, out_dim) if out_dim else None

    @property
    def receptive_field(self) -> int:
        """How many input positions one output sees: 1 + sum (k-1) d."""
        return 1 + sum((self.kernel_size - 1) * d for d in self.dilations)

    def embed(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, E) embedded inputs."""
        return self.embedding(tokens)

    def forward_embedded(self, e: torch.Tensor) -> torch.Tensor:
        """(B, T, E) embedded inputs -> (B, T, C) features (what the effective receptive field differentiates)."""
        x = e.transpose(1, 2)
        for layer in self.layers:
            x = layer(x)
        return x.transpose(1, 2)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, C) features."""
        return self.forward_embedded(self.embed(tokens))

    def logits(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, T) ids -> (B, T, out_dim) through the linear head."""
        if self.out is None:
            raise ValueError("This stack was built without an output head (out_dim).")
        return self.out(self.forward(tokens))
