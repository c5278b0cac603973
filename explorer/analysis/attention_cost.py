"""Time and memory of one sequence layer against sequence length: attention's quadratic cost and its remedies.

Each measurement is one forward and one backward pass (gradients for the layer's weights and its input) of a
single layer on a (batch, length, width) input. After one untimed warm-up round over every length, `repeats`
timed rounds each time every length once, so that a burst of load on a shared machine falls on all lengths
alike rather than on the last ones; the median of each length's timings is kept, with their minimum and maximum.
On the CPU the timings run on one torch thread: on a shared machine two threads wait on each other at every
parallel region, and medians wandered 100x (a full-attention pass at T = 128 took 1.5 ms or 380 ms); the growth
with T, not the absolute speed, is what is measured.

The lecture's three remedies each have a kind: a different structure of the weights (local attention: each query
sees a window of keys), a low-rank approximation (Linformer: keys and values projected to `rank` rows) and
downsampling the sequence length (the sequence average-pooled to `pooled` positions, full attention among them,
each position then given its segment's output; the factor T / pooled grows with T, which is what makes the cost
linear: pooling by a fixed factor s only divides the quadratic cost by s²).

Memory: on CUDA the peak bytes allocated during that pass above what was allocated before it
(torch.cuda.max_memory_allocated). Elsewhere no per-tensor allocator statistics exist, so the figure is analytic:
the float32 bytes of the layer's largest intermediate tensor in the code that runs (the T x T score matrix of
full attention, the T x window blocks of local attention, ...). Each row says which it is.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

KINDS = ("full attention", "full attention (fused kernel)", "local attention", "low-rank attention",
         "downsampled attention", "LSTM layer", "causal conv layer")
REMEDIES = ("local attention", "low-rank attention", "downsampled attention")  # the lecture's three, in its order
MEASURED = "measured: CUDA peak allocated"
ANALYTIC = "analytic: largest intermediate tensor"


@dataclasses.dataclass(frozen=True)
class CostRow:
    """One layer at one length: median seconds of forward + backward (and the fastest and slowest of the timed
    runs), and memory in bytes (see `memory_method`)."""

    kind: str
    label: str
    length: int
    seconds: float
    memory_bytes: int
    memory_method: str
    seconds_low: float = math.nan
    seconds_high: float = math.nan
    repeats: int = 1


def kind_label(kind: str, window: int = 32, rank: int = 32, pooled: int = 32) -> str:
    """The name of a kind with its size, as shown in a legend."""
    if kind == "downsampled attention":
        return f"downsampled attention (pooled to {pooled}, not causal)"
    if kind == "local attention":
        return f"local attention (window {window})"
    if kind == "low-rank attention":
        return f"low-rank attention (k = {rank}, not causal)"
    if kind == "causal conv layer":
        return "causal conv layer (kernel 3)"
    return kind


def build_layer(kind: str, width: int, heads: int, max_length: int, window: int, rank: int, pooled: int = 32):
    """A torch module (B, T, width) -> tensor for one kind; attention as in explorer.models.transformer."""
    import torch.nn.functional as F
    from torch import nn

    from ..models.transformer import GPTConfig, MultiHeadAttention

    if kind == "downsampled attention":
        class Downsampled(nn.Module):
            """Average-pool T positions into `pooled` segments, attend among them, give each position its
            segment's output (nearest-neighbour upsampling back to T)."""

            def __init__(self) -> None:
                super().__init__()
                self.mha = MultiHeadAttention(GPTConfig(vocab_size=1, context=pooled, heads=heads, width=width,
                                                        causal=False))

            def forward(self, x):
                T = x.shape[1]
                short = F.adaptive_avg_pool1d(x.transpose(1, 2), min(pooled, T)).transpose(1, 2)
                y = self.mha(short, fused=False)  # as written: the pooled x pooled weights are materialised
                return F.interpolate(y.transpose(1, 2), size=T, mode="nearest").transpose(1, 2)

        return Downsampled()

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


def analytic_bytes(kind: str, length: int, width: int, batch: int, heads: int, window: int, rank: int,
                   pooled: int = 32) -> int:
    """Float32 bytes of the largest intermediate tensor of one forward pass of a kind's layer."""
    qkv = batch * length * 3 * width
    if kind == "downsampled attention":
        m = min(pooled, length)
        largest = max(batch * length * width, batch * m * 3 * width, batch * heads * m * m)  # the output is T long
    elif kind == "full attention":
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


@contextlib.contextmanager
def single_thread(device: str) -> Iterator[None]:
    """On the CPU, run the block with one torch thread and give back the count there was; elsewhere do nothing."""
    import torch

    before = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


WARMUP_FIRST = 2  # extra untimed passes before the shortest length (its first timings were 2-20x too slow)


def measure_layer_cost(kind: str, lengths: Sequence[int], width: int = 64, batch: int = 1, repeats: int = 3,
                       device: str = "cpu", progress: Callable[[int, int], None] | None = None,
                       cancelled: Callable[[], bool] | None = None, heads: int = 4, window: int = 32,
                       rank: int = 32, seed: int = 0, pooled: int = 32) -> list[CostRow]:
    """Rows of (length, median seconds of forward + backward, their min and max, memory) for one layer kind,
    shortest first.

    One untimed warm-up round over every length, then `repeats` timed rounds, each over every length in turn.
    progress(done, total) follows each run; cancelled() is checked before each, and a cancelled measurement
    returns the rows of the lengths timed at least once so far.
    """
    import torch

    lengths = sorted(int(n) for n in lengths)
    if not lengths or lengths[0] < 1 or repeats < 1:
        raise ValueError("Give at least one sequence length of 1 or more, and at least one repeat.")
    torch.manual_seed(seed)
    dev = torch.device(device)
    layer = build_layer(kind, width, heads, lengths[-1], window, rank, pooled).to(dev)
    cuda = dev.type == "cuda"
    times: dict[int, list[float]] = {n: [] for n in lengths}
    peaks: dict[int, int] = {}
    inputs = {n: torch.randn(batch, n, width, device=dev, requires_grad=True) for n in lengths}

    def run(x):
        out = layer(x)
        out.square().mean().backward()
        layer.zero_grad(set_to_none=True)
        x.grad = None
        if cuda:
            torch.cuda.synchronize(dev)

    with single_thread(device):
        return _timed_rounds(run, inputs, lengths, repeats, cuda, progress, cancelled, times, peaks,
                             lambda: _rows(kind, lengths, times, peaks, width, batch, heads, window, rank, pooled))


def _timed_rounds(run, inputs, lengths, repeats, cuda, progress, cancelled, times, peaks, rows):
    """The warm-up passes, then rounds over the lengths; `rows()` gives the rows of what was timed."""
    import torch

    dev = inputs[lengths[0]].device
    done, total = 0, len(lengths) * (repeats + 1)
    for _ in range(WARMUP_FIRST):  # the layer's very first passes pay one-off costs (kernel choice, allocator)
        run(inputs[lengths[0]])
    for r in range(repeats + 1):  # round 0 warms up every length (allocations, kernel choice) and is not timed
        for n in lengths:
            if cancelled is not None and cancelled():
                return rows()
            if cuda and r == repeats:  # memory of the last run, when workspaces and caches are settled
                torch.cuda.reset_peak_memory_stats(dev)
                base = torch.cuda.memory_allocated(dev)
            t0 = time.perf_counter()
            run(inputs[n])
            if r:
                times[n].append(time.perf_counter() - t0)
            if cuda and r == repeats:
                peaks[n] = int(torch.cuda.max_memory_allocated(dev) - base)
            done += 1
            if progress is not None:
                progress(done, total)
    return rows()


def _rows(kind, lengths, times, peaks, width, batch, heads, window, rank, pooled) -> list[CostRow]:
    """One row per length timed at least once: median, min and max of its timings, and its memory."""
    rows = []
    label = kind_label(kind, window, rank, pooled)
    for n in lengths:
        t = times[n]
        if not t:
            continue
        if n in peaks:
            memory, method = peaks[n], MEASURED
        else:
            memory, method = analytic_bytes(kind, n, width, batch, heads, window, rank, pooled), ANALYTIC
        rows.append(CostRow(kind, label, n, statistics.median(t), memory, method, min(t), max(t), len(t)))
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
