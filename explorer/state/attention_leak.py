"""The leak-check figure of a transformer: |∂y_t/∂x_s| of every output t on every input s as a heatmap, exact
zeros apart (the Attention tab draws it for its run; the causal-mask lesson for its two decoders)."""
from __future__ import annotations

import numpy as np

from ..figures import Axis, Figure, Heatmap, Table

ZERO = "#d8d8d8"  # cells whose gradient is exactly 0
FLOOR = -8.0  # log10 share of the row's largest below which cells share the low end of the colour scale


def future_counts(jac: np.ndarray) -> tuple[int, int, int, int]:
    """(non-zero pairs with s > t, pairs with s > t, non-zero pairs with s <= t, pairs with s <= t)."""
    jac = np.asarray(jac)
    future = np.triu(np.ones(jac.shape, bool), 1)
    return (int((jac[future] != 0).sum()), int(future.sum()), int((jac[~future] != 0).sum()), int((~future).sum()))


def leak_caption(jac: np.ndarray) -> str:
    """What the Jacobian says about the future, in one sentence."""
    f_nz, f_all, p_nz, p_all = future_counts(jac)
    if f_nz == 0:
        return (f"no leak: ∂y_t/∂x_s is exactly 0 for all {f_all} pairs with s > t; non-zero for {p_nz} of the "
                f"{p_all} with s ≤ t")
    share = float(np.asarray(jac)[np.triu(np.ones(jac.shape, bool), 1)].sum() / max(np.sum(jac), 1e-300))
    return (f"leak: {f_nz} of the {f_all} pairs with s > t are non-zero, {share:.0%} of the gradient lies on later "
            f"inputs")


def jacobian_figure(name: str, title: str, jac: np.ndarray | None, tokens=None, note: str = "",
                    hint: str = "Nothing measured yet.") -> Figure:
    """Heatmap of log10 |∂y_t/∂x_s| (share of row t's largest), output t down, input s across; exact 0 in grey."""
    x, y = Axis("input position s"), Axis("output position t", inverted=True)
    if jac is None or not np.asarray(jac).size:
        return Figure(name, title, x, y, hint=hint)
    jac = np.asarray(jac, dtype=np.float64)
    top = jac.max(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(jac > 0, np.log10(jac / np.where(top > 0, top, 1.0)), np.nan)
    share = np.maximum(share, FLOOR)
    T = jac.shape[0]
    if tokens is not None and len(tokens) == T and T <= 40:
        ticks = tuple((i + 0.5, f"{i} {tok}") for i, tok in enumerate(tokens))
        x, y = Axis("input position s", ticks=ticks), Axis("output position t", inverted=True, ticks=ticks)
    rows = [(t, s, float(jac[t, s])) for t in range(T) for s in range(T)]
    return Figure(
        name, title, x, y,
        heatmaps=(Heatmap("|∂y_t/∂x_s|", share, "log₁₀ |∂y_t/∂x_s|, share of row t's largest (grey: exactly 0)",
                          levels=(FLOOR, 0.0), nan_color=ZERO, row_name="output t", col_name="input s"),),
        caption=(note + ": " if note else "") + leak_caption(jac), legend=False,
        data=Table(("output position t", "input position s", "|∂y_t/∂x_s|"), rows))
