"""Bounded curve histories: runs of consecutive points merged into their extremes, in the order they occurred,
so that a long history keeps its shape, its spikes and its global minimum and maximum in a fixed memory."""
from __future__ import annotations

import numpy as np


def extremes_in_order(groups: np.ndarray) -> np.ndarray:
    """(G, 2) from (G, m): each row's smallest and largest value, whichever came first first, NaN ignored.

    A row whose extremes are one value (one finite value, or all equal) gives it once and NaN after it; a row
    of NaN gives two NaN.
    """
    groups = np.asarray(groups, dtype=np.float64)
    finite = ~np.isnan(groups)
    low = np.where(finite, groups, np.inf).argmin(1)
    high = np.where(finite, groups, -np.inf).argmax(1)
    first, second = np.minimum(low, high), np.maximum(low, high)
    rows = np.arange(groups.shape[0])
    out = np.stack([groups[rows, first], groups[rows, second]], axis=1)
    out[first == second, 1] = np.nan
    out[~finite.any(1)] = np.nan
    return out


def ends(groups: np.ndarray) -> np.ndarray:
    """(G, 2) from (G, m): each row's first and last value (the x of a run: it stays sorted where x was)."""
    return np.stack([groups[:, 0], groups[:, -1]], axis=1)


def extreme_points(x: np.ndarray, y: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """Real points of (x, y) with runs of m consecutive points cut to the two at y's extremes (in order); NaN y
    counts as neither. A trailing run shorter than m is kept whole. x stays sorted where it was."""
    n = (x.size // m) * m
    if n == 0:
        return x.copy(), y.copy()
    g = y[:n].reshape(-1, m)
    finite = ~np.isnan(g)
    low = np.where(finite, g, np.inf).argmin(1)
    high = np.where(finite, g, -np.inf).argmax(1)
    low[~finite.any(1)] = m - 1  # a run of NaN keeps its last point (x still advances)
    high[~finite.any(1)] = m - 1
    base = np.arange(g.shape[0]) * m
    first, second = base + np.minimum(low, high), base + np.maximum(low, high)
    keep = np.stack([first, second], axis=1).ravel()
    keep = keep[np.concatenate(([True], np.diff(keep) > 0))]  # one point where both extremes are one
    keep = np.concatenate([keep, np.arange(n, x.size)])
    return x[keep], y[keep]
