"""State of the problem-types run ('rnn_types'): accuracy of one task per RNN problem type against guessing, and
each task's training loss relative to guessing. No Qt, no torch."""
from __future__ import annotations

import numpy as np

from ..figures import Axis, Bars, Figure, Points, RefLine, Series
from . import register_state
from .base import TabState

TYPE_COLORS = ("#0072B2", "#D55E00", "#009E73")
TYPE_TASKS = ("count", "adding", "copy")


@register_state
class RnnTypesState(TabState):
    """Bars of accuracy per task with guessing marked; loss curves per task (1 = guessing)."""

    kinds = ("rnn_types",)
    figure_names = ("accuracy_by_type", "loss_by_type")

    def figure(self, name: str) -> Figure:
        if name == "accuracy_by_type":
            return self.accuracy_figure()
        if name == "loss_by_type":
            return self.loss_figure()
        raise KeyError(f"no figure named {name}; this state has: {', '.join(self.figure_names)}")

    def accuracy_figure(self) -> Figure:
        snap = self.snapshot
        title = "Accuracy after training, one task per RNN problem type"
        y = Axis("accuracy", range=(0.0, 1.05))
        if snap is None:
            return Figure("accuracy_by_type", title, x=Axis("problem type (task)"), y=y,
                          hint="Run the lesson to train one task of each type.")
        n = len(snap.tasks)
        labels = [f"{kind} ({task})" for task, kind in zip(snap.tasks, snap.problem_types, strict=True)]
        x = Axis("problem type (task)", ticks=tuple((float(i), labels[i]) for i in range(n)), range=(-0.6, n - 0.4))
        acc = np.asarray(snap.accuracy, dtype=np.float64)
        done = np.isfinite(acc)
        bars = tuple(Bars(labels[i], [float(i)], [acc[i]], width=0.6, color=TYPE_COLORS[i % 3], legend=False)
                     for i in range(n) if done[i])
        chance = Points("guessing (chance)", np.arange(n, dtype=np.float64), np.asarray(snap.chance, np.float64),
                        color="#000000", size=14, symbol="+", legend=True)
        parts = [f"{labels[i]} {acc[i]:.0%} (chance {snap.chance[i]:.0%})" for i in range(n) if done[i]]
        caption = f"{snap.cell}, accuracy on a fixed evaluation batch: " + "; ".join(parts) if parts else ""
        if snap.current:
            caption += ("; " if caption else "") + f"training {snap.current}"
        return Figure("accuracy_by_type", title, x=x, y=y, bars=bars, points=(chance,), caption=caption,
                      hint="The first task is training…")

    def loss_figure(self) -> Figure:
        title = "Training loss of each task relative to guessing (1 = the best input-blind guess)"
        x, y = Axis("training step (all tasks in turn)"), Axis("loss / loss of guessing", log=True)
        series, last = [], []
        for i, task in enumerate(TYPE_TASKS):
            steps, v = self.metrics.curve(f"relative_loss:{task}")
            kind = self.snapshot.problem_types[i] if self.snapshot is not None else task
            ok = v > 0
            series.append(Series(f"{kind} ({task})", steps[ok], v[ok], color=TYPE_COLORS[i]))
            if v.size:
                last.append(f"{task} {v[-1]:.2f}")
        caption = ("last loss relative to guessing: " + ", ".join(last)) if last else ""
        return Figure("loss_by_type", title, x=x, y=y, series=tuple(series),
                      lines=(RefLine(1.0, "guessing"),) if last else (), caption=caption,
                      hint="Run the lesson to see the losses.")
