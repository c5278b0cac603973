"""The live map's point cloud: a specialised, fast way to draw the "words" points of a map figure on screen.

The tab's state builds the whole map figure (points, labels, rings, arrows, trails) and files are made from that
figure by the one renderer. On screen the renderer draws all of it but the cloud of words, which `PointCloud`
draws instead: one ScatterPlotItem whose brushes are made once per vocabulary (from its few distinct colours)
and whose points are moved in place while the vocabulary stays the same (4x cheaper than setData for 10,000
points; building thousands of brushes every frame would cost more than the whole frame budget).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer

from ...figures import Axis, Figure, Points
from ...render.canvas import FigureCanvas

CLOUD = "words"  # the name of the map figure's point cloud
LABELS_LATER_MS = 60
LABELS_PLACED_EVERY_S = 1.0  # a live map re-places its labels (~3 ms for 50) at most this often; moves them between
STYLE_LATER_MS, STYLE_LATER_ABOVE = 20, 2000  # a new cloud this large gets its colours one event-loop turn later
PLAIN = pg.mkBrush(150, 150, 150, 160)


class PointCloud:
    """Draws one `Points` of many points (per-point RGBA colours) into a plot: built once, then moved in place.

    One ScatterPlotItem with one brush per distinct colour, shared by the points of that colour (measured for
    5,915 words: 20-28 ms to build, 0.3 ms to move; a ScatterPlotItem per colour took as long to build and 3 ms
    to move, and setting the brushes after the points 40 ms).
    """

    def __init__(self, plot: pg.PlotItem, name: str = CLOUD) -> None:
        self.plot, self.name = plot, name
        self.item = pg.ScatterPlotItem(pxMode=True, pen=None, hoverable=True, hoverSize=11,
                                       hoverPen=pg.mkPen("k", width=1.5), tip=self._tip)
        self.item.setZValue(10)
        self.item.sigClicked.connect(self._clicked)
        plot.addItem(self.item)
        self.names: Callable[[int], str] = lambda i: f"point {i}"  # what hovering a point shows
        self.on_click: Callable[[int], None] | None = None
        self._colors: np.ndarray | None = None  # the colour array the brushes were made from
        self._pending: Points | None = None  # points to colour in a later turn
        self._n = 0
        self._size = None
        self.brushes = 0  # distinct brushes of the points drawn
        self.sets = self.moves = 0  # how often the points were rebuilt / moved (for tests and benches)

    def show(self, p: Points | None) -> None:
        """Show these points (None or empty: none)."""
        if p is None or p.x.size == 0:
            if self._n:
                self.item.clear()
            self._n, self._colors, self._pending = 0, None, None
            return
        if p.x.size == self._n and _same_array(p.color, self._colors) and p.size == self._size:
            _move(self.item, p.x, p.y)
            self.moves += 1
            return
        self._n, self._colors, self._size = p.x.size, p.color, p.size
        self.sets += 1
        if p.x.size >= STYLE_LATER_ABOVE:  # a new vocabulary, the costliest frame: plain points now, colours soon
            self.item.setData(x=p.x, y=p.y, size=p.size, symbol=p.symbol, pen=None, brush=PLAIN,
                              data=np.arange(p.x.size))
            self._pending = p
            QTimer.singleShot(STYLE_LATER_MS, self.item, self._style)
        else:
            self._pending = None
            self.item.setData(x=p.x, y=p.y, size=p.size, symbol=p.symbol, pen=None, brush=self._brushes(p),
                              data=np.arange(p.x.size))

    def _style(self) -> None:
        """Colour the points of a new vocabulary (where they are now: they may have moved since)."""
        p, self._pending = self._pending, None
        if p is None or not _same_array(p.color, self._colors):
            return
        x, y = self.item.getData()
        self.item.setData(x=np.array(x), y=np.array(y), size=p.size, symbol=p.symbol, pen=None,
                          brush=self._brushes(p), data=np.arange(p.x.size))

    def _brushes(self, p: Points):
        """One brush per distinct colour, the same object for every point of that colour."""
        color = p.color
        if isinstance(color, np.ndarray) and color.ndim == 2:
            rgba = np.ascontiguousarray(color[: p.x.size], dtype=np.uint8)
            unique, inverse = np.unique(rgba.view(np.uint32).ravel(), return_inverse=True)
            brushes = [pg.mkBrush(*c) for c in unique.view(np.uint8).reshape(-1, 4).tolist()]
            self.brushes = len(brushes)
            return [brushes[k] for k in inverse.tolist()]
        self.brushes = 1
        return pg.mkBrush(color if isinstance(color, str) else (150, 150, 150, 200))

    def positions(self) -> np.ndarray:
        """(n, 2) the drawn coordinates, in the order of the points given."""
        x, y = self.item.getData()
        return np.column_stack([x, y]) if self._n else np.zeros((0, 2))

    def point_words(self) -> list[str]:
        """What hovering each drawn point shows (its word), in order."""
        return [self.names(int(i)) for i in range(self._n)]

    def _tip(self, x: float, y: float, data) -> str:
        return f"{self.names(int(data))}  ({x:.3g}, {y:.3g})"

    def _clicked(self, _item, points, _event=None) -> None:
        if self.on_click is not None and len(points):
            self.on_click(int(points[0].data()))


def _move(sp: pg.ScatterPlotItem, x: np.ndarray, y: np.ndarray) -> None:
    """Move an item's existing points (same number, same brush): 4x cheaper than setData."""
    sp.data["x"] = x
    sp.data["y"] = y
    sp.prepareGeometryChange()
    sp.informViewBoundsChanged()
    sp.bounds = [None, None]
    sp.invalidate()
    sp.sigPlotChanged.emit(sp)


def _same_array(a, b) -> bool:
    """True for the same colours: one array, or views of the same memory (a held array's memory is not reused)."""
    if a is b:
        return True
    if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)) or a.shape != b.shape or a.dtype != b.dtype:
        return False
    return a.__array_interface__ == b.__array_interface__


def install_cloud(canvas: FigureCanvas, name: str = CLOUD, warm_labels: int = 0) -> PointCloud:
    """Let a `PointCloud` draw the figure's points named `name` on this canvas; the renderer draws the rest.

    Exports of the canvas render its scene, the cloud included; a click on the cloud is the canvas's
    `pointClicked(name, index)`, as for any clickable points. The labels are placed once per figure shown (the
    renderer would place them again at each range change within it: 3-5 times on a live frame), and those of a
    new vocabulary a moment later than its points. `warm_labels`: how many label items to make now (the first
    live frame would otherwise make them, ~0.5 ms each); show the canvas's real figure before it is painted.
    """
    cloud = PointCloud(canvas.plot_item, name)
    draw_others, show, place = canvas._draw_points, canvas.show_figure, canvas._place_labels
    hold = {"showing": False, "later": False}  # placing is held while a figure is shown / until a later turn

    def draw_points(points: tuple[Points, ...]) -> None:
        draw_others(tuple(p for p in points if p.name != name))
        cloud.show(next((p for p in points if p.name == name), None))

    placed = {"key": None, "at": -1e9}

    def place_labels(full: bool = False) -> None:
        """Place the labels where they collide with none (the renderer's way); between two such placements, at
        most LABELS_PLACED_EVERY_S apart while the view and the labels stay the same, move them with their points."""
        if hold["showing"] or hold["later"]:
            return
        fig, vb = canvas.figure, canvas.plot_item.getViewBox()
        wanted = [] if fig is None else [(p, i, text) for p in fig.points for i, text in p.labels
                                         if 0 <= i < p.x.size]
        key = (tuple(text for _, _, text in wanted), tuple(map(tuple, vb.viewRange())), vb.width(), vb.height())
        items = getattr(canvas, "_labels", [])
        now = time.perf_counter()
        if full or key != placed["key"] or now - placed["at"] > LABELS_PLACED_EVERY_S or len(items) < len(wanted):
            place()
            placed.update(key=key, at=now)
            return
        for item, (p, i, _text) in zip(items, wanted, strict=False):  # the renderer's order: item k, label k
            if item.isVisible():
                item.setPos(float(p.x[i]), float(p.y[i]))

    def place_later() -> None:
        hold["later"] = False
        place_labels(full=True)

    def show_figure(fig) -> None:
        rebuilt = cloud.sets
        hold["showing"] = True
        try:
            show(fig)
        finally:
            hold["showing"] = False
        if cloud.sets != rebuilt:  # a new vocabulary, the costliest frame: its labels in a later event-loop turn
            hold["later"] = True
            QTimer.singleShot(LABELS_LATER_MS, canvas, place_later)
        else:
            place_labels()

    # the canvas's own methods, replaced on this canvas only
    canvas._draw_points, canvas._place_labels, canvas.show_figure = draw_points, place_labels, show_figure
    cloud.on_click = lambda i: canvas.pointClicked.emit(name, i)
    if warm_labels:  # the renderer makes a label's item when first needed: make them now, not in the first frame
        zeros = np.zeros(warm_labels)
        show(Figure("warm", "", Axis(""), Axis(""), points=(
            Points("warm", zeros, zeros, labels=tuple((i, "") for i in range(warm_labels))),)))
    return cloud


class EmbeddingMap:
    """A map of snapshot-like objects (words, counts, classes, coords) in any plot: what bench/projection.py times."""

    def __init__(self, plot: pg.PlotItem) -> None:
        from ...state.embedding_map import word_colors

        self._word_colors = word_colors
        self.cloud = PointCloud(plot)
        self._colors: tuple | None = None

    def draw(self, snap) -> None:
        if self._colors is None or self._colors[0] != snap.words:
            self._colors = (snap.words, self._word_colors(snap.counts, snap.classes).rgba)
            self.cloud.names = lambda i, w=snap.words: w[i]
        coords = np.asarray(snap.coords, dtype=np.float64)
        self.cloud.show(Points(CLOUD, coords[:, 0], coords[:, 1], color=self._colors[1]))

    def positions(self) -> np.ndarray:
        return self.cloud.positions()
