"""Figures of the attention lessons' runs: token order (kind order_blind) and the causal mask (kind mask_leak)."""
from __future__ import annotations

import numpy as np

from ..figures import Axis, Figure, Points, RefLine, Series, Table
from ..figures.palette import curve_color
from . import register_state
from .attention_leak import jacobian_figure
from .base import TabState

EQUAL = 1e-9  # a relative change below this is rounding (double precision): the outputs are permuted exactly
SHOWN_FLOOR = 1e-18  # an exact 0 is drawn here on the log axis


@register_state
class OrderBlindState(TabState):
    """The permutation test and the reverse task's accuracy, from the snapshot on show."""

    kinds = ("order_blind",)
    figure_names = ("reverse", "permutation", "positions")

    def figure(self, name: str) -> Figure:
        return {"reverse": self.reverse_figure, "permutation": self.permutation_figure,
                "positions": self.positions_figure}[name]()

    def permutation_figure(self) -> Figure:
        x, y = Axis("model"), Axis("log₁₀ of max |f(x[π]) − f(x)[π]| / max |f(x)|")
        title = "Permutation test: shuffle the tokens, are the outputs shuffled the same way?"
        snap = self.snapshot
        if snap is None:
            return Figure("permutation", title, x, y, hint="Run the lesson: the test runs before training.")
        err = np.asarray(snap.perm_errors, dtype=float)
        idx = np.arange(err.size, dtype=float)
        x = Axis("model", ticks=tuple((float(i), label) for i, label in enumerate(snap.perm_labels)),
                 range=(-0.6, err.size - 0.4))
        shown = np.log10(np.maximum(err, SHOWN_FLOOR))
        equal = err < EQUAL
        verdicts = [f"{label}: {e:.1e} ({'permuted exactly' if q else 'not'})"
                    for label, e, q in zip(snap.perm_labels, err, equal, strict=True)]
        return Figure(
            "permutation", title, x, y,
            points=(Points("order-blind (outputs permuted up to rounding)", idx[equal], shown[equal],
                           color=curve_color(2), size=14, legend=True),
                    Points("order-aware", idx[~equal], shown[~equal], color=curve_color(1), size=14, symbol="s",
                           legend=True)),
            lines=(RefLine(float(np.log10(EQUAL)), "rounding limit 1e-9"),),
            caption="fresh models, double precision; " + "; ".join(verdicts),
            data=Table(("model", "relative change"), list(zip(snap.perm_labels, err.tolist(), strict=True))))

    def reverse_figure(self) -> Figure:
        x, y = Axis("training step"), Axis("accuracy", range=(0.0, 1.05))
        title = "Reversing a sequence with and without a positional encoding"
        snap = self.snapshot
        if snap is None or not np.asarray(snap.eval_steps).size:
            return Figure("reverse", title, x, y, hint="Run the lesson: accuracy appears as the models train.")
        steps = np.asarray(snap.eval_steps, dtype=float)
        series = [Series("encoder, sinusoidal encoding", steps, snap.acc_pe, color=0),
                  Series("encoder, no encoding", steps, snap.acc_nope, color=1)]
        caption = (f"last accuracy {snap.acc_pe[-1]:.0%} with the encoding, {snap.acc_nope[-1]:.0%} without "
                   f"(an order-blind model can reach at most {snap.bound:.0%}; chance {snap.chance:.0%})")
        if np.asarray(snap.acc_decoder).size:
            series.append(Series("decoder, causal mask, no encoding", steps, snap.acc_decoder, color=2, dash=True))
            caption += f"; the causal decoder without an encoding: {snap.acc_decoder[-1]:.0%} (the mask tells " \
                       f"positions apart)"
        return Figure("reverse", f"{title} ({snap.length} symbols)", x, y, series=tuple(series),
                      lines=(RefLine(float(snap.bound), f"order-blind best {snap.bound:.0%}", color="#c83c3c"),
                             RefLine(float(snap.chance), f"chance {snap.chance:.0%}")),
                      caption=caption)

    def positions_figure(self) -> Figure:
        x, y = Axis("output position i (target: the token at length − 1 − i)"), Axis("accuracy", range=(0.0, 1.05))
        title = "Accuracy by output position at the step on show"
        snap = self.snapshot
        if snap is None or not np.asarray(snap.by_position_pe).size:
            return Figure("positions", title, x, y, hint="Run the lesson.")
        pos = np.arange(len(snap.by_position_pe), dtype=float)
        return Figure("positions", f"{title} ({snap.step:,})", x, y,
                      series=(Series("sinusoidal encoding", pos, snap.by_position_pe, color=0, symbol="o"),
                              Series("no encoding", pos, snap.by_position_nope, color=1, symbol="s")),
                      lines=(RefLine(float(snap.bound), f"order-blind best {snap.bound:.0%}", color="#c83c3c"),),
                      caption="without an encoding every position is as good as any other: it cannot know which "
                              "one it is")


@register_state
class MaskLeakState(TabState):
    """The two decoders' Jacobians (now and fresh) and their accuracy."""

    kinds = ("mask_leak",)
    figure_names = ("masked", "unmasked", "accuracy")

    def figure(self, name: str) -> Figure:
        snap = self.snapshot
        if name == "accuracy":
            return self.accuracy_figure()
        masked = name == "masked"
        title = f"Leak check, {'with' if masked else 'without'} the causal mask: |∂y_t/∂x_s|"
        if snap is None:
            return jacobian_figure(name, title, None, hint="Run the lesson: the gradients are measured per snapshot.")
        jac = snap.jac_masked if masked else snap.jac_unmasked
        note = f"at step {snap.step:,}" + (" (fresh model)" if snap.step == 0 else "")
        return jacobian_figure(name, f"{title} at step {snap.step:,}", jac, note=note)

    def accuracy_figure(self) -> Figure:
        x, y = Axis("training step"), Axis("accuracy on the reversed half", range=(0.0, 1.05))
        title = "Reverse task: the decoder without the mask reads its answer from the future"
        snap = self.snapshot
        if snap is None or not np.asarray(snap.eval_steps).size:
            return Figure("accuracy", title, x, y, hint="Run the lesson.")
        steps = np.asarray(snap.eval_steps, dtype=float)
        return Figure("accuracy", title, x, y,
                      series=(Series("causal mask", steps, snap.acc_masked, color=0),
                              Series("no mask", steps, snap.acc_unmasked, color=1)),
                      lines=(RefLine(float(snap.chance), f"chance {snap.chance:.0%}"),),
                      caption=f"last accuracy {snap.acc_masked[-1]:.0%} with the mask, {snap.acc_unmasked[-1]:.0%} "
                              f"without (the next token is among its inputs)")
