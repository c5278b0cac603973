"""States of measurement runs (not training): attention's cost against sequence length."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..figures import Axis, Figure, Series, Table
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

    def _groups(self) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        snap = self.snapshot
        if snap is None:
            return []
        labels = list(snap.labels)
        out = []
        for label in dict.fromkeys(labels):
            idx = np.array([i for i, name in enumerate(labels) if name == label])
            out.append((label, np.asarray(snap.lengths)[idx], np.asarray(snap.seconds)[idx],
                        np.asarray(snap.memory)[idx]))
        return out

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
        series = tuple(Series(f"{g[0]} (slope {slopes[g[0]]:.2f})", g[1], g[col], color=i, symbol="o")
                       for i, g in enumerate(groups))
        method = self.snapshot.methods[0] if self.snapshot.methods else ""
        caption = "fitted slopes of log cost on log T over the longer half of the lengths (2 = quadratic, " \
                  "1 = linear): " + "; ".join(f"{k} {v:.2f}" for k, v in slopes.items())
        if not time_fig and method:
            caption += f". Memory {method}"
        caption += f". Device: {self.snapshot.device}."
        return Figure(name, title, x, y, series=series, caption=caption, data=self._table())

    def _table(self) -> Table:
        s = self.snapshot
        return Table(("layer", "sequence length (tokens)", "time of forward + backward (s)", "memory (bytes)",
                      "memory method"),
                     [(label, int(n), float(t), int(m), method) for label, n, t, m, method in
                      zip(s.labels, s.lengths.tolist(), s.seconds.tolist(), s.memory.tolist(), s.methods,
                          strict=True)])

    def verdict_numbers(self) -> dict[str, Any]:
        """The slopes a lesson decides on."""
        return {"time": self.slopes("time"), "memory": self.slopes("memory")}
