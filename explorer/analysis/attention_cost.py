"""Time and memory of one sequence layer against sequence length: attention's quadratic cost and its remedies.

Each measurement is one forward and one backward pass (gradients for the layer's weights and its input) of a
single layer on a (batch, length, width) input, timed after a warm-up run; the median of `repeats` runs is kept.

Memory: on CUDA the peak bytes allocated during that pass above what was allocated before it
(torch.cuda.max_memory_allocated). Elsewhere no per-tensor allocator statistics exist, so the figure is analytic:
the float32 bytes of the layer's largest intermediate tensor in the code that runs (the T x T score matrix of
full attention, the T x window blocks of local attention, ...). Each row says which it is.
"""
from __future__ import annotations

import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Sequence

import numpy as np

KINDS = ("full attention", "full attention (fused kernel)", "local attention", "low-rank attention",
         "LSTM layer", "causal conv layer")
MEASURED = "measured: CUDA peak allocated"
ANALYTIC = "analytic: largest intermediate tensor"


@dataclasses.dataclass(frozen=True)
class CostRow:
    """One layer at one length: median seconds of forward + backward, and memory in bytes (see `memory_method`)."""

    kind: str
    label: str
    length: int
    seconds: float
    memory_bytes: int
    memory_method: str


def kind_label(kind: str, window: int = 32, rank: int = 32) -> str:
    """The name of a kind with its size, as shown in a legend."""
    if kind == "local attention":
        return f"local attention (window {window})"
    if kind == "low-rank attention":
        return f"low-rank attention (k = {rank}, not causal)"
    if kind == "causal conv layer":
        return "causal conv layer (kernel 3)"
    return kind


def build_layer(kind: str, width: int, heads: int, max_length: int, window: int, rank: int):
    """A torch module (B, T, width) -> tensor for one kind; attention as in explorer.models.transformer."""
    import torch.nn.functional as F
    from torch import nn

    from ..models.transformer import GPTConfig, MultiHeadAttention

    if kind in ("full attention", "full attention (fused kernel)", "local attention", "low-rank attention"):
        attention = {"local attention": "local", "low-rank attention": "low-rank"}.get(kind, "full")
        cfg = GPTConfig(vocab_size=1, context=max_length, heads=heads, width=width, attention=attention,
                        causal=attention != "low-rank", window=window, rank=rank)
        mha = MultiHeadAttention(cfg)
        fused = kind != "full attention"  # full attention as written materialises the T x T weights

        class Attention(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.mha = mha

            def forward(self, x):
                return self.mha(x, fused=fused)

        return Attention()
    if kind == "LSTM layer":
        class LSTM(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.lstm = nn.LSTM(width, width, batch_first=True)

            def forward(self, x):
                return self.lstm(x)[0]

        return LSTM()
    if kind == "causal conv layer":
        class CausalConv(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.conv = nn.Conv1d(width, width, 3)

            def forward(self, x):
                return self.conv(F.pad(x.transpose(1, 2), (2, 0))).transpose(1, 2)

        return CausalConv()
    raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")


def analytic_bytes(kind: str, length: int, width: int, batch: int, heads: int, window: int, rank: int) -> int:
    """Float32 bytes of the largest intermediate tensor of one forward pass of a kind's layer."""
    qkv = batch * length * 3 * width
    if kind == "full attention":
        largest = max(qkv, batch * heads * length * length)
    elif kind == "local attention":
        padded = math.ceil(length / window) * window
        largest = max(qkv, batch * heads * padded * 2 * window)  # each block of queries x two blocks of keys
    elif kind == "low-rank attention":
        largest = max(qkv, batch * heads * length * rank)
    elif kind == "full attention (fused kernel)":
        largest = qkv  # the kernel works through key blocks and never holds the T x T matrix
    elif kind == "LSTM layer":
        largest = batch * length * 4 * width  # the four gates of every step, kept for backward
    elif kind == "causal conv layer":
        largest = batch * (length + 2) * width  # the padded input
    else:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    return 4 * largest


WARMUP_FIRST = 2  # extra untimed passes before the shortest length (its first timings were 2-20x too slow)


def measure_layer_cost(kind: str, lengths: Sequence[int], width: int = 64, batch: int = 1, repeats: int = 3,
                       device: str = "cpu", progress: Callable[[int, int], None] | None = None,
                       cancelled: Callable[[], bool] | None = None, heads: int = 4, window: int = 32,
                       rank: int = 32, seed: int = 0) -> list[CostRow]:
    """Rows of (length, median seconds of forward + backward, memory) for one layer kind, shortest first.

    progress(done, total) follows each timed run; cancelled() is checked before each, and a cancelled
    measurement returns the rows finished so far.
    """
    import torch

    lengths = sorted(int(n) for n in lengths)
    if not lengths or lengths[0] < 1 or repeats < 1:
        raise ValueError("Give at least one sequence length of 1 or more, and at least one repeat.")
    torch.manual_seed(seed)
    dev = torch.device(device)
    layer = build_layer(kind, width, heads, lengths[-1], window, rank).to(dev)
    cuda = dev.type == "cuda"
    rows: list[CostRow] = []
    total, done = len(lengths) * (repeats + 1), 0

    def run(x):
        out = layer(x)
        out.square().mean().backward()
        layer.zero_grad(set_to_none=True)
        if cuda:
            torch.cuda.synchronize(dev)

    for i, n in enumerate(lengths):
        x = torch.randn(batch, n, width, device=dev, requires_grad=True)
        if i == 0:  # the layer's very first passes pay one-off costs (kernel choice, allocator, lazy imports)
            for _ in range(WARMUP_FIRST):
                run(x)
                x.grad = None
        times = []
        for r in range(repeats + 1):  # the first run warms up (allocations, kernel choice) and is not timed
            if cancelled is not None and cancelled():
                return rows
            if cuda and r == repeats:  # memory of the last run, when workspaces and caches are settled
                torch.cuda.reset_peak_memory_stats(dev)
                base = torch.cuda.memory_allocated(dev)
            t0 = time.perf_counter()
            run(x)
            if r:
                times.append(time.perf_counter() - t0)
            if cuda and r == repeats:
                peak = torch.cuda.max_memory_allocated(dev) - base
            done += 1
            if progress is not None:
                progress(done, total)
            x.grad = None
        if cuda:
            memory, method = int(peak), MEASURED
        else:
            memory, method = analytic_bytes(kind, n, width, batch, heads, window, rank), ANALYTIC
        rows.append(CostRow(kind, kind_label(kind, window, rank), n, statistics.median(times), memory, method))
    return rows


def fitted_slope(lengths: Sequence[float], values: Sequence[float], upper: float = 0.5) -> float:
    """Least-squares slope of log(value) against log(length) over the longest `upper` share of the lengths
    (at least two points), where the asymptotic cost dominates: about 2 for quadratic, 1 for linear growth."""
    n = np.asarray(lengths, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    order = np.argsort(n)
    n, v = n[order], v[order]
    keep = max(2, math.ceil(len(n) * upper))
    if len(n) < 2 or np.any(n[-keep:] <= 0) or np.any(v[-keep:] <= 0):
        raise ValueError("A slope needs at least two positive lengths and values.")
    slope, _ = np.polyfit(np.log(n[-keep:]), np.log(v[-keep:]), 1)
    return float(slope)
