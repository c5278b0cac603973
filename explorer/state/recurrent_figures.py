"""The Recurrent tab's figures, built from its state: gradient flow, its history, the step Jacobians, the loss,
σ_max(W_hh), and each cell's states and gates over time. No Qt, no torch."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from ..figures import Axis, Figure, Heatmap, Points, RefLine, Series, Table
from .recurrent_snapshots import SnapshotCells, cell_keys

if TYPE_CHECKING:
    from .recurrent import RecurrentState

CELL_COLORS = {"RNN": "#D55E00", "GRU": "#009E73", "LSTM": "#0072B2"}
PRODUCT_COLOR = "#777777"
TINY = 1e-30  # gradients below this are gaps on log axes and black cells in the heatmap
MAX_LABELLED_STEPS = 40  # time axes show the input symbols up to this length
STATE_TITLES = {"h": "hidden state h(t)", "c": "cell state c(t)", "f": "forget gate f(t)", "i": "input gate i(t)",
                "o": "output gate o(t)", "z": "update gate z(t)", "r": "reset gate r(t)"}
DASHED = "at initialisation (dashed)"
DASHED_KEY = Series("dashed: at initialisation", color="#808080", dash=True, width=1.5)  # one legend entry
CLIPPED_KEY = Points("× : gradient clipped", color="#808080", size=11, symbol="x", legend=True)
BLANKS = ("·", ".", "_", " ", "")  # input symbols that say nothing (the copy task's blanks)


def positive(values: Any) -> np.ndarray:
    """Values for a log axis: zero, tiny and non-finite values become NaN (a gap), never -inf."""
    v = np.array(values, dtype=np.float64).ravel()
    with np.errstate(invalid="ignore"):
        v[~np.isfinite(v) | (v <= TINY)] = np.nan
    return v


def ratio(g: np.ndarray) -> float:
    """‖∂L/∂h(0)‖ / ‖∂L/∂h(L−1)‖ (NaN when undefined)."""
    g = np.asarray(g, dtype=np.float64)
    if g.size == 0 or not np.isfinite(g[-1]) or g[-1] <= 0 or not np.isfinite(g[0]):
        return float("nan")
    return float(g[0] / g[-1])


def ratio_text(g: np.ndarray) -> str:
    r = ratio(g)
    if not math.isfinite(r):
        return "undefined"
    if g[0] <= TINY:
        return f"0 (below {TINY:.0e})"
    return f"{r:.1e}"


def _color(cell: str) -> str:
    return CELL_COLORS.get(cell, "#808080")


def _ordered(cells) -> list[str]:
    return sorted(cells, key=lambda c: list(CELL_COLORS).index(c) if c in CELL_COLORS else 9)


def _snapshot_flows(st: RecurrentState) -> dict:
    if st.snapshot is None:
        return {}
    view = SnapshotCells(st.snapshot)
    return {cell: view.flow(c) for c, cell in enumerate(view.cells)}


def _dashed_cells(st: RecurrentState, initial: dict) -> list[str]:
    return _ordered(initial) if initial else list(st.cells)


def flow_figure(st: RecurrentState) -> Figure:
    """‖∂L/∂h(t)‖ against t per cell: the run at the step on show (solid) and at initialisation (dashed)."""
    flows = _snapshot_flows(st)
    initial, source = st.initial_flows()
    series = []
    for cell in st.cells:
        g = flows[cell].grad_norms if cell in flows else np.empty(0)
        series.append(Series(cell, np.arange(g.size), positive(g), color=_color(cell)))
    for cell in _dashed_cells(st, initial):
        g = initial[cell].grad_norms if cell in initial else np.empty(0)
        series.append(Series(f"{cell} {DASHED}", np.arange(g.size), positive(g), color=_color(cell), dash=True,
                             width=1.5, legend=False))
    series.append(DASHED_KEY)
    parts = []
    if flows:
        last = len(next(iter(flows.values())).grad_norms) - 1
        parts.append(f"‖∂L/∂h(0)‖ / ‖∂L/∂h({last})‖ at step {st.snapshot.step:,}: "
                     + ", ".join(f"{cell} {ratio_text(f.grad_norms)}" for cell, f in flows.items()))
    if initial:
        last = len(next(iter(initial.values())).grad_norms) - 1
        head = "at initialisation" if flows else f"‖∂L/∂h(0)‖ / ‖∂L/∂h({last})‖ at initialisation"
        parts.append(f"{head} (dashed; {source}): "
                     + ", ".join(f"{cell} {ratio_text(initial[cell].grad_norms)}" for cell in _ordered(initial)))
    if parts:
        parts.append("below 1: vanishing, above 1: exploding")
    when = f"at step {st.snapshot.step:,} (solid) and at initialisation (dashed)" if flows else \
        "at initialisation (dashed)"
    return Figure(
        "gradient_flow", f"Gradient of the last step's loss reaching h(t), ‖∂L/∂h(t)‖, {when}",
        x=Axis("time step t"), y=Axis("gradient norm ‖∂L/∂h(t)‖", log=True), series=tuple(series),
        caption="; ".join(parts), hint="Measuring fresh networks…")


def heatmap_figure(st: RecurrentState, cell: str | None) -> Figure:
    """log₁₀ ‖∂L/∂h(t)‖ of one cell: time step across, one row per snapshot up."""
    title = f"{cell or 'Chosen cell'}: log₁₀ ‖∂L/∂h(t)‖ over training (one row per snapshot)"
    steps, rows = st.gradient_rows(cell) if cell else ([], np.empty((0, 0)))
    if not steps:
        return Figure("gradient_heatmap", title, x=Axis("time step t"), y=Axis("training step"),
                      hint="Press Train: one row per snapshot.")
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(rows > TINY, np.log10(np.maximum(rows, TINY)), np.nan)
    n, L = logs.shape
    vanished = bool(np.isnan(logs).any())
    every = max(1, (math.ceil(n / 6)))
    ticks = tuple((i + 0.5, f"{steps[i]:,}") for i in range(0, n, every))
    first, last = logs[0], logs[-1]
    caption = (f"{n} snapshots, steps {steps[0]:,}–{steps[-1]:,}; log₁₀ ‖∂L/∂h(0)‖/‖∂L/∂h({L - 1})‖ = "
               f"{_log_ratio(first)} at step {steps[0]:,}, {_log_ratio(last)} at step {steps[-1]:,}")
    if vanished:
        caption += f"; black: below {TINY:.0e} (vanished)"
    table_rows = [(s, t, float(v), float(lv) if math.isfinite(lv) else "")
                  for s, row, lrow in zip(steps, rows, logs, strict=True)
                  for t, (v, lv) in enumerate(zip(row, lrow, strict=True))]
    return Figure(
        "gradient_heatmap", title, x=Axis("time step t"),
        y=Axis("training step (one row per snapshot)", ticks=ticks, range=(0.0, float(n))),
        heatmaps=(Heatmap("log₁₀ ‖∂L/∂h(t)‖", logs, "log₁₀ ‖∂L/∂h(t)‖", rect=(-0.5, 0.0, float(L), float(n)),
                          nan_color="#000000" if vanished else None, row_name="snapshot",
                          col_name="time step t"),),
        caption=caption,
        data=Table(("training step", "time step t", "‖∂L/∂h(t)‖", "log₁₀ ‖∂L/∂h(t)‖"), table_rows))


def _log_ratio(row: np.ndarray) -> str:
    if not (np.isfinite(row[0]) and np.isfinite(row[-1])):
        return "undefined (vanished)"
    return f"{row[0] - row[-1]:.1f}"


def product_bound(sigma: np.ndarray) -> np.ndarray:
    """∏ σ_max(s) over s = t+1 … L−1 for every t (1 at the last step): bounds ‖∂L/∂s(t)‖ / ‖∂L/∂s(L−1)‖."""
    logs = np.log10(np.maximum(np.asarray(sigma, dtype=np.float64), 1e-300))
    after = np.concatenate([np.cumsum(logs[::-1])[::-1][1:], [0.0]])
    with np.errstate(over="ignore"):
        return 10.0 ** after


def jacobian_figure(st: RecurrentState) -> Figure:
    """σ_max of the step Jacobian per cell against t, a line at 1, and the chosen cell's running product."""
    flows = _snapshot_flows(st)
    initial, source = st.initial_flows()
    series = []
    for cell in st.cells:
        s = flows[cell].sigma if cell in flows else np.empty(0)
        series.append(Series(cell, np.arange(1, s.size), positive(s[1:]), color=_color(cell)))
    for cell in _dashed_cells(st, initial):
        s = initial[cell].sigma if cell in initial else np.empty(0)
        series.append(Series(f"{cell} {DASHED}", np.arange(1, s.size), positive(s[1:]), color=_color(cell),
                             dash=True, width=1.5, legend=False))
    series.append(DASHED_KEY)
    cell = st.shown_cell
    chosen = flows.get(cell) or initial.get(cell)
    product = product_bound(chosen.sigma) if chosen is not None and chosen.sigma.size else np.empty(0)
    series.append(Series(f"∏ σ_max after t ({cell})", np.arange(product.size), positive(product),
                         color=PRODUCT_COLOR, width=1.5))
    parts = []
    shown = flows or initial
    if shown:
        what = f"at step {st.snapshot.step:,}" if flows else f"at initialisation ({source})"
        parts.append(f"geometric mean of σ_max over t {what}: "
                     + ", ".join(f"{c} {_geomean(f.sigma[1:]):.2f}" for c, f in shown.items()))
    if product.size:
        parts.append(f"grey: {cell}'s product at t = 0 is {product[0]:.1e} (bounds ‖∂L/∂h(0)‖ / "
                     f"‖∂L/∂h({product.size - 1})‖); σ_max below 1 at every step makes it vanish")
    when = f"at step {st.snapshot.step:,}" if flows else "at initialisation"
    return Figure(
        "jacobian", f"Largest singular value σ_max of the step Jacobian ∂h(t)/∂h(t−1) {when} (dashed: at "
                    "initialisation)",
        x=Axis("time step t"), y=Axis("σ_max of ∂h(t)/∂h(t−1)", log=True), series=tuple(series),
        lines=(RefLine(1.0, "σ = 1: norm kept"),) if shown else (), caption="; ".join(parts),
        hint="Measuring fresh networks…")


def _geomean(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.log(v).mean())) if v.size else float("nan")


def _task(st: RecurrentState) -> str:
    for source in (st.snapshot, st.config, st.fresh_config):
        if source is not None and getattr(source, "task", None):
            return source.task
    return "copy"


def loss_figure(st: RecurrentState) -> Figure:
    """Training loss per cell against step, with the steps whose gradient was clipped marked."""
    adding = _task(st) == "adding"
    y = Axis("mean squared error") if adding else Axis("cross-entropy", "nats")
    cfg = st.config if st.config is not None else st.fresh_config
    clip_on = getattr(cfg, "clip", "off") == "norm"
    series, points, last, clips = [], [], [], []
    for cell in st.cells:
        x, loss = st.metric("loss", cell)
        series.append(Series(cell, x, loss, color=_color(cell)))
        cx, clipped = st.metric("clipped", cell)
        hit = np.isin(x, cx[clipped > 0.5])
        if clip_on or hit.any():
            points.append(Points(f"{cell}: gradient clipped", x[hit], loss[hit], color=_color(cell), size=11,
                                 symbol="x"))
            clips.append(f"{cell} {int(hit.sum())} of {x.size}")
        if loss.size:
            last.append(f"{cell} {loss[-1]:.3g}")
    caption = ""
    if last:
        step = max(int(s.x[-1]) for s in series if s.x.size)
        caption = f"loss at step {step:,}: {', '.join(last)}" + ("" if adding else " nats")
        if clips:
            caption += f"; steps with the gradient clipped: {', '.join(clips)}"
    if points:
        points.append(CLIPPED_KEY)
    return Figure("loss", "Training loss per cell" + (" (× = gradient clipped)" if points else ""),
                  x=Axis("training step"), y=y, series=tuple(series), points=tuple(points), caption=caption,
                  hint="Press Train to see the loss.")


def weights_figure(st: RecurrentState) -> Figure:
    """σ_max(W_hh) per cell over training, with a line at 1."""
    series, parts = [], []
    for cell in st.cells:
        x, v = st.metric("w_sv_max", cell)
        series.append(Series(cell, x, v, color=_color(cell)))
        if v.size:
            parts.append(f"{cell} {v[0]:.2f} → {v[-1]:.2f}")
    caption = ""
    if parts:
        caption = (f"σ_max(W_hh) from step 1 to step {int(max(s.x[-1] for s in series if s.x.size)):,}: "
                   f"{', '.join(parts)} (gated cells: their gate blocks stacked)")
    return Figure("weights", "Largest singular value of the recurrent weights, σ_max(W_hh), over training",
                  x=Axis("training step"), y=Axis("σ_max(W_hh)"), series=tuple(series),
                  lines=(RefLine(1.0, "σ = 1"),) if parts else (), caption=caption,
                  hint="Press Train to see σ_max(W_hh).")


def symbol_ticks(labels, most: int = 8) -> tuple[tuple[float, str], ...]:
    """Time-axis ticks named by input symbol, the ones that matter first (a renderer short of room keeps the
    first): the marked values of the adding task ("0.72*") or every symbol that is not a blank; then the others
    at least L/most steps from any chosen label."""
    gap = max(1, math.ceil(len(labels) / most))
    marked = [i for i, s in enumerate(labels) if str(s).endswith("*")]
    chosen = marked or [i for i, s in enumerate(labels) if s not in BLANKS]
    for i in (i for i, s in enumerate(labels) if i not in chosen and (marked or s in BLANKS)):
        if all(abs(i - j) >= gap for j in chosen):
            chosen.append(i)
    return tuple((float(i), str(labels[i])) for i in chosen)


def state_figure(st: RecurrentState, key: str, cell: str | None) -> Figure:
    """One of the chosen cell's states or gates over time: time step across, hidden unit up."""
    name = STATE_TITLES[key]
    prefix = "state_" if key in "hc" else "gate_"
    x, y = Axis("time step t"), Axis("hidden unit")
    if cell is None or key not in cell_keys(cell):
        return Figure(prefix + key, f"{cell or 'This cell'}: {name}", x=x, y=y,
                      hint=f"The {cell or 'chosen cell'} has no {name.split(' ')[0]} {name.split(' ')[1]}.")
    states, labels, where = st.cell_states(cell)
    data = states.get(key)
    title = f"{cell} {name} {where}".strip()
    if data is None:
        return Figure(prefix + key, title, x=x, y=y, hint="Press Train first.")
    data = np.asarray(data, dtype=np.float32)
    L, H = data.shape
    if key in "hc":
        finite = data[np.isfinite(data)]
        peak = max(float(np.abs(finite).max()) if finite.size else 1.0, 1e-6)
        levels, cmap, scale = (-peak, peak), "CET-D1", f"{key}(t)"
        caption = f"largest |{key}| {peak:.2f}; mean |{key}| {float(np.abs(finite).mean()) if finite.size else 0:.2f}"
    else:
        levels, cmap, scale = (0.0, 1.0), "viridis", f"{key}(t)"
        caption = (f"0 = closed, 1 = open; mean {key} = {float(np.nanmean(data)):.2f}, "
                   f"{float(np.mean(data > 0.5)):.0%} of the values above 0.5")
    if L <= MAX_LABELLED_STEPS and len(labels) == L:
        x = Axis("input symbol at time step t", ticks=symbol_ticks(labels))
    sym = list(labels) if len(labels) == L else [""] * L
    rows = [(t, sym[t], u, float(data[t, u])) for t in range(L) for u in range(H)]
    return Figure(
        prefix + key, title, x=x, y=y,
        heatmaps=(Heatmap(name, data.T, scale, rect=(-0.5, -0.5, float(L), float(H)), levels=levels, colormap=cmap,
                          row_name="hidden unit", col_name="time step t"),),
        caption=caption,
        data=Table(("time step t", "input symbol", "hidden unit", f"{key}(t)"), rows))
