"""States of measurement runs (not training): attention's cost against sequence length."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..figures import Axis, Figure, Series, Table, curve_color
from . import register_state
from .base import TabState


def fitted_slope(lengths: np.ndarray, values: np.ndarray, upper: float = 0.5) -> float:
    """Least-squares slope of log(value) on log(length) over the longest `upper` share (at least 2 points)."""
    order = np.argsort(lengths)
    n, v = np.asarray(lengths, float)[order], np.asarray(values, float)[order]
    keep = max(2, math.ceil(len(n) * upper))
    if len(n) < 2 or np.any(n[-keep:] <= 0) or np.any(v[-keep:] <= 0):
        return float("nan")
    return float(np.polyfit(np.log(n[-keep:]), np.log(v[-keep:]), 1)[0])


@register_state
class AttentionCostState(TabState):
    """Time and memory of one layer against length, per layer kind, on log-log axes with fitted slopes."""

    kinds = ("attention_cost",)
    figure_names = ("time", "memory")

    def _groups(self) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """Per layer: label, lengths, median seconds, memory, fastest and slowest seconds (NaN when not kept)."""
        snap = self.snapshot
        if snap is None:
            return []
        labels = list(snap.labels)
        low, high = self._spread()
        out = []
        for label in dict.fromkeys(labels):
            idx = np.array([i for i, name in enumerate(labels) if name == label])
            out.append((label, np.asarray(snap.lengths)[idx], np.asarray(snap.seconds)[idx],
                        np.asarray(snap.memory)[idx], low[idx], high[idx]))
        return out

    def _spread(self) -> tuple[np.ndarray, np.ndarray]:
        """Fastest and slowest timing of every row (NaN for a run recorded before they were kept)."""
        snap = self.snapshot
        n = len(snap.labels)
        low = np.asarray(getattr(snap, "seconds_low", ()), dtype=np.float64)
        high = np.asarray(getattr(snap, "seconds_high", ()), dtype=np.float64)
        if low.size != n or high.size != n:
            return np.full(n, np.nan), np.full(n, np.nan)
        return low, high

    def slopes(self, which: str = "time") -> dict[str, float]:
        """The fitted growth exponent of each layer (about 2: quadratic, 1: linear) over the longer lengths."""
        col = 2 if which == "time" else 3
        return {g[0]: fitted_slope(g[1], g[col]) for g in self._groups()}

    def figure(self, name: str) -> Figure:
        time_fig = name == "time"
        y = Axis("time of forward + backward", "s", log=True) if time_fig else Axis("memory", "bytes", log=True)
        groups = self._groups()
        lengths = sorted({int(n) for g in groups for n in g[1]})
        x = Axis("sequence length T", "tokens", log=True, ticks=tuple((float(n), str(n)) for n in lengths) or None)
        title = "Time of one layer against sequence length" if time_fig else \
            "Memory of one layer against sequence length"
        if not groups:
            return Figure(name, title, x, y, hint="Run the measurement to see the cost of each layer.")
        col = 2 if time_fig else 3
        slopes = self.slopes(name)
        series = [Series(f"{g[0]} (slope {slopes[g[0]]:.2f})", g[1], g[col], color=curve_color(i), symbol="o")
                  for i, g in enumerate(groups)]
        repeats = int(getattr(self.snapshot, "repeats", 0) or 0)
        if time_fig:  # the spread of the timed runs: a vertical bar from the fastest to the slowest at each length
            for i, g in enumerate(groups):
                if np.all(np.isfinite(g[4])) and np.all(np.isfinite(g[5])):
                    bx = np.repeat(np.asarray(g[1], dtype=np.float64), 3)
                    by = np.column_stack([g[4], g[5], np.full(len(g[4]), np.nan)]).ravel()
                    series.append(Series(f"{g[0]}: fastest to slowest", bx, by, color=curve_color(i), width=1.5,
                                         legend=False))
        method = self.snapshot.methods[0] if self.snapshot.methods else ""
        caption = "fitted slopes of log cost on log T over each layer's longer half of lengths (2 = quadratic, " \
                  "1 = linear): " + "; ".join(f"{k} {v:.2f}" for k, v in slopes.items())
        if time_fig and repeats:
            caption += f". Points: median of {repeats} timed runs; bars: fastest to slowest"
        if not time_fig and method:
            caption += f". Memory {method}"
        caption += f". Device: {self.snapshot.device}."
        return Figure(name, title, x, y, series=tuple(series), caption=caption, data=self._table())

    def _table(self) -> Table:
        s = self.snapshot
        low, high = self._spread()
        return Table(("layer", "sequence length (tokens)", "time of forward + backward, median (s)",
                      "fastest (s)", "slowest (s)", "memory (bytes)", "memory method"),
                     [(label, int(n), float(t), float(lo), float(hi), int(m), method)
                      for label, n, t, lo, hi, m, method in
                      zip(s.labels, s.lengths.tolist(), s.seconds.tolist(), low.tolist(), high.tolist(),
                          s.memory.tolist(), s.methods, strict=True)])

    def verdict_numbers(self) -> dict[str, Any]:
        """The slopes a lesson decides on."""
        return {"time": self.slopes("time"), "memory": self.slopes("memory")}
