"""State of the Recurrent tab's distance sweep: accuracy against dependency length T per cell, with chance."""
from __future__ import annotations

import numpy as np

from ..figures import Axis, Figure, RefLine, Series
from . import register_state
from .base import TabState
from .recurrent_figures import CELL_COLORS


@register_state
class DistanceState(TabState):
    """Accuracy of every cell at every length T trained so far (NaN points still to train are not drawn)."""

    kinds = ("rnn_distance",)
    figure_names = ("accuracy_by_length",)

    def figure(self, name: str) -> Figure:
        if name != "accuracy_by_length":
            raise KeyError(f"no figure named {name}; this state has: {', '.join(self.figure_names)}")
        return self.accuracy_figure()

    def _task(self) -> str:
        source = self.snapshot if self.snapshot is not None else self.config
        return getattr(source, "task", "") or ""

    def accuracy_figure(self) -> Figure:
        snap = self.snapshot
        task = self._task()
        axes = dict(x=Axis("dependency length T", "time steps"), y=Axis("accuracy"))
        title = "Accuracy against dependency length T" + (f" ({task} task)" if task else "")
        if snap is None:
            cells = ("RNN", "GRU", "LSTM")
            return Figure("accuracy_by_length", title, **axes,
                          series=tuple(Series(c, color=CELL_COLORS[c], symbol="o") for c in cells),
                          hint="Press 'Accuracy against distance…'")
        lengths = np.asarray(snap.lengths, dtype=np.float64)
        axes["y"] = Axis("accuracy", range=(0.0, 1.02))  # fixed once there is data (an empty figure autoscales)
        axes["x"] = Axis("dependency length T", "time steps", log=True,
                         ticks=tuple((float(v), f"{int(v)}") for v in lengths))
        acc = np.asarray(snap.accuracy, dtype=np.float64)
        series, parts = [], []
        for c, cell in enumerate(snap.cells):
            done = np.isfinite(acc[c])
            series.append(Series(cell, lengths[done], acc[c][done], color=CELL_COLORS.get(cell), symbol="o"))
            if done.any():
                j = int(np.flatnonzero(done)[-1])
                parts.append(f"{cell} {acc[c, j]:.0%} at T = {int(lengths[j])}")
        finished, total = int(np.isfinite(acc).sum()), int(acc.size)
        progress = f"training {snap.current}" if finished < total and snap.current else "done"
        caption = f"{finished} of {total} points ({progress})"
        if parts:
            caption += f"; longest T trained: {', '.join(parts)}; chance {snap.chance:.0%}"
        return Figure("accuracy_by_length", f"{title}: {finished} of {total} points ({progress})", **axes,
                      series=tuple(series), lines=(RefLine(float(snap.chance), f"chance {snap.chance:.0%}"),),
                      caption=caption, hint="The first point is training…")
