"""The Attention tab's heatmap figures: every layer's heads as tiles, one head enlarged, and one query's links.

Query on y (top down), key on x; masked keys (the future under the causal mask) are NaN, drawn grey. A long text
is pooled into blocks (each cell the maximum of its block) so that a tile has at most `display_cap` cells a side.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..figures import Axis, Figure, Heatmap, Points, Segments, Series, Table, Text, curve_color
from .attention_view import AttentionView, display_cap

MASKED = "#c8c8c8"  # a masked (future) key: neither low nor high weight
NEEDED = "#e03030"  # circles on the keys a task needs
TILE_GAP = 0.2  # gap between two tiles, as a share of the tile's side (room for the tile's label)
LINK_WINDOW = 48  # the token view shows at most this many positions around the query
PLOT_PX = (700.0, 460.0)  # about the plot area of an exported figure, for choosing tick labels
LABEL_PX = 11.0  # a token label needs this many pixels per position
WEIGHT_BINS = ((0.5, 1.01, 7.0, "ff"), (0.2, 0.5, 4.0, "d0"), (0.05, 0.2, 2.0, "90"), (0.0, 0.05, 1.0, "58"))
SHOWN_SHARE = 0.01  # keys below this share of the largest weight in view get no line
HINT = "The heatmaps appear once the model has trained a step (press Train)."


def tick_label(token: str) -> str:
    """A token as an axis label (a blank one made visible)."""
    return token if token.strip() else "␣"


def quoted(token: str) -> str:
    return f"‘{token}’"


def scale_label(mode: str) -> str:
    """The colour bar's title of a mode."""
    return "attention weight (softmax)" if mode == "weights" else "scaled score QKᵀ/√d_k"


@dataclasses.dataclass(frozen=True)
class MapLayout:
    """Where a heatmap figure put what: the tiles' heads, the pooling factor, the tile side (for hover, clicks)."""

    view: AttentionView
    mode: str
    k: int
    layers: tuple[int, ...]
    heads: tuple[int, ...]
    values: np.ndarray  # (len(layers), len(heads), n, n) what the tiles show, NaN = masked

    @property
    def side(self) -> float:
        return float(self.values.shape[-1] * self.k)

    @property
    def step(self) -> float:
        return self.side * (1 + TILE_GAP)

    def origin(self, row: int, col: int) -> tuple[float, float]:
        return col * self.step - 0.5, row * self.step - 0.5

    def cell_at(self, x: float, y: float) -> tuple[int, int, int, int] | None:
        """(tile row, tile col, cell row, cell col) at a point in data coordinates, or None."""
        n = self.values.shape[-1]
        for r in range(len(self.layers)):
            for c in range(len(self.heads)):
                x0, y0 = self.origin(r, c)
                col, row = math.floor((x - x0) / self.k), math.floor((y - y0) / self.k)
                if 0 <= row < n and 0 <= col < n:
                    return r, c, row, col
        return None

    def hit(self, x: float, y: float) -> tuple[int, int, int, int] | None:
        """(layer, head, query, key) at a point (the first positions of a pooled cell), or None."""
        cell = self.cell_at(x, y)
        if cell is None:
            return None
        r, c, row, col = cell
        return self.layers[r], self.heads[c], row * self.k, col * self.k

    def readout(self, x: float, y: float) -> str | None:
        """What the hover says about the cell under a point."""
        cell = self.cell_at(x, y)
        if cell is None:
            return None
        r, c, row, col = cell
        value = float(self.values[r, c, row, col])
        tokens, k, T = self.view.tokens, self.k, self.view.length
        where = f"layer {self.layers[r] + 1} · head {self.heads[c] + 1}\n"
        if row >= -(-T // k) or col >= -(-T // k):
            return None
        if k == 1:
            cell_text = f"query {row} {quoted(tokens[row])} → key {col} {quoted(tokens[col])}"
        else:
            cell_text = (f"queries {row * k}–{min(T, row * k + k) - 1} → keys {col * k}–{min(T, col * k + k) - 1}"
                         f" (block maximum)")
        name = "weight" if self.mode == "weights" else "score"
        text = "masked: a future key" if math.isnan(value) else f"{name} {value:.4g}"
        return f"{where}{cell_text}\n{text}"


class CellRows(Sequence):
    """The CSV rows of a heatmap figure, made when read: (layer, head, query, key, tokens, value, masked)."""

    def __init__(self, layout: MapLayout) -> None:
        self.layout = layout
        self.n = layout.values.shape[-1]

    def __len__(self) -> int:
        return int(self.layout.values.size)

    def __getitem__(self, index: int) -> tuple:
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        lay, n = self.layout, self.n
        r, rest = divmod(index, len(lay.heads) * n * n)
        c, rest = divmod(rest, n * n)
        q, j = divmod(rest, n)
        v = float(lay.values[r, c, q, j])
        masked = math.isnan(v)
        value = 0.0 if masked and lay.mode == "weights" else v
        k, T, tokens = lay.k, lay.view.length, lay.view.tokens
        where = ((q, j, tokens[q], tokens[j]) if k == 1 else
                 (q * k, min(T, q * k + k) - 1, j * k, min(T, j * k + k) - 1))
        return (lay.layers[r] + 1, lay.heads[c] + 1, *where, value, masked)


def cells_table(layout: MapLayout) -> Table:
    name = "weight" if layout.mode == "weights" else "score"
    if layout.k == 1:
        header = ("layer", "head", "query", "key", "query_token", "key_token", name, "masked")
    else:
        header = ("layer", "head", "query_from", "query_to", "key_from", "key_to", f"max_{name}", "masked")
    return Table(header, CellRows(layout))


def _position_ticks(tokens: tuple[str, ...], k: int, per_px: float, offsets: Sequence[float]) -> tuple:
    """Token labels when each position has room, else positions at a readable stride; repeated per tile."""
    T = len(tokens)
    if k == 1 and per_px >= LABEL_PX:
        marks = [(i, tick_label(tokens[i])) for i in range(T)]
    else:
        stride = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10**9)
                      if s * per_px >= 36 or s >= T)
        marks = [(i, str(i)) for i in range(0, T, stride)]
    return tuple((float(o + i), s) for o in offsets for i, s in marks)


def _tiles(layout: MapLayout, selected: tuple[int, int] | None, plot_px: tuple[float, float]) -> dict[str, Any]:
    """Heatmaps, tile labels, ticks and ranges of a layout."""
    rows, cols = len(layout.layers), len(layout.heads)
    side, step = layout.side, layout.step
    view, mode = layout.view, layout.mode
    finite = layout.values[np.isfinite(layout.values)]
    if mode == "weights":
        levels = (0.0, 1.0)
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        levels = (lo, hi if hi > lo else lo + 1.0)
    heatmaps = []
    for r, layer in enumerate(layout.layers):
        for c, head in enumerate(layout.heads):
            x0, y0 = layout.origin(r, c)
            heatmaps.append(Heatmap(f"layer {layer + 1}, head {head + 1}", layout.values[r, c], scale_label(mode),
                                    rect=(x0, y0, side, side), levels=levels, nan_color=MASKED,
                                    colorbar=not heatmaps, row_name="query", col_name="key"))
    margin = side * TILE_GAP * (1.0 if rows * cols > 1 else 0.1)  # above the first row: the tiles' labels
    width_units, height_units = (cols - 1) * step + side, (rows - 1) * step + side + margin
    per = min(plot_px[0] / width_units, plot_px[1] / height_units)
    texts, series = [], []
    if rows * cols > 1:
        short = per * side < 110
        for r, layer in enumerate(layout.layers):
            for c, head in enumerate(layout.heads):
                x0, y0 = layout.origin(r, c)
                label = f"L{layer + 1} H{head + 1}" if short else f"layer {layer + 1} · head {head + 1}"
                texts.append(Text(x0, y0 - side * 0.02, label, anchor=(0.0, 1.0)))
        if selected is not None and selected[0] in layout.layers and selected[1] in layout.heads:
            x0, y0 = layout.origin(layout.layers.index(selected[0]), layout.heads.index(selected[1]))
            pad = side * 0.04
            series.append(Series("shown enlarged", [x0 - pad, x0 + side + pad, x0 + side + pad, x0 - pad, x0 - pad],
                                 [y0 - pad, y0 - pad, y0 + side + pad, y0 + side + pad, y0 - pad], color=1,
                                 width=3, legend=False))
    x_ticks = _position_ticks(view.tokens, layout.k, per, [c * step for c in range(cols)])
    y_ticks = _position_ticks(view.tokens, layout.k, per, [r * step for r in range(rows)])
    x_end, y_end = (cols - 1) * step + side - 0.5, (rows - 1) * step + side - 0.5
    return dict(heatmaps=heatmaps, texts=texts, series=series,
                x=Axis("key (position attended to)", ticks=x_ticks, range=(-0.5 - side * 0.02, x_end + side * 0.02)),
                y=Axis("query (position attending)", ticks=y_ticks, range=(-0.5 - margin, y_end + side * 0.02),
                       inverted=True))


def _notes(view: AttentionView, k: int) -> list[str]:
    notes = [f"{view.source}: {view.length:,} tokens; each query (row) attends to keys (columns)."]
    if k > 1:
        notes.append(f"Long text: drawn at 1/{k} resolution (each cell the maximum of its {k}×{k} block).")
    if view.has_masked:
        notes.append("Grey: masked keys (the future, under the causal mask).")
    if view.note:
        notes.append(view.note)
    return notes


def best_head_text(view: AttentionView) -> str:
    """Which head puts its peak on the needed key most often, and how often ('' without needed keys)."""
    rates = view.hit_rates()
    if rates is None:
        return ""
    layer, head = np.unravel_index(int(np.nanargmax(rates)), rates.shape)
    n = int((np.asarray(view.expected) >= 0).sum())
    return (f"Best head on the needed key: layer {layer + 1} · head {head + 1}, peak there for "
            f"{rates[layer, head]:.0%} of {n} queries.")


def grid_figure(view: AttentionView | None, mode: str, selected: tuple[int, int],
                plot_px: tuple[float, float] = PLOT_PX) -> tuple[Figure, MapLayout | None]:
    """Every layer's heads as tiles of one plot, the enlarged one framed."""
    if view is None:
        return Figure("grid", "All layers and heads", x=Axis("key (position attended to)"),
                      y=Axis("query (position attending)", inverted=True), hint=HINT), None
    values, k = view.pooled(mode, display_cap(view.layers * view.heads))
    layout = MapLayout(view, mode, k, tuple(range(view.layers)), tuple(range(view.heads)), values)
    parts = _tiles(layout, selected, plot_px)
    caption = " ".join([*_notes(view, k), best_head_text(view)]).strip()
    return Figure("grid", f"All layers and heads: {mode} ({view.source})", **parts, caption=caption,
                  aspect_locked=True, legend=False, data=cells_table(layout)), layout


def head_figure(view: AttentionView | None, mode: str, layer: int, head: int, query: int,
                plot_px: tuple[float, float] = PLOT_PX) -> tuple[Figure, MapLayout | None]:
    """One head enlarged, the needed keys circled and the token view's query framed."""
    if view is None:
        return Figure("head", "Enlarged head", x=Axis("key (position attended to)"),
                      y=Axis("query (position attending)", inverted=True), hint=HINT), None
    big, k = view.pooled(mode, display_cap(1))
    layout = MapLayout(view, mode, k, (layer,), (head,), big[layer:layer + 1, head:head + 1])
    parts = _tiles(layout, None, plot_px)
    T = view.length
    rows = np.flatnonzero(view.expected >= 0) if view.expected is not None else np.zeros(0, int)
    points = (Points("needed key (the task's answer)", view.expected[rows].astype(float) if rows.size else (),
                     rows.astype(float), color=NEEDED, size=11, ring=True, legend=True),)
    parts["series"] = [Series("query of the token view", [-0.5, T - 0.5, T - 0.5, -0.5, -0.5],
                              [query - 0.5, query - 0.5, query + 0.5, query + 0.5, query - 0.5], color=1, width=2)]
    notes = _notes(view, k)[1:]
    rates = view.hit_rates()
    if rates is not None:
        notes.insert(0, f"This head's peak is on the needed key for {rates[layer, head]:.0%} of "
                        f"{rows.size} queries (red circles).")
    caption = " ".join(notes)
    return Figure("head", f"Layer {layer + 1} · head {head + 1}: {mode} ({view.source})", **parts, points=points,
                  caption=caption, aspect_locked=True, data=cells_table(layout)), layout


def link_window(masked_row: np.ndarray, query: int) -> tuple[int, int]:
    """The positions [a, b) the token view shows around a query (the query and before it, under a causal mask)."""
    T = masked_row.size
    if masked_row[query + 1:].all():
        a = max(0, query - LINK_WINDOW + 1)
    else:
        a = max(0, min(query - LINK_WINDOW // 2, T - LINK_WINDOW))
    return a, min(T, a + LINK_WINDOW)


def tokens_figure(view: AttentionView | None, layer: int, head: int, query: int) -> Figure:
    """Where one query looks: lines from it (top row) to the keys (bottom row), thicker for larger weights."""
    axes = dict(x=Axis("position"), y=Axis("attends: query → key", ticks=((0.0, "key"), (1.0, "query")),
                                            range=(-0.35, 1.35)))
    if view is None:
        return Figure("tokens", "Token view", **axes, hint=HINT)
    tokens, q = view.tokens, query
    masked = np.isnan(view.scores[layer, head, q])
    weights = np.where(masked, 0.0, np.asarray(view.attention[layer, head, q], dtype=np.float64))
    a, b = link_window(masked, q)
    segments = []
    color = curve_color(0)
    floor = max(1e-12, SHOWN_SHARE * float(weights[a:b].max(initial=0.0)))
    for low, high, width, alpha in WEIGHT_BINS:
        keys = [j for j in range(a, b) if low <= weights[j] < high and weights[j] >= floor]
        name = f"weight ≥ {low:g}" if high > 1 else f"weight below {high:g}" if low == 0 else f"weight {low:g}–{high:g}"
        segments.append(Segments(name, [(q, 1.0, j, 0.0) for j in keys], color=color + alpha, width=width,
                                 legend=True))
    texts = []
    for pos in range(a, b):
        label = tick_label(tokens[pos])
        texts.append(Text(pos, 1.18, label, color=curve_color(1) if pos == q else None))
        texts.append(Text(pos, -0.18, label, color="#969696" if masked[pos] else None))
    order = [j for j in np.argsort(-weights, kind="stable")[:3] if weights[j] > 0]
    notes = ["strongest keys: " + ", ".join(f"{j} {quoted(tokens[j])} {weights[j]:.2f}" for j in order) + "."]
    outside = float(max(0.0, weights.sum() - weights[a:b].sum()))
    if outside > 0.005:
        row = weights.copy()
        row[a:b] = -1.0
        j = int(row.argmax())
        shown = ">99%" if outside > 0.99 else f"{outside:.0%}"
        notes.append(f"{shown} of the weight falls outside the {b - a} positions shown; the strongest key there is "
                     f"{j} {quoted(tokens[j])} ({row[j]:.2g}).")
    if masked.any():
        notes.append("Grey keys are masked.")
    return Figure(
        "tokens", f"Token view: where query {q} {quoted(tokens[q])} looks in layer {layer + 1}, head {head + 1} "
                  f"(line width by weight; {view.source})",
        x=Axis("position", range=(a - 0.8, b - 0.2)), y=axes["y"], segments=segments, texts=texts,
        points=(Points("query", [float(q)], [1.0], color=curve_color(1), size=14, ring=True),),
        caption=" ".join(notes),
        data=Table(("query", "key", "key token", "weight (softmax)", "masked"),
                   [(q, j, tokens[j], float(weights[j]), bool(masked[j])) for j in range(len(tokens))]))


def tokens_readout(view: AttentionView | None, layer: int, head: int, query: int, x: float, y: float) -> str | None:
    """What the hover says at a point of the token view."""
    if view is None:
        return None
    masked = np.isnan(view.scores[layer, head, query])
    a, b = link_window(masked, query)
    j = round(x)
    if not a <= j < b:
        return None
    tokens = view.tokens
    if y > 0.5:
        return f"query {j} {quoted(tokens[j])}: click to follow it"
    weight = 0.0 if masked[j] else float(view.attention[layer, head, query, j])
    return (f"query {query} {quoted(tokens[query])} → key {j} {quoted(tokens[j])}\n"
            + ("masked: a future key" if masked[j] else f"weight {weight:.4g}"))


def tokens_click(view: AttentionView | None, layer: int, head: int, query: int, x: float, y: float) -> int | None:
    """The query a click on the top row of the token view chooses, or None."""
    if view is None or y <= 0.5:
        return None
    a, b = link_window(np.isnan(view.scores[layer, head, query]), query)
    j = round(x)
    return j if a <= j < b else None
