"""The attention of one model on one text (weights and scores of every layer's heads), pooled for display."""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

MODES = ("weights", "scores")


def display_cap(tiles: int) -> int:
    """How many cells a tile's side may have on screen: 256, fewer when many heads share the plot."""
    return 256 if tiles <= 4 else 128 if tiles <= 16 else 64


def block_max(values: np.ndarray, k: int) -> np.ndarray:
    """(..., T, T) -> (..., ceil(T/k), ceil(T/k)): the largest finite value of each k x k block (NaN if none)."""
    if k <= 1:
        return values
    T = values.shape[-1]
    n = -(-T // k)
    pad = [(0, 0)] * (values.ndim - 2) + [(0, n * k - T), (0, n * k - T)]
    v = np.pad(values.astype(np.float32, copy=False), pad, constant_values=np.nan)
    v = v.reshape((*values.shape[:-2], n, k, n, k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN (masked) block stays NaN
        return np.nanmax(v, axis=(-3, -1))


def head_hit_rates(attention: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """(layers, heads): the share of the queries with a needed key whose largest weight falls on that key."""
    expected = np.asarray(expected)
    rows = np.flatnonzero(expected >= 0)
    attention = np.asarray(attention)
    if rows.size == 0:
        return np.full(attention.shape[:2], np.nan)
    peaks = attention[:, :, rows, :].argmax(-1)  # (layers, heads, queries)
    return (peaks == expected[rows][None, None, :]).mean(-1)


@dataclasses.dataclass
class AttentionView:
    """The attention of one model on one text: weights and scores (layers, heads, T, T), NaN scores = masked.

    `step` is the training step of the model, `text` the typed text ("" for the snapshot's probe)."""

    tokens: tuple[str, ...]
    attention: np.ndarray
    scores: np.ndarray
    source: str
    expected: np.ndarray | None = None
    note: str = ""
    step: int = 0
    text: str = ""
    _pooled: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def length(self) -> int:
        return len(self.tokens)

    @property
    def layers(self) -> int:
        return int(self.attention.shape[0])

    @property
    def heads(self) -> int:
        return int(self.attention.shape[1])

    @property
    def has_masked(self) -> bool:
        """Whether any key is masked (computed once: a long text's scores are large)."""
        if "masked" not in self._pooled:
            self._pooled["masked"] = bool(np.isnan(self.scores).any())
        return self._pooled["masked"]

    def pooled(self, mode: str, cap: int) -> tuple[np.ndarray, int]:
        """Values of `mode` ('weights' or 'scores') at most `cap` cells a side (block maximum), and the factor k.

        Masked cells are NaN in both modes (a block is masked when all of it is)."""
        k = max(1, math.ceil(self.length / cap))
        key = (mode, k)
        if key not in self._pooled:
            if mode == "scores":
                shown = self.scores
            else:
                shown = np.where(np.isnan(self.scores), np.nan, self.attention).astype(np.float32)
            self._pooled[key] = block_max(shown, k)
        return self._pooled[key], k

    def prepare(self, caps: tuple[int, ...]) -> AttentionView:
        """Pool both modes at every cap now (in a worker thread, so that toggling later costs nothing)."""
        for cap in caps:
            for mode in MODES:
                self.pooled(mode, cap)
        _ = self.has_masked
        return self

    def hit_rates(self) -> np.ndarray | None:
        """(layers, heads) share of queries whose peak is on the needed key; None without needed keys."""
        if self.expected is None or not (np.asarray(self.expected) >= 0).any():
            return None
        if "hits" not in self._pooled:
            self._pooled["hits"] = head_hit_rates(self.attention, self.expected)
        return self._pooled["hits"]
