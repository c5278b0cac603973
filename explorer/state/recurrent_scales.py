"""State of the vanishing/exploding measurement ('rnn_scales'): ‖∂L/∂h(t)‖ of fresh plain RNNs against t for
several recurrent weight scales, and the ratio ‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖ against the scale. No Qt, no torch."""
from __future__ import annotations

from typing import Any

import numpy as np

from ..figures import Axis, Figure, RefLine, Series, Table
from . import register_state
from .base import TabState

ACTIVATION_NAMES = {"identity": "linear", "relu": "ReLU", "tanh": "tanh"}
DASHED_KEY = Series("dashed: the same networks with tanh", color="#808080", dash=True, width=1.5)


def activation_name(activation: str) -> str:
    """'linear' for the identity, else the activation's usual name."""
    return ACTIVATION_NAMES.get(activation, activation)


def median_norms(norms: Any) -> np.ndarray:
    """(S, T) the median over networks of ‖∂L/∂h(t)‖ (S, N, T); NaN where nothing is measured yet."""
    g = np.asarray(norms, dtype=np.float64)
    if g.ndim != 3 or g.shape[1] == 0:
        return np.full((g.shape[0] if g.ndim else 0, g.shape[-1] if g.ndim == 3 else 0), np.nan)
    out = np.full((g.shape[0], g.shape[2]), np.nan)
    done = np.isfinite(g).all(axis=(1, 2))
    out[done] = np.median(g[done], axis=1)
    return out


def network_ratios(norms: Any) -> np.ndarray:
    """(S, N) ‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖ of every network (NaN where not measured or undefined)."""
    g = np.asarray(norms, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = g[..., 0] / g[..., -1]
    r[~np.isfinite(r) | (r <= 0)] = np.nan
    return r


def median_ratios(norms: Any) -> np.ndarray:
    """(S,) the median over networks of the ratio (NaN for a scale not measured)."""
    r = network_ratios(norms)
    out = np.full(r.shape[0], np.nan)
    for s in range(r.shape[0]):
        v = r[s][np.isfinite(r[s])]
        if v.size:
            out[s] = float(np.median(v))
    return out


def scale_color(scale: float) -> str:
    """Blue below 1 (vanishing), grey at 1, red above (exploding)."""
    return "#0072B2" if scale < 0.95 else "#D55E00" if scale > 1.05 else "#555555"


@register_state
class RnnScaleState(TabState):
    """The measurement's two figures; the snapshot on show holds every scale measured so far."""

    kinds = ("rnn_scales",)
    figure_names = ("gradient_by_scale", "ratio_by_scale")

    def figure(self, name: str) -> Figure:
        if name == "gradient_by_scale":
            return self.gradient_figure()
        if name == "ratio_by_scale":
            return self.ratio_figure()
        raise KeyError(f"no figure named {name}; this state has: {', '.join(self.figure_names)}")

    def _setting(self) -> str:
        snap = self.snapshot
        n = np.asarray(snap.grad_norms).shape[1]
        return (f"{activation_name(snap.activation)} plain RNN, H = {snap.hidden}, T = {snap.length}, "
                f"median of {n} fresh network{'s' if n != 1 else ''}")

    def gradient_figure(self) -> Figure:
        snap = self.snapshot
        title = "Gradient of the last step's loss reaching h(t), ‖∂L/∂h(t)‖, per recurrent weight scale"
        axes = dict(x=Axis("time step t"), y=Axis("gradient norm ‖∂L/∂h(t)‖", log=True))
        if snap is None:
            return Figure("gradient_by_scale", title, **axes, hint="Run the measurement to see the gradients.")
        scales = np.asarray(snap.scales, dtype=np.float64)
        med, tanh = median_norms(snap.grad_norms), median_norms(snap.tanh_grad_norms)
        name = activation_name(snap.activation)
        series, parts = [], []
        for s, scale in enumerate(scales):
            g = med[s]
            t = np.arange(g.size)
            ok = np.isfinite(g) & (g > 0)
            series.append(Series(f"scale {scale:g} ({name})", t[ok], g[ok], color=scale_color(scale)))
            if tanh.shape[0] and np.isfinite(tanh[s]).any():
                k = np.isfinite(tanh[s]) & (tanh[s] > 0)
                series.append(Series(f"scale {scale:g} (tanh)", t[k], tanh[s][k], color=scale_color(scale),
                                     dash=True, width=1.5, legend=False))
        if tanh.shape[0] and np.isfinite(tanh).any():
            series.append(DASHED_KEY)
        ratios, last = median_ratios(snap.grad_norms), int(snap.length) - 1
        parts = [f"scale {scale:g}: {r:.1e}" for scale, r in zip(scales, ratios, strict=True) if np.isfinite(r)]
        caption = f"‖∂L/∂h(0)‖ / ‖∂L/∂h({last})‖ ({self._setting()}): " + "; ".join(parts) if parts else ""
        if parts and tanh.shape[0]:
            tr = median_ratios(snap.tanh_grad_norms)
            caption += "; with tanh: " + "; ".join(f"{scale:g}: {r:.1e}" for scale, r in zip(scales, tr, strict=True)
                                                   if np.isfinite(r))
        rows = [(activation_name(act), float(scale), n, t, float(v))
                for act, arr in ((snap.activation, snap.grad_norms), ("tanh", snap.tanh_grad_norms))
                for s, scale in enumerate(scales) for n, row in enumerate(np.asarray(arr)[s])
                for t, v in enumerate(row) if np.isfinite(v)]
        return Figure("gradient_by_scale", title, **axes, series=tuple(series), caption=caption,
                      data=Table(("activation", "weight scale", "network", "time step t", "‖∂L/∂h(t)‖"), rows),
                      hint="The first scale is being measured…")

    def ratio_figure(self) -> Figure:
        snap = self.snapshot
        title = "‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖ against the recurrent weight scale"
        y = Axis("‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖", log=True)
        if snap is None:
            return Figure("ratio_by_scale", title, x=Axis("weight scale (spectral radius of W_h)"), y=y,
                          hint="Run the measurement to see the ratios.")
        scales = np.asarray(snap.scales, dtype=np.float64)
        x = Axis("weight scale (spectral radius of W_h)", log=True,
                 ticks=tuple((float(s), f"{s:g}") for s in scales))
        name = activation_name(snap.activation)
        series, rows = [], []
        for act, arr, dash, color in ((name, snap.grad_norms, False, "#009E73"),
                                      ("tanh", snap.tanh_grad_norms, True, "#777777")):
            if np.asarray(arr).shape[1] == 0:
                continue
            med, every = median_ratios(arr), network_ratios(arr)
            ok = np.isfinite(med)
            series.append(Series(f"{act}: median", scales[ok], med[ok], color=color, dash=dash, symbol="o"))
            rows += [(act, float(s), n, float(every[i, n])) for i, s in enumerate(scales)
                     for n in range(every.shape[1]) if np.isfinite(every[i, n])]
        med = median_ratios(snap.grad_norms)
        caption = (f"{self._setting()}: median ratio " + ", ".join(f"{r:.1e} at {s:g}" for s, r in
                                                                  zip(scales, med, strict=True) if np.isfinite(r))
                   + "; below 1 the gradient vanishes going back in time, above 1 it explodes")
        return Figure("ratio_by_scale", title, x=x, y=y, series=tuple(series),
                      lines=(RefLine(1.0, "ratio 1: gradient kept"),), caption=caption,
                      data=Table(("activation", "weight scale", "network", "ratio"), rows),
                      hint="The first scale is being measured…")
