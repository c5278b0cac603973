"""Attention heatmaps: every layer's heads as tiles of one plot (or one head, enlarged), and a token-links view."""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QFont

from .. import theme
from .plot_panel import PlotPanel

MASKED_RGB = (200, 200, 200)  # colour of a masked (future) key: neither low nor high weight
TILE_GAP = 0.15  # gap between two tiles, as a share of the tile's side
LABEL_PX = 12  # a token label needs this many pixels of axis per position
LINK_WINDOW = 48  # the token view shows at most this many positions around the query


def display_cap(tiles: int) -> int:
    """How many cells a tile's side may have on screen: 256, fewer when many heads share the plot."""
    return 256 if tiles <= 4 else 128 if tiles <= 16 else 64


def block_max(values: np.ndarray, k: int) -> np.ndarray:
    """(..., T, T) -> (..., ceil(T/k), ceil(T/k)): the largest finite value of each k x k block (NaN if none)."""
    if k <= 1:
        return values
    T = values.shape[-1]
    n = -(-T // k)
    pad = [(0, 0)] * (values.ndim - 2) + [(0, n * k - T), (0, n * k - T)]
    v = np.pad(values.astype(np.float32, copy=False), pad, constant_values=np.nan)
    v = v.reshape(values.shape[:-2] + (n, k, n, k))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN (masked) block stays NaN
        return np.nanmax(v, axis=(-3, -1))


@dataclasses.dataclass
class AttentionView:
    """The attention of one model on one text: weights and scores (layers, heads, T, T), NaN scores = masked."""

    tokens: tuple[str, ...]
    attention: np.ndarray
    scores: np.ndarray
    source: str
    expected: np.ndarray | None = None
    note: str = ""
    _pooled: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def length(self) -> int:
        return len(self.tokens)

    @property
    def has_masked(self) -> bool:
        """Whether any key is masked (computed once: a long text's scores are large)."""
        if "masked" not in self._pooled:
            self._pooled["masked"] = bool(np.isnan(self.scores).any())
        return self._pooled["masked"]

    def pooled(self, mode: str, cap: int) -> tuple[np.ndarray, int]:
        """Values of `mode` ('weights' or 'scores') at most `cap` cells a side (block maximum), and the factor k.

        Masked cells are NaN in both modes (a block is masked when all of it is)."""
        k = max(1, math.ceil(self.length / cap))
        key = (mode, k)
        if key not in self._pooled:
            masked = np.isnan(self.scores)
            if mode == "scores":
                shown = self.scores
            else:
                shown = np.where(masked, np.nan, self.attention).astype(np.float32)
            self._pooled[key] = block_max(shown, k)
        return self._pooled[key], k

    def prepare(self, caps: tuple[int, ...]) -> "AttentionView":
        """Pool both modes at every cap now (in a worker thread, so that toggling later costs nothing)."""
        for cap in caps:
            for mode in ("weights", "scores"):
                self.pooled(mode, cap)
        _ = self.has_masked
        return self


def masked_lookup_table(colormap: str = "viridis") -> np.ndarray:
    """256 colours: index 0 for masked cells, 1..255 the colour map."""
    lut = pg.colormap.get(colormap).getLookupTable(nPts=255, alpha=False)
    return np.vstack([np.array([MASKED_RGB], dtype=np.uint8), lut.astype(np.uint8)])


def _label(text: str) -> str:
    return f"‘{text}’"


class AttentionMapPanel(PlotPanel):
    """Heatmap tiles (rows: layers, columns: heads), query on y (top down) and key on x; masked keys in grey."""

    cellClicked = Signal(int, int, int, int)  # layer, head, query, key (first positions of a pooled cell)

    def __init__(self, title: str, tiles_axes: bool = True, parent=None) -> None:
        super().__init__(title, "key (position attended to)", "query (position attending)", parent=parent)
        self.plot_item.invertY(True)
        self.plot_item.setAspectLocked(True)
        self.tiles_axes = tiles_axes
        self.tokens: tuple[str, ...] = ()
        self.layer_ids: list[int] = []
        self.head_ids: list[int] = []
        self.values = np.zeros((0, 0, 0, 0), dtype=np.float32)  # what the tiles show (NaN = masked)
        self.k = 1
        self.mode = "weights"
        self.levels = (0.0, 1.0)
        self._shape = None
        self._lut = masked_lookup_table()
        self.markers = pg.ScatterPlotItem(symbol="o", size=9, pen=pg.mkPen("#ff4040", width=2), brush=None)
        self.markers.setZValue(5)  # above the tiles
        self.plot_item.addItem(self.markers)
        self.frame = pg.PlotCurveItem(pen=pg.mkPen(theme.curve_color(1), width=3))
        self.frame.setZValue(10)
        self.plot_item.addItem(self.frame, ignoreBounds=True)
        self._selected: tuple[int, int] | None = None
        for side in ("left", "bottom", "top", "right"):
            self.plot_item.getAxis(side).enableAutoSIPrefix(False)
        vb = self.plot_item.getViewBox()
        vb.sigResized.connect(self._update_ticks)
        vb.sigRangeChanged.connect(lambda *_a: self._update_ticks())
        self.plot_widget.scene().sigMouseClicked.connect(self._clicked)
        self.set_data_provider(self._csv)

    # -- drawing -----------------------------------------------------------------------------------------
    @property
    def length(self) -> int:
        return len(self.tokens)

    def _side(self) -> float:
        """Tile side in view units (positions, padded to whole pooled cells)."""
        return float(self.values.shape[-1] * self.k)

    def _origin(self, row: int, col: int) -> tuple[float, float]:
        step = self._side() * (1 + TILE_GAP)
        return col * step - 0.5, row * step - 0.5

    def set_maps(self, values: np.ndarray, k: int, tokens, layer_ids, head_ids, mode: str) -> None:
        """Show (rows, cols, n, n) pooled values (NaN = masked) of `tokens`, each cell covering k x k positions."""
        self.values, self.k, self.tokens, self.mode = values, k, tuple(tokens), mode
        self.layer_ids, self.head_ids = list(layer_ids), list(head_ids)
        finite = values[np.isfinite(values)]
        if mode == "weights":
            lo, hi = 0.0, 1.0
        else:
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            hi = hi if hi > lo else lo + 1.0
        self.levels = (lo, hi)
        below = lo - (hi - lo) / 254.0  # NaN is drawn at this level: index 0 of the table, the masked grey
        rows, cols = values.shape[:2]
        shape = (rows, cols, values.shape[-1], k, len(self.tokens))
        if shape != self._shape:
            for name in list(self.heatmaps):
                self.plot_item.removeItem(self.heatmaps.pop(name))
            for r in range(rows):
                for c in range(cols):
                    self.add_heatmap(f"{r},{c}").setLookupTable(self._lut)
        side = self._side()
        for r in range(rows):
            for c in range(cols):
                x0, y0 = self._origin(r, c)
                self.set_heatmap(f"{r},{c}", values[r, c], levels=(below, hi), rect=(x0, y0, side, side))
        if shape != self._shape:
            self._shape = shape
            x1, y1 = self._origin(rows - 1, cols - 1)
            self.plot_item.setRange(xRange=(-0.5, x1 + side), yRange=(-0.5, y1 + side), padding=0.02)
            self.markers.setData([], [])
        if self._selected is not None:
            self.select(*self._selected)
        self._update_ticks()

    def select(self, layer: int, head: int) -> None:
        """Frame the tile of one layer's head (the one shown enlarged)."""
        self._selected = (layer, head)
        if layer not in self.layer_ids or head not in self.head_ids or len(self.layer_ids) * len(self.head_ids) < 2:
            self.frame.setData([], [])
            return
        x0, y0 = self._origin(self.layer_ids.index(layer), self.head_ids.index(head))
        side, pad = self._side(), self._side() * TILE_GAP / 4
        x = [x0 - pad, x0 + side + pad, x0 + side + pad, x0 - pad, x0 - pad]
        y = [y0 - pad, y0 - pad, y0 + side + pad, y0 + side + pad, y0 - pad]
        self.frame.setData(x, y)

    def set_markers(self, queries: np.ndarray, keys: np.ndarray) -> None:
        """Circle cells (query, key) of the first tile (where a task needs its head to look)."""
        self.markers.setData(x=np.asarray(keys, dtype=float), y=np.asarray(queries, dtype=float))

    def _update_ticks(self) -> None:
        """Token labels on the axes when there is room for them, else positions at a readable stride."""
        if not self.tokens or self.values.size == 0:
            return
        vb = self.plot_item.getViewBox()
        px = vb.viewPixelSize()
        per = 1.0 / px[0] if px[0] > 0 else 0.0
        rows, cols = self.values.shape[:2]
        step = self._side() * (1 + TILE_GAP)
        T = self.length
        if self.k == 1 and per >= LABEL_PX:
            marks = [(i, _tick(self.tokens[i])) for i in range(T)]
        else:
            stride = next(s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10**9)
                          if s * per >= 36 or s >= T)
            marks = [(i, str(i)) for i in range(0, T, stride)]
        self.plot_item.getAxis("bottom").setTicks([[(c * step + i, s) for c in range(cols) for i, s in marks]])
        self.plot_item.getAxis("left").setTicks([[(r * step + i, s) for r in range(rows) for i, s in marks]])
        multi = self.tiles_axes and (rows > 1 or cols > 1)
        self.plot_item.showAxis("top", multi)
        self.plot_item.showAxis("right", multi)
        if multi:
            wide = step * per >= 60
            centre = self._side() / 2 - 0.5
            self.plot_item.getAxis("top").setTicks(
                [[(c * step + centre, f"head {h + 1}" if wide else f"H{h + 1}") for c, h in enumerate(self.head_ids)]])
            self.plot_item.getAxis("right").setTicks(
                [[(r * step + centre, f"layer {layer + 1}" if wide else f"L{layer + 1}")
                  for r, layer in enumerate(self.layer_ids)]])

    # -- hover and clicks -----------------------------------------------------------------------------------
    def cell_at(self, scene_pos: QPointF) -> tuple[int, int, int, int] | None:
        """(tile row, tile col, cell row, cell col) under a scene point, or None."""
        for name, item in self.heatmaps.items():
            if item.image is None:
                continue
            p = item.mapFromScene(scene_pos)
            row, col = math.floor(p.y()), math.floor(p.x())
            if 0 <= row < item.image.shape[0] and 0 <= col < item.image.shape[1]:
                r, c = (int(v) for v in name.split(","))
                return r, c, row, col
        return None

    def _heatmap_readout(self, scene_pos: QPointF) -> str | None:
        hit = self.cell_at(scene_pos)
        if hit is None:
            return None
        r, c, row, col = hit
        value = float(self.values[r, c, row, col])
        where = f"layer {self.layer_ids[r] + 1} · head {self.head_ids[c] + 1}\n"
        k, T = self.k, self.length
        if k == 1:
            cell = f"query {row} {_label(self.tokens[row])} → key {col} {_label(self.tokens[col])}"
        else:
            cell = (f"queries {row * k}–{min(T, row * k + k) - 1} → keys {col * k}–{min(T, col * k + k) - 1}"
                    f" (block maximum)")
        name = "weight" if self.mode == "weights" else "score"
        text = "masked: a future key" if math.isnan(value) else f"{name} {value:.4g}"
        return f"{where}{cell}\n{text}"

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self.cell_at(event.scenePos())
        if hit is not None:
            r, c, row, col = hit
            self.cellClicked.emit(self.layer_ids[r], self.head_ids[c], row * self.k, col * self.k)

    # -- data ------------------------------------------------------------------------------------------------
    def _csv(self):
        """One row per cell: (layer, head, query, key, tokens, value, masked), or per block when pooled."""
        name = "weight" if self.mode == "weights" else "score"
        k, T = self.k, self.length
        if k == 1:
            header = ["layer", "head", "query", "key", "query_token", "key_token", name, "masked"]
        else:
            header = ["layer", "head", "query_from", "query_to", "key_from", "key_to", f"max_{name}", "masked"]

        def rows():
            for (r, c, q, j), v in np.ndenumerate(self.values):
                masked = math.isnan(float(v))
                value = 0.0 if masked and self.mode == "weights" else float(v)
                where = ((q, j, self.tokens[q], self.tokens[j]) if k == 1 else
                         (q * k, min(T, q * k + k) - 1, j * k, min(T, j * k + k) - 1))
                yield (self.layer_ids[r] + 1, self.head_ids[c] + 1, *where, value, masked)
        return header, rows()


def _tick(token: str) -> str:
    return token if token.strip() else "␣"


class TokenLinksPanel(PlotPanel):
    """One query's attention as lines from it (top row) to the keys (bottom row), width and opacity by weight."""

    queryChosen = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__("Token view", "position", "", parent=parent)
        self.plot_item.showGrid(False, False)
        self.plot_item.getAxis("left").setTicks([[(1, "query"), (0, "key")]])
        self.plot_item.getAxis("bottom").enableAutoSIPrefix(False)
        self.plot_item.setMouseEnabled(x=True, y=False)
        self._lines: list[pg.PlotCurveItem] = []
        self._texts: list[pg.TextItem] = []
        self.tokens: tuple[str, ...] = ()
        self.weights = np.zeros(0, dtype=np.float32)
        self.query = 0
        self.window = (0, 0)
        self.outside = 0.0
        self.plot_widget.scene().sigMouseClicked.connect(self._clicked)
        self.set_data_provider(self._csv)

    def show_query(self, tokens, weights: np.ndarray, masked: np.ndarray, query: int) -> None:
        """Draw where `query` looks: `weights` (T,) of one head, `masked` (T,) the keys it may not see."""
        self.tokens, self.query = tuple(tokens), int(query)
        self.weights = np.where(masked, 0.0, np.asarray(weights, dtype=np.float64))
        T = len(self.tokens)
        if masked[query + 1:].all():  # causal: the keys are the query and what comes before it
            a = max(0, query - LINK_WINDOW + 1)
        else:
            a = max(0, min(query - LINK_WINDOW // 2, T - LINK_WINDOW))
        b = min(T, a + LINK_WINDOW)
        self.window = (a, b)
        inside = self.weights[a:b]
        self.outside = float(max(0.0, self.weights.sum() - inside.sum()))
        color = pg.mkColor(theme.curve_color(0))
        top = float(inside.max()) if inside.size and inside.max() > 0 else 1.0
        keys = [j for j in range(a, b) if self.weights[j] >= 0.01 * top and self.weights[j] > 0]
        while len(self._lines) < len(keys):
            line = pg.PlotCurveItem()
            self.plot_item.addItem(line)
            self._lines.append(line)
        for line, j in zip(self._lines, keys):
            w = float(self.weights[j])
            c = pg.mkColor(color)
            c.setAlpha(int(50 + 205 * w / top))
            line.setPen(pg.mkPen(c, width=0.5 + 9.5 * w))
            line.setData([query, j], [1.0, 0.0])
            line.setVisible(True)
        for line in self._lines[len(keys):]:
            line.setVisible(False)
        self._draw_tokens(a, b, masked)
        self.plot_item.setRange(xRange=(a - 0.8, b - 0.2), yRange=(-0.35, 1.35), padding=0)

    def _draw_tokens(self, a: int, b: int, masked: np.ndarray) -> None:
        fg = pg.mkColor(theme.foreground_color())
        grey = pg.mkColor(150, 150, 150)
        hi = pg.mkColor(theme.curve_color(1))
        needed = 2 * (b - a)
        while len(self._texts) < needed:
            item = pg.TextItem(anchor=(0.5, 0.5))
            self.plot_item.addItem(item, ignoreBounds=True)
            self._texts.append(item)
        bold = QFont()
        bold.setBold(True)
        plain = QFont()
        for n, pos in enumerate(range(a, b)):
            label = _tick(self.tokens[pos])
            top, bottom = self._texts[2 * n], self._texts[2 * n + 1]
            top.setText(label, color=hi if pos == self.query else fg)
            top.setFont(bold if pos == self.query else plain)
            top.setPos(pos, 1.18)
            bottom.setText(label, color=grey if masked[pos] else fg)
            bottom.setFont(plain)
            bottom.setPos(pos, -0.18)
            top.setVisible(True)
            bottom.setVisible(True)
        for item in self._texts[needed:]:
            item.setVisible(False)

    def _heatmap_readout(self, scene_pos: QPointF) -> str | None:
        if not self.tokens:
            return None
        p = self.plot_item.getViewBox().mapSceneToView(scene_pos)
        j = int(round(p.x()))
        if not self.window[0] <= j < self.window[1]:
            return None
        if p.y() > 0.5:
            return f"query {j} {_label(self.tokens[j])}: click to follow it"
        return (f"query {self.query} {_label(self.tokens[self.query])} → key {j} {_label(self.tokens[j])}\n"
                f"weight {self.weights[j]:.4g}")

    def _curve_readout(self, view_pos) -> str | None:
        return None

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not self.tokens:
            return
        p = self.plot_item.getViewBox().mapSceneToView(event.scenePos())
        j = int(round(p.x()))
        if p.y() > 0.5 and self.window[0] <= j < self.window[1]:
            self.queryChosen.emit(j)

    def _csv(self):
        rows = [(self.query, j, self.tokens[j], float(self.weights[j])) for j in range(len(self.tokens))]
        return ["query", "key", "key_token", "weight"], rows
