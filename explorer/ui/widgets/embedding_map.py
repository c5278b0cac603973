"""The embedding map: every word as a point in 2-D, the most frequent ones labelled, hover shows the word."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor

from .. import theme

TRAIL_LENGTH = 12  # snapshots a trail reaches back


class EmbeddingMap:
    """Draws an EmbeddingSnapshot's coordinates into a PlotItem; built once, then updated with setData."""

    def __init__(self, plot: pg.PlotItem, n_labels: int = 40) -> None:
        self.plot = plot
        self.n_labels = n_labels
        self.scatter = pg.ScatterPlotItem(size=6, pxMode=True, pen=None, hoverable=True,
                                          hoverSize=11, hoverPen=pg.mkPen("k", width=1.5),
                                          tip=lambda x, y, data: f"{data}  ({x:.3g}, {y:.3g})")
        plot.addItem(self.scatter)
        self.on_click = None  # called with the clicked word's index (the tab looks it up)
        self.scatter.sigClicked.connect(self._clicked)
        self.labels: list[pg.TextItem] = []
        self.key = pg.LegendItem(offset=(-10, -10), colCount=2, labelTextSize="8pt",
                                 brush=pg.mkBrush(255, 255, 255, 200), pen=pg.mkPen(180, 180, 180))
        self.key.setParentItem(plot.getViewBox())
        self.key.hide()
        self._key_items: list[pg.ScatterPlotItem] = []
        self.empty_hint = pg.TextItem("Press Train: every word of the vocabulary appears here as a point,\n"
                                      "placed by the first two principal components of its vector.",
                                      color=(120, 120, 120), anchor=(0.5, 0.5))
        self.empty_hint.setParentItem(plot.getViewBox())
        vb_ = plot.getViewBox()
        vb_.sigResized.connect(lambda v: self.empty_hint.setPos(v.width() / 2, v.height() / 2))
        self.marks = pg.ScatterPlotItem(size=13, pxMode=True, brush=None, pen=pg.mkPen((220, 40, 40), width=2))
        self.marks.setZValue(20)
        plot.addItem(self.marks)
        self.arrows = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((220, 40, 40), width=2))
        self.arrows.setZValue(19)
        plot.addItem(self.arrows)
        self.heads = [pg.ArrowItem(headLen=12, brush=(220, 40, 40), pen=None) for _ in range(2)]
        for head in self.heads:
            head.setZValue(21)
            head.hide()
            plot.addItem(head)
        self.mark_labels: list[pg.TextItem] = []
        # fading trails of the marked words: one curve per age, older segments fainter
        self.trails_on = False
        self.trail_length = TRAIL_LENGTH
        self._history: list[np.ndarray] = []
        self.trail_items = []
        for age in range(TRAIL_LENGTH):
            fresh = 1 - age / TRAIL_LENGTH
            item = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((220, 40, 40, int(200 * fresh ** 2.5) + 12),
                                                                  width=1 + 1.5 * fresh))
            item.setZValue(18)
            plot.addItem(item)
            self.trail_items.append(item)
        self._marked: list[int] = []
        self._label_hidden: set[int] = set()
        self._arrow_ids: list[tuple[int, int]] = []
        self.show_key = True  # the colour key in the corner (small side-by-side maps leave it out)
        self.follow = True  # fit the view to the points until the user pans or zooms
        vb = plot.getViewBox()
        vb.sigRangeChangedManually.connect(self._user_moved_view)
        plot.disableAutoRange()
        self._words: tuple[str, ...] | None = None
        self._brushes: list = []
        self._key_entries: list = []
        self.color_by = "auto"
        self.last_snapshot = None
        self.legend_text = ""

    def _prepare(self, words: tuple[str, ...], counts: np.ndarray, classes: tuple[str, ...]) -> None:
        """Brushes for a vocabulary (once per vocabulary, not per frame)."""
        self._words = words
        self._data = np.array(words, dtype=object)
        has_classes = any(classes) and self.color_by in ("auto", "class")
        if has_classes:
            names = sorted({c for c in classes if c})
            cache = {name: pg.mkBrush(pg.intColor(i, hues=max(1, len(names)), minValue=170, sat=210))
                     for i, name in enumerate(names)}
            cache[""] = pg.mkBrush(150, 150, 150, 120)
            self._brushes = [cache[c] for c in classes]
            self.legend_text = "colour: word class"
            self._key_entries = [(name, cache[name]) for name in names] + [("other", cache[""])]
        else:
            logc = np.log10(np.maximum(counts, 1).astype(np.float64))
            span = max(1e-9, logc.max() - logc.min())
            buckets = np.minimum(15, ((logc - logc.min()) / span * 16).astype(int))
            cmap = pg.colormap.get("viridis")
            cache = [pg.mkBrush(cmap.map(0.1 + 0.85 * b / 15, mode="qcolor")) for b in range(16)]
            self._brushes = [cache[b] for b in buckets]
            self.legend_text = "colour: frequency"
            self._key_entries = [("rare", cache[0]), ("frequent", cache[15])]

    def _style_new_vocabulary(self) -> None:
        """Colours, labels and key of a new vocabulary: a later event-loop turn than its first points."""
        words = self._words
        if words is None or self.last_snapshot is None or self.last_snapshot.words != words:
            return
        self.scatter.setBrush(self._brushes)
        self._set_key(self._key_entries)
        fg = QColor(theme.foreground_color())
        for item in self.labels[self.n_labels:]:
            self.plot.removeItem(item)
        self.labels = self.labels[: self.n_labels]
        for i, word in enumerate(words[: self.n_labels]):  # label items are reused across vocabularies
            if i < len(self.labels):
                self.labels[i].setText(word, color=fg)
                self.labels[i].show()
            else:
                item = pg.TextItem(word, color=fg, anchor=(0.5, 1.2))
                self.plot.addItem(item)
                self.labels.append(item)
        coords = self.last_snapshot.coords
        for item, (x, y) in zip(self.labels, coords[: len(self.labels)]):
            item.setPos(float(x), float(y))
        self._label_hidden = set()
        if self._marked:
            self._place_marks()

    def _set_key(self, entries) -> None:
        self.key.clear()
        bg = QColor(theme.background_color())
        bg.setAlpha(210)
        self.key.setBrush(pg.mkBrush(bg))
        self.key.setLabelTextColor(theme.foreground_color())
        self._key_items = []
        for name, brush in entries:
            sample = pg.ScatterPlotItem(size=8, pen=None, brush=brush)
            self._key_items.append(sample)
            self.key.addItem(sample, name)
        self.key.setVisible(self.show_key)

    def draw(self, snap) -> None:
        """Show one snapshot (the vocabulary's brushes and labels are reused between frames)."""
        self.last_snapshot = snap
        self.empty_hint.hide()
        coords = np.asarray(snap.coords, dtype=np.float64)
        if snap.words is self._words or snap.words == self._words:
            self._move(coords)
        else:
            # a new vocabulary is the costliest frame: plain points now, colours and labels in a later turn
            self._prepare(snap.words, snap.counts, snap.classes)
            for item in self.labels:
                item.hide()
            self.scatter.setData(pos=coords, data=self._data, brush=pg.mkBrush(150, 150, 150, 160))
            QTimer.singleShot(40, self._style_new_vocabulary)
        for item, (x, y) in zip(self.labels, coords[: len(self.labels)]):
            item.setPos(float(x), float(y))
        self._remember(coords)
        self.fit_view()
        if self._marked or self._arrow_ids:
            self._place_marks()
        self._draw_trails()

    def _clicked(self, _item, points, _event=None) -> None:
        if self.on_click is None or not len(points) or self._words is None:
            return
        self.on_click(self._words.index(points[0].data()))

    def _remember(self, coords: np.ndarray) -> None:
        if self._history and self._history[-1].shape != coords.shape:
            self._history = []
        self._history.append(coords.copy())
        del self._history[:-(self.trail_length + 1)]

    def reset_trails(self) -> None:
        """Forget where the points were (a new projection makes old positions meaningless)."""
        self._history = self._history[-1:]
        self._draw_trails()

    def set_trails(self, on: bool) -> None:
        """Show, for each marked word, the path of its last positions, fading with age."""
        self.trails_on = bool(on)
        self._draw_trails()

    def trail(self, i: int) -> np.ndarray:
        """(n, 2) the remembered positions of word i, oldest first."""
        return np.array([h[i] for h in self._history if i < len(h)])

    def _draw_trails(self) -> None:
        ids = [i for i in self._marked if self._history and i < len(self._history[-1])]
        hist = self._history
        for age, item in enumerate(self.trail_items):
            new, old = len(hist) - 1 - age, len(hist) - 2 - age
            if not self.trails_on or not ids or old < 0:
                item.setData([], [])
                continue
            seg = np.stack([hist[old][ids], hist[new][ids]], axis=1).reshape(-1, 2)
            item.setData(seg[:, 0], seg[:, 1])

    def mark(self, ids: list[int], arrows: list[tuple[int, int]] = ()) -> None:
        """Ring and label these words (a query and its neighbours); draw arrows between word pairs."""
        self._marked, self._arrow_ids = [int(i) for i in ids], [(int(a), int(b)) for a, b in arrows]
        fg = QColor(theme.foreground_color())
        while len(self.mark_labels) < len(self._marked):
            item = pg.TextItem("", color=(200, 30, 30), anchor=(0, 1))
            item.setZValue(22)
            self.plot.addItem(item)
            self.mark_labels.append(item)
        shown = [i for i in self._marked if self._words is not None and i < len(self._words)]
        for n, item in enumerate(self.mark_labels):
            item.setVisible(n < len(shown))
            if n < len(shown):
                item.setText(self._words[shown[n]], color=(200, 30, 30) if n == 0 else fg)
        self._place_marks()
        self._draw_trails()

    def _place_marks(self) -> None:
        if self.last_snapshot is None:
            return
        c = np.asarray(self.last_snapshot.coords, dtype=np.float64)
        ids = [i for i in self._marked if i < len(c)]
        self.marks.setData(pos=c[ids] if ids else np.zeros((0, 2)))
        for item, i in zip(self.mark_labels, ids):
            item.setPos(float(c[i, 0]), float(c[i, 1]))
        marked = {i for i in ids if i < len(self.labels)}
        for i in self._label_hidden - marked:  # a marked word is labelled once, by its mark
            self.labels[i].setVisible(i < len(c))
        for i in marked:
            self.labels[i].setVisible(False)
        self._label_hidden = marked
        pairs = [(a, b) for a, b in self._arrow_ids if a < len(c) and b < len(c)]
        if pairs:
            xy = np.array([[c[a], c[b]] for a, b in pairs]).reshape(-1, 2)
            self.arrows.setData(xy[:, 0], xy[:, 1])
        else:
            self.arrows.setData([], [])
        for n, head in enumerate(self.heads):
            if n < len(pairs):
                a, b = pairs[n]
                d = c[b] - c[a]
                px = self.plot.getViewBox().viewPixelSize()
                angle = np.degrees(np.arctan2(-d[1] / px[1], d[0] / px[0])) + 180  # ArrowItem points at angle 0 ←
                head.setStyle(angle=angle)
                head.setPos(float(c[b, 0]), float(c[b, 1]))
                head.show()
            else:
                head.hide()

    def _user_moved_view(self, *_args) -> None:
        self.follow = False

    def fit_view(self, force: bool = False) -> None:
        """Keep all points in view, changing the range only when they leave it or fill too little of it.

        A range that changes every frame makes pyqtgraph rebuild both axes each time (the costliest part of a frame).
        """
        snap = self.last_snapshot
        if snap is None or (not self.follow and not force):
            return
        c = np.asarray(snap.coords)
        lo, hi = c.min(axis=0).astype(float), c.max(axis=0).astype(float)
        (x0, x1), (y0, y1) = self.plot.getViewBox().viewRange()
        span = np.maximum(hi - lo, 1e-9)
        inside = lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1
        snug = span[0] >= 0.6 * (x1 - x0) and span[1] >= 0.6 * (y1 - y0)
        if force or not (inside and snug):
            pad = 0.08 * span
            self.plot.setRange(xRange=(lo[0] - pad[0], hi[0] + pad[0]), yRange=(lo[1] - pad[1], hi[1] + pad[1]),
                               padding=0)

    def _move(self, coords: np.ndarray) -> None:
        """Move the existing points (same words, same brushes): 4x cheaper than setData for 10k points."""
        sp = self.scatter
        sp.data["x"] = coords[:, 0]
        sp.data["y"] = coords[:, 1]
        sp.prepareGeometryChange()
        sp.informViewBoundsChanged()
        sp.bounds = [None, None]
        sp.invalidate()
        sp.sigPlotChanged.emit(sp)

    def positions(self) -> np.ndarray:
        """The drawn coordinates, in vocabulary order."""
        x, y = self.scatter.getData()
        return np.column_stack([x, y])

    def point_words(self) -> list[str]:
        """The word behind every drawn point, in vocabulary order (what hovering shows)."""
        return [p.data() for p in self.scatter.points()]

    def clear(self) -> None:
        self.scatter.clear()
        for item in self.labels:
            item.hide()
        self.mark([])
        self._words = None
        self.last_snapshot = None
        self.key.hide()
        self.empty_hint.show()
        self.follow = True
        self._history = []
        self._draw_trails()
