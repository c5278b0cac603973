"""State of a `generation_cost` run: a training step over T positions against generating T tokens one by one.

Two figures: the seconds of each against T (the Training vs generation page's figure, drawn by
explorer.state.gpt.GenerationState from the run's rows), and the same per position: a training step's seconds
per scored position against generation's seconds per written token, with the model passes each took.
"""
from __future__ import annotations

import types

import numpy as np

from ..figures import Axis, Figure, Series, Table, curve_color
from . import register_state
from .base import TabState
from .gpt import GenerationState, log_ticks


def ticks_125(arrays) -> tuple[tuple[float, str], ...] | None:
    """Ticks at 1, 2 and 5 times the powers of ten that span the positive values of `arrays` (a log axis with
    few, readable labels)."""
    values = np.concatenate([np.asarray(a, dtype=np.float64).ravel() for a in arrays]) if arrays else np.empty(0)
    values = values[np.isfinite(values) & (values > 0)]
    if not values.size:
        return None
    lo, hi = values.min(), values.max()
    ticks = []
    for p in range(int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi))) + 1):
        for m in (1, 2, 5):
            v = m * 10.0**p
            if lo / 1.5 <= v <= hi * 1.5:
                ticks.append((v, f"{v:,.0f}" if v >= 1 else f"{v:g}"))
    return tuple(ticks) or None


@register_state
class GenerationCostState(TabState):
    """Training against generation, from a recorded or live `generation_cost` run."""

    kinds = ("generation_cost",)
    figure_names = ("generation", "per_token")

    def rows(self) -> list[types.SimpleNamespace]:
        """The snapshot's lengths as rows with the fields of a GenCostRow (and the passes counted)."""
        s = self.snapshot
        if s is None:
            return []
        return [types.SimpleNamespace(length=int(n), train_step_s=float(t), generate_cached_s=float(c),
                                      generate_uncached_s=float(u), max_diff=float(d), train_passes=int(tp),
                                      generate_passes=int(gp))
                for n, t, c, u, d, tp, gp in zip(s.lengths, s.train_step_s, s.generate_cached_s,
                                                 s.generate_uncached_s, s.max_diff, s.train_passes,
                                                 s.generate_passes, strict=True)]

    def figure(self, name: str) -> Figure:
        return {"generation": self.generation_figure, "per_token": self.per_token_figure}[name]()

    def generation_figure(self) -> Figure:
        view = GenerationState()
        view.batch = int(getattr(self.snapshot, "batch", 0) or 0)
        view.finish(self.rows())
        fig = view.figure()
        if self.snapshot is not None and len(self.snapshot.lengths):
            fig = fig.replace(caption=f"{fig.caption} {self._about()}")
        return fig.replace(hint="Run the measurement to time training against generation.")

    def _about(self) -> str:
        s = self.snapshot
        return f"Medians of {s.repeats} timed runs; {s.model}; device: {s.device}."

    def per_token_figure(self) -> Figure:
        rows = self.rows()
        n = np.array([r.length for r in rows], dtype=np.float64)
        batch = max(1, int(getattr(self.snapshot, "batch", 1) or 1))
        per = {
            f"training step, per position (batch {batch} × T in one pass)":
                np.array([r.train_step_s / (batch * r.length) for r in rows]),
            "generation with the KV cache, per token (T passes)": np.array([r.generate_cached_s / r.length
                                                                            for r in rows]),
            "generation without a cache, per token (T passes)": np.array([r.generate_uncached_s / r.length
                                                                          for r in rows]),
        }
        title = "Time per position: training scores all T at once, generation writes them one by one"
        x = Axis("sequence length T", "tokens", log=True, ticks=log_ticks(n))
        micro = [v * 1e6 for v in per.values()]
        y = Axis("time per position or token", "µs", log=True, ticks=ticks_125(micro) if rows else None)
        if not rows:
            return Figure("per_token", title, x, y, hint="Run the measurement to time training against generation.")
        series = tuple(Series(name, n, v, color=curve_color(i), symbol="o", symbol_size=6)
                       for i, (name, v) in enumerate(zip(per, micro, strict=True)))
        last = rows[-1]
        values = list(per.values())
        caption = (f"At T = {last.length:,}: a training step took {last.train_passes} model pass"
                   f"{'' if last.train_passes == 1 else 'es'} for all {batch * last.length:,} positions, "
                   f"{values[0][-1] * 1e6:,.0f} µs per position with backward and update; generation took "
                   f"{last.generate_passes:,} passes one after another, {values[1][-1] * 1e6:,.0f} µs per token "
                   f"with the cache ({values[1][-1] / values[0][-1]:.0f}× the training step's per position) and "
                   f"{values[2][-1] * 1e6:,.0f} µs without. {self._about()}")
        table = Table(("sequence length T (tokens)", "training step per position (µs)",
                       "generation with the KV cache per token (µs)", "generation without a cache per token (µs)",
                       "model passes of the training step", "model passes of generation"),
                      [(r.length, float(a), float(b), float(c), r.train_passes, r.generate_passes)
                       for r, a, b, c in zip(rows, *micro, strict=True)])
        return Figure("per_token", title, x, y, series=series, caption=caption, data=table)
