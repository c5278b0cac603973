"""Receptive fields of stacked dilated 1-D convolutions in theory (numpy only; the gradient-based measure of a
model is in explorer.analysis.conv_probe).

Positions are numbered 0..length-1 in every layer; level 0 is the input, level l the output of layer l. Layer l
(dilation d_l) connects position p of level l to the positions p + o of level l-1, for its tap offsets
o = j d_l - left, j = 0..k-1, with left = (k-1) d_l (causal) or floor((k-1) d_l / 2) (centred). A position
outside 0..length-1 is zero padding: it carries no dependency, so paths through it do not count. A residual
layer adds the identity edge (offset 0) once more. Without `length` the sequence is taken as unbounded to the
right (the left edge, position 0, always exists). The dilation schedules themselves are part of the model:
explorer.models.dilations.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _check(kernel_size: int, dilations: Sequence[int]) -> tuple[int, ...]:
    if kernel_size < 1:
        raise ValueError(f"The kernel size must be at least 1 (got {kernel_size}).")
    dils = tuple(int(d) for d in dilations)
    if any(d < 1 for d in dils):
        raise ValueError(f"Every dilation must be at least 1 (got {dils}).")
    return dils


def layer_offsets(kernel_size: int, dilation: int, causal: bool = True, residual: bool = False) -> np.ndarray:
    """The input offsets (relative to the output position) of one layer's taps, with multiplicity."""
    total = (kernel_size - 1) * dilation
    left = total if causal else total // 2
    offs = np.arange(kernel_size, dtype=np.int64) * dilation - left
    return np.append(offs, 0) if residual else offs


def receptive_field_size(kernel_size: int, dilations: Sequence[int]) -> int:
    """How many consecutive input positions one output spans: 1 + sum (k-1) d."""
    return 1 + sum((kernel_size - 1) * d for d in _check(kernel_size, dilations))


def sizes_by_depth(kernel_size: int, dilations: Sequence[int]) -> np.ndarray:
    """Receptive-field size after 1, 2, ..., L layers (int64, length L)."""
    dils = np.asarray(_check(kernel_size, dilations), dtype=np.int64)
    return 1 + np.cumsum((kernel_size - 1) * dils)


def sizes_without_dilation(kernel_size: int, layers: int) -> np.ndarray:
    """sizes_by_depth for the same depth with every dilation 1 (linear growth), to compare."""
    return sizes_by_depth(kernel_size, (1,) * layers)


def _span(kernel_size: int, dilations: tuple[int, ...], t: int, length: int | None) -> int:
    if length is None:
        length = t + receptive_field_size(kernel_size, dilations)  # beyond the furthest reach to the right
    if not 0 <= t < length:
        raise ValueError(f"The output position {t} is outside the sequence 0..{length - 1}.")
    return length


def _level_counts(kernel_size: int, dilations: Sequence[int], t: int, length: int | None,
                  causal: bool, residual: bool) -> list[np.ndarray]:
    """Paths from each position of every level (0 = input .. L) up to output t of the top level."""
    dils = _check(kernel_size, dilations)
    n = _span(kernel_size, dils, t, length)
    counts = np.zeros(n, dtype=np.int64)
    counts[t] = 1
    levels = [counts]
    for d in reversed(dils):
        below = np.zeros(n, dtype=np.int64)
        for o in layer_offsets(kernel_size, d, causal, residual):
            dst = np.arange(max(0, -o), min(n, n - o))  # positions whose source dst + o is inside the sequence
            below[dst + o] += counts[dst]
        counts = below
        levels.append(counts)
    return levels[::-1]


def path_counts(kernel_size: int, dilations: Sequence[int], t: int, length: int,
                causal: bool = True, residual: bool = False) -> np.ndarray:
    """(length,) number of distinct paths from each input position to output t through all layers."""
    return _level_counts(kernel_size, dilations, t, length, causal, residual)[0]


def receptive_field_set(kernel_size: int, dilations: Sequence[int], t: int, causal: bool = True,
                        length: int | None = None, residual: bool = False) -> np.ndarray:
    """The sorted input positions that output t depends on (both sides of t for the centred variant)."""
    return np.flatnonzero(_level_counts(kernel_size, dilations, t, length, causal, residual)[0] > 0)


def _edges(offsets: np.ndarray, dst: np.ndarray, n: int) -> np.ndarray:
    """(src, dst) pairs from level l to level l+1 for the given destinations, sorted by dst then src."""
    offs = np.unique(offsets)
    src = dst[:, None] + offs[None, :]
    pairs = np.stack([src, np.broadcast_to(dst[:, None], src.shape)], axis=-1).reshape(-1, 2)
    return pairs[(pairs[:, 0] >= 0) & (pairs[:, 0] < n)]


def connection_edges(kernel_size: int, dilations: Sequence[int], t: int, length: int,
                     causal: bool = True, residual: bool = False) -> list[np.ndarray]:
    """Per layer l (0 = input -> layer 1), the (E, 2) int64 (src, dst) edges that lie on a path to output t."""
    levels = _level_counts(kernel_size, dilations, t, length, causal, residual)
    return [
        _edges(layer_offsets(kernel_size, d, causal, residual), np.flatnonzero(levels[i + 1] > 0), length)
        for i, d in enumerate(_check(kernel_size, dilations))
    ]


def all_edges(kernel_size: int, dilations: Sequence[int], length: int,
              causal: bool = True, residual: bool = False) -> list[np.ndarray]:
    """Per layer, every (src, dst) edge of the full connection graph over `length` positions (the faded view)."""
    dst = np.arange(length, dtype=np.int64)
    return [_edges(layer_offsets(kernel_size, d, causal, residual), dst, length)
            for d in _check(kernel_size, dilations)]
