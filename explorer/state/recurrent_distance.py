"""State of the Recurrent tab's distance sweep: accuracy against dependency length T per cell, with chance, and
how much of the gradient reaches the first step, before and after training."""
from __future__ import annotations

import numpy as np

from ..figures import Axis, Figure, RefLine, Series, Table
from ..training.jobs.rnn_job import gru_variant_text, task_title
from . import register_state
from .base import TabState
from .recurrent_figures import CELL_COLORS


@register_state
class DistanceState(TabState):
    """Accuracy of every cell at every length T trained so far (NaN points still to train are not drawn)."""

    kinds = ("rnn_distance",)
    figure_names = ("accuracy_by_length", "gradient_by_length")

    def figure(self, name: str) -> Figure:
        if name == "gradient_by_length":
            return self.gradient_figure()
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
        title = "Accuracy against dependency length T" + (f" ({task_title(task)})" if task else "")
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
        caption += f"; GRU: {gru_variant_text(getattr(snap, 'gru_variant', 'torch'))}"
        return Figure("accuracy_by_length", f"{title}: {finished} of {total} points ({progress})", **axes,
                      series=tuple(series), lines=(RefLine(float(snap.chance), f"chance {snap.chance:.0%}"),),
                      caption=caption, hint="The first point is training…")

    def gradient_figure(self) -> Figure:
        """‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖ per cell against T: after training (solid) and at initialisation (dashed)."""
        snap = self.snapshot
        title = "Share of the last step's gradient reaching h(0), ‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖, against T"
        y = Axis("‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖", log=True)
        x = Axis("dependency length T", "time steps")
        if snap is None or not np.asarray(getattr(snap, "ratio_trained", ())).size:
            return Figure("gradient_by_length", title, x=x, y=y,
                          hint="Press 'Accuracy against distance…': the ratios are measured per point.")
        lengths = np.asarray(snap.lengths, dtype=np.float64)
        x = Axis("dependency length T", "time steps", log=True,
                 ticks=tuple((float(v), f"{int(v)}") for v in lengths))
        series, after, before, rows = [], [], [], []
        for c, cell in enumerate(snap.cells):
            for arr, dash, label, parts in ((snap.ratio_trained, False, "after training", after),
                                            (snap.ratio_initial, True, "at initialisation", before)):
                v = np.asarray(arr, dtype=np.float64)[c]
                ok = np.isfinite(v) & (v > 0)
                series.append(Series(f"{cell} {label}", lengths[ok], v[ok], color=CELL_COLORS.get(cell), dash=dash,
                                     symbol="o" if not dash else None, legend=not dash))
                if ok.any():
                    j = int(np.flatnonzero(ok)[-1])
                    parts.append(f"{cell} {v[j]:.1e}")
                rows += [(cell, label, int(t), float(r)) for t, r in zip(lengths[ok], v[ok], strict=True)]
        series.append(Series("dashed: at initialisation", color="#808080", dash=True, width=1.5))
        caption = ""
        if after or before:
            caption = (f"at the longest T trained, after training: {', '.join(after) or 'not yet'}; at "
                       f"initialisation: {', '.join(before)}; 1 = the whole gradient reaches the first step")
        return Figure("gradient_by_length", title, x=x, y=y, series=tuple(series),
                      lines=(RefLine(1.0, "ratio 1"),), caption=caption,
                      data=Table(("cell", "when", "dependency length T", "ratio"), rows),
                      hint="The first point is training…")
