"""Figures of a receptive-field probe (kind conv_field): the leak check in the middle of a sequence, the field
against depth with and without dilation, and WaveNet's configuration."""
from __future__ import annotations

import numpy as np

from ..figures import Axis, Figure, Points, RefLine, Series, Table
from ..figures.palette import curve_color
from . import register_state
from .base import TabState


def log2_slope(depths, sizes) -> float:
    """Least-squares slope of log2(size) on depth (1.0: the field doubles with every layer)."""
    depths, sizes = np.asarray(depths, float), np.asarray(sizes, float)
    if depths.size < 2 or np.any(sizes <= 0):
        return float("nan")
    return float(np.polyfit(depths, np.log2(sizes), 1)[0])


def _extent(grad: np.ndarray, t: int) -> tuple[int, int, int]:
    """(non-zero inputs up to t, non-zero inputs after t, inputs after t)."""
    grad = np.asarray(grad)
    return int((grad[: t + 1] != 0).sum()), int((grad[t + 1:] != 0).sum()), int(grad[t + 1:].size)


@register_state
class ConvFieldState(TabState):
    """Everything follows the snapshot on show (each one holds every probe measured so far)."""

    kinds = ("conv_field",)
    figure_names = ("leak", "depth", "wavenet")

    def figure(self, name: str) -> Figure:
        return {"leak": self.leak_figure, "depth": self.depth_figure, "wavenet": self.wavenet_figure}[name]()

    def leak_figure(self) -> Figure:
        x, y = Axis("input position relative to t (s − t)", "positions"), Axis("|∂y_t/∂x_s|", "share of the largest")
        snap = self.snapshot
        title = "Leak check: which inputs move an output in the middle"
        if snap is None or not np.asarray(snap.leak_causal).size:
            return Figure("leak", title, x, y, hint="Run the probe: the leak check is its first step.")
        t = int(snap.leak_t)
        causal, centred = np.asarray(snap.leak_causal), np.asarray(snap.leak_centred)
        rel = np.arange(causal.size) - t
        past, future, later = _extent(causal, t)
        _, c_future, _ = _extent(centred, t)
        zero = np.flatnonzero(causal[t + 1:] == 0) + 1
        dils = ", ".join(map(str, np.asarray(snap.leak_dilations).tolist()))
        return Figure(
            "leak", f"{title} (t = {t} of {causal.size})", x, y,
            series=(Series("causal padding", rel, causal / max(causal.max(), 1e-300), color=0, symbol="o",
                           symbol_size=4),
                    Series("centred padding (control)", rel, centred / max(centred.max(), 1e-300), color=1,
                           dash=True)),
            points=(Points("causal: exactly 0", zero.astype(float), np.zeros(zero.size), color="#c83c3c", size=5,
                           symbol="x", legend=True),),
            lines=(RefLine(0.0, "t", vertical=True),),
            caption=f"causal: the gradient is exactly 0 for {later - future} of the {later} inputs after t "
                    f"and non-zero for {past} inputs up to t; centred padding: {c_future} inputs after t reach "
                    f"t. Fresh gated stack, kernel {snap.kernel_size}, dilations {dils}, double precision.")

    def depth_figure(self) -> Figure:
        x, y = Axis("layers", "count"), Axis("receptive field", "inputs", log=True)
        snap = self.snapshot
        title = "Receptive field against depth: doubling dilations against none"
        if snap is None or not np.asarray(snap.depths).size:
            return Figure("depth", title, x, y, hint="Run the probe: one depth is measured per step.")
        d = np.asarray(snap.depths, float)
        dt, dm = np.asarray(snap.rf_doubling_theory), np.asarray(snap.rf_doubling_measured)
        ct, cm = np.asarray(snap.rf_constant_theory), np.asarray(snap.rf_constant_measured)
        mismatch = int((dt != dm).sum() + (ct != cm).sum())
        x = Axis("layers", "count", ticks=tuple((float(v), str(int(v))) for v in d))
        return Figure(
            "depth", title, x, y,
            series=(Series("doubling 1, 2, 4, …: 1 + Σ(k−1)d", d, dt, color=0),
                    Series("no dilation: 1 + L(k−1)", d, ct, color=1)),
            points=(Points("doubling: measured (gradient)", d, dm.astype(float), color=curve_color(0), size=9,
                           legend=True),
                    Points("no dilation: measured (gradient)", d, cm.astype(float), color=curve_color(1), size=9,
                           symbol="s", legend=True)),
            caption=f"log₂ of the field grows {log2_slope(d, dm):.2f} per layer with doubling dilations "
                    f"(exponential: {int(dm[-1]):,} inputs at {int(d[-1])} layers) and {log2_slope(d, cm):.2f} "
                    f"without ({int(cm[-1])} inputs: linear); measured ≠ theory at {mismatch} of {2 * d.size} "
                    f"stacks.",
            data=Table(("layers", "theory, doubling", "measured, doubling", "theory, no dilation",
                        "measured, no dilation", "inputs after t with a non-zero gradient (doubling)"),
                       [tuple(int(v) for v in row) for row in zip(d, dt, dm, ct, cm, snap.future_doubling,
                                                                   strict=True)]))

    def wavenet_figure(self) -> Figure:
        x, y = Axis("input position relative to t (s − t)", "positions"), Axis("|∂y_t/∂x_s|", log=True)
        snap = self.snapshot
        title = "WaveNet's configuration: the field of one output"
        if snap is None or not np.asarray(snap.wavenet_grad).size:
            return Figure("wavenet", title, x, y, hint="Run the probe: WaveNet's stack is its last step.")
        grad, t = np.asarray(snap.wavenet_grad), int(snap.wavenet_t)
        dils = np.asarray(snap.wavenet_dilations)
        nz = np.flatnonzero(grad)
        block = int(np.argmax(dils)) + 1 if dils.size else 0
        rf = int(snap.wavenet_rf_theory)
        _, future, later = _extent(grad, t)
        return Figure(
            "wavenet", f"{title}: {dils.size // max(block, 1)} blocks × {block} layers, kernel {snap.kernel_size}",
            x, y,
            series=(Series("non-zero |∂y_t/∂x_s|", nz - t, grad[nz], color=0),),
            lines=(RefLine(float(-(rf - 1)), f"theory: t − {rf - 1}", vertical=True, color="#c83c3c"),
                   RefLine(0.0, "t", vertical=True)),
            caption=f"dilations 1 … {int(dils.max())} per block: receptive field 1 + Σ(k−1)d = {rf:,} computed, "
                    f"{int(snap.wavenet_rf_measured):,} measured; {later - future:,} of the {later:,} inputs after "
                    f"t have a gradient of exactly 0; the smallest non-zero one is {grad[nz].min():.1e} "
                    f"(measured in double precision).")
