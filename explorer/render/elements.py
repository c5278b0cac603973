"""Drawing the elements of a figure (series, heatmaps, points, bars, segments, lines, texts, arrows, labels)
into a pyqtgraph plot, incrementally: items are kept by name and updated in place."""
from __future__ import annotations

import html
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainterPath, QTransform

from ..figures.figure import Arrow, Figure, Heatmap, Points, RefLine, Series
from ..figures.palette import curve_color
from .labels import least_covered, place_labels, polyline_samples
from .live_curve import LiveCurve

_SYMBOLS = {"o": "o", "s": "s", "t": "t", "x": "x", "+": "+", "d": "d"}
HEAD_PX = 11.0  # arrow heads, in pixels at 1× (scaled with the export like every other pixel size)
# where a reference line's label may sit, in the order preferred: (position along the line, text anchor)
H_LINE_SPOTS = ((0.98, (1, 1)), (0.98, (1, 0)), (0.02, (0, 1)), (0.02, (0, 0)), (0.5, (0.5, 1)), (0.5, (0.5, 0)))
V_LINE_SPOTS = ((0.97, (0, 0)), (0.97, (1, 0)), (0.03, (0, 1)), (0.03, (1, 1)), (0.5, (0, 0.5)), (0.5, (1, 0.5)))


def _color(value, index: int = 0):
    """A pyqtgraph colour from a palette index, a colour string or an RGBA tuple."""
    if value is None:
        return pg.mkColor(curve_color(index))
    if isinstance(value, (int, np.integer)):
        return pg.mkColor(curve_color(int(value)))
    return pg.mkColor(value)


def lookup_table(colormap: str, nan_color: str | None) -> np.ndarray:
    """256 colours of `colormap`; with `nan_color`, entry 0 is that colour (NaN cells are drawn below the range)."""
    lut = pg.colormap.get(colormap).getLookupTable(nPts=256 if nan_color is None else 255, alpha=False)
    if nan_color is None:
        return lut
    c = pg.mkColor(nan_color)
    return np.vstack([np.array([[c.red(), c.green(), c.blue()]], dtype=lut.dtype), lut])


def heatmap_image(h: Heatmap) -> tuple[np.ndarray, tuple[float, float]]:
    """The float32 C-contiguous image and levels to draw (NaN mapped below the range when it has a colour)."""
    low, high = h.levels
    values = h.values
    if h.nan_color is not None:
        step = (high - low) / 254.0
        image = np.where(np.isfinite(values), np.clip(values, low, high), low - step)
        return np.ascontiguousarray(image, dtype=np.float32), (low - step, high)
    image = np.nan_to_num(values, nan=low, posinf=high, neginf=low)
    return np.ascontiguousarray(image, dtype=np.float32), (low, high)


def arrow_head(angle_rad: float) -> QPainterPath:
    """A filled triangle pointing along `angle_rad` (screen coordinates, y down), tip at the origin, 1 unit long."""
    path = QPainterPath()
    path.moveTo(0.0, 0.0)
    path.lineTo(-1.0, 0.38)
    path.lineTo(-1.0, -0.38)
    path.closeSubpath()
    return QTransform().rotateRadians(angle_rad).map(path)


class BackedLineLabel(pg.InfLineLabel):
    """A reference line's label on a backing of the plot's background: drawn by the text itself (a span's
    background), so it sits exactly behind the text in PNG, SVG and PDF alike (a TextItem's fill is painted
    apart from its text, and in PDFs it landed below it)."""

    backing = QColor(255, 255, 255, 200)

    def set_backing(self, color: QColor) -> None:
        backing = QColor(color)
        backing.setAlpha(200)
        if backing != self.backing:
            self.backing = backing
            self.valueChanged()

    def valueChanged(self) -> None:
        if not self.isVisible():
            return
        c = self.backing
        text = html.escape(self.format.format(value=self.line.value()))
        self.setHtml(f"<span style='background-color: rgba({c.red()},{c.green()},{c.blue()},{c.alpha()})'>"
                     f"&nbsp;{text}&nbsp;</span>")
        self.updatePosition()


class ElementsMixin:
    """The element drawing of `FigureCanvas` (it provides plot_item, legend, curves, heatmaps and the pools)."""

    def _draw_series(self, series: tuple[Series, ...]) -> None:
        wanted = {s.name for s in series}
        for name in [n for n in self.curves if n not in wanted]:
            self.curves.pop(name).remove()
        for i, s in enumerate(series):
            curve = self.curves.get(s.name)
            color = _color(s.color, i)
            pen = pg.mkPen(color, width=s.width, style=Qt.PenStyle.DashLine if s.dash else Qt.PenStyle.SolidLine) \
                if s.line else None
            if curve is None:
                curve = LiveCurve(self.plot_item, s.name, pen)
                self.curves[s.name] = curve
                if not s.legend:
                    self.legend.removeItem(curve.item)
            else:
                curve.set_pen(pen)
            if s.symbol:
                curve.item.setSymbol(_SYMBOLS.get(s.symbol, "o"))
                curve.item.setSymbolSize(s.symbol_size)
                curve.item.setSymbolBrush(color)
                curve.item.setSymbolPen(color)
            else:
                curve.item.setSymbol(None)
            if len(curve) != s.x.size or not (np.array_equal(curve.x, s.x) and np.array_equal(curve.y, s.y,
                                                                                                 equal_nan=True)):
                curve.set_data(s.x, s.y)
            if curve.dirty:
                curve.redraw()

    def _draw_heatmaps(self, heatmaps: tuple[Heatmap, ...]) -> None:
        wanted = {h.name for h in heatmaps}
        for name in [n for n in self.heatmaps if n not in wanted]:
            self.plot_item.removeItem(self.heatmaps.pop(name))
        self.plot_item.showGrid(x=not heatmaps, y=not heatmaps, alpha=0.15)
        bar_for = next((h for h in heatmaps if h.colorbar), None)
        for h in heatmaps:
            item = self.heatmaps.get(h.name)
            if item is None:
                item = pg.ImageItem(axisOrder="row-major")
                self.plot_item.addItem(item)
                self.heatmaps[h.name] = item
            item.setLookupTable(lookup_table(h.colormap, h.nan_color))
            image, levels = heatmap_image(h)
            item.setImage(image, autoLevels=False, levels=levels)
            item.setRect(QRectF(*h.extent))
        self._set_colorbar(bar_for)

    def _set_colorbar(self, h: Heatmap | None) -> None:
        if h is None:
            if self.colorbar is not None:
                self.ci.removeItem(self.colorbar)
                self.colorbar = None
            return
        cmap = pg.colormap.get(h.colormap)
        if self.colorbar is None:
            self.colorbar = pg.ColorBarItem(values=h.levels, colorMap=cmap, label=h.scale_label, interactive=False,
                                            width=14, colorMapMenu=False)
            self.ci.addItem(self.colorbar, row=1, col=1)
            for side in ("left", "right"):  # plain numbers: "(×0.001)" and ticks at ±600 misread the scale
                self.colorbar.getAxis(side).enableAutoSIPrefix(False)
            self._colorbar_label = h.scale_label
        self.colorbar.setColorMap(cmap)
        self.colorbar.setLevels(h.levels)
        if h.scale_label != self._colorbar_label:
            self.colorbar.getAxis("left").setLabel(h.scale_label)  # where ColorBarItem(label=) puts it
            self._colorbar_label = h.scale_label

    def _draw_points(self, points: tuple[Points, ...]) -> None:
        wanted = {("points", p.name) for p in points}
        for key in [k for k in self._items if k[0] == "points" and k not in wanted]:
            self._remove(key)
        for p in points:
            key = ("points", p.name)
            item = self._items.get(key)
            if item is None:
                item = pg.ScatterPlotItem(pxMode=True, name=p.name if p.legend else None)
                item.setZValue(20 if p.ring else 10)
                item.sigClicked.connect(lambda _item, spots, _ev=None, n=p.name: self._clicked(n, spots))
                self.plot_item.addItem(item)
                self._items[key] = item
            if p.ring:
                pen = pg.mkPen(_color(p.color), width=2)
                item.setData(p.x, p.y, size=p.size, symbol=p.symbol, pen=pen, brush=None)
            elif isinstance(p.color, np.ndarray) and p.color.ndim == 2:
                brushes = [pg.mkBrush(*c) for c in p.color.tolist()]
                item.setData(p.x, p.y, size=p.size, symbol=p.symbol, pen=None, brush=brushes)
            else:
                item.setData(p.x, p.y, size=p.size, symbol=p.symbol, pen=None, brush=pg.mkBrush(_color(p.color)))

    def _clicked(self, name: str, spots) -> None:
        fig = self.figure
        spec = next((p for p in fig.points if p.name == name), None) if fig is not None else None
        if spec is not None and spec.clickable and len(spots):
            self.pointClicked.emit(name, int(spots[0].index()))

    def _draw_bars(self, fig: Figure) -> None:
        wanted = {("bars", b.name) for b in fig.bars}
        for key in [k for k in self._items if k[0] == "bars" and k not in wanted]:
            self._remove(key)
        for i, b in enumerate(fig.bars):
            key = ("bars", b.name)
            item = self._items.get(key)
            brush = pg.mkBrush(_color(b.color, i))
            if item is None:
                item = pg.BarGraphItem(x=b.x, height=b.height, width=b.width, brush=brush, pen=None,
                                       name=b.name if b.legend else None)
                self.plot_item.addItem(item)
                self._items[key] = item
            else:
                item.setOpts(x=b.x, height=b.height, width=b.width, brush=brush)

    def _draw_segments(self, fig: Figure) -> None:
        wanted = {("segments", s.name) for s in fig.segments}
        for key in [k for k in self._items if k[0] == "segments" and k not in wanted]:
            self._remove(key)
        for s in fig.segments:
            key = ("segments", s.name)
            item = self._items.get(key)
            if item is None:
                item = pg.PlotCurveItem(name=s.name if s.legend else None)
                self.plot_item.addItem(item)
                self._items[key] = item
            xs = s.xy[:, [0, 2]].ravel()
            ys = s.xy[:, [1, 3]].ravel()
            item.setData(xs, ys, connect="pairs", pen=pg.mkPen(_color(s.color), width=s.width))

    def _remove(self, key) -> None:
        item = self._items.pop(key)
        self.plot_item.removeItem(item)
        self.legend.removeItem(item)

    def _draw_lines(self, lines: tuple[RefLine, ...]) -> None:
        while len(self._lines) > len(lines):
            self.plot_item.removeItem(self._lines.pop())
        while len(self._lines) < len(lines):
            line = pg.InfiniteLine(movable=False)
            line.ref_label = BackedLineLabel(line, text="", position=0.95)
            line.setZValue(15)  # above the curves, so that its label's backing hides a curve it crosses
            self.plot_item.addItem(line, ignoreBounds=True)
            self._lines.append(line)
        for item, ref in zip(self._lines, lines, strict=True):  # the pool has just been sized to the lines
            item.setAngle(90 if ref.vertical else 0)
            # inside the plot: a vertical line's label hangs right of its top, a horizontal one's sits above its end
            item.ref_label.anchors = [(0, 0), (0, 0)] if ref.vertical else [(1, 1), (1, 1)]
            item.ref_label.orthoPos = 0.97 if ref.vertical else 0.98
            item.ref_label.updatePosition()
            item.setPen(pg.mkPen(_color(ref.color), width=1.5,
                                 style=Qt.PenStyle.DashLine if ref.dash else Qt.PenStyle.SolidLine))
            value = ref.value
            ctrl = self.plot_item.ctrl
            log = ctrl.logXCheck.isChecked() if ref.vertical else ctrl.logYCheck.isChecked()
            if log:
                value = math.log10(value) if value > 0 else float("nan")
            item.setPos(value)
            item.setVisible(math.isfinite(value))
            item.ref_label.setFormat(ref.label)
            item.ref_label.setColor(_color(ref.color))
            item.ref_label.set_backing(self.backgroundBrush().color())  # legible over a curve it crosses
            item.ref_label.setVisible(bool(ref.label))

    def _place_line_labels(self) -> None:
        """Each reference line's label where it covers the fewest points of the figure's curves, inside the plot:
        above its right end, else below it, at its left end or its middle ("σ = 1" is not written across a curve
        that ends on the line)."""
        fig = self.figure
        if fig is None or not fig.lines or len(self._lines) != len(fig.lines):
            return
        x, y = self._curve_samples(fig)
        vb = self.plot_item.getViewBox()
        view = vb.viewRect()
        bounds = (view.left(), view.top(), view.right(), view.bottom())
        for item, ref in zip(self._lines, fig.lines, strict=True):
            label = item.ref_label
            value = item.value()  # in view coordinates (log10 on a log axis)
            lo, hi = (bounds[0], bounds[2]) if ref.vertical else sorted((bounds[1], bounds[3]))
            shown = bool(ref.label) and item.isVisible() and lo <= value <= hi
            if label.isVisible() != shown:
                label.setVisible(shown)  # a line out of view has no label at the edge
            if not shown:
                continue
            spots = V_LINE_SPOTS if ref.vertical else H_LINE_SPOTS
            boxes = []
            for position, anchor in spots:
                label.anchors = [anchor, anchor]
                label.setPosition(position)
                label.updateTransform(force=True)  # else its size in the view is the last paint's
                r = vb.mapSceneToView(label.sceneBoundingRect()).boundingRect()
                boxes.append((r.left(), r.top(), r.right(), r.bottom()))
            position, anchor = spots[least_covered(boxes, x, y, bounds)]
            label.anchors = [anchor, anchor]
            label.setPosition(position)

    def _curve_samples(self, fig: Figure) -> tuple[np.ndarray, np.ndarray]:
        """Points along the figure's curves in view coordinates, computed once per figure and scale (the labels
        are placed again at every change of the view)."""
        ctrl = self.plot_item.ctrl
        key = (id(fig), ctrl.logXCheck.isChecked(), ctrl.logYCheck.isChecked())
        cached = getattr(self, "_samples", None)
        if cached is not None and cached[0] == key and cached[1] is fig:
            return cached[2], cached[3]
        xs, ys = [np.zeros(0)], [np.zeros(0)]
        for s in fig.series:
            x, y = polyline_samples(s.x, s.y)
            with np.errstate(divide="ignore", invalid="ignore"):
                xs.append(np.log10(x) if key[1] else x)
                ys.append(np.log10(y) if key[2] else y)
        x, y = np.concatenate(xs), np.concatenate(ys)
        self._samples = (key, fig, x, y)
        return x, y

    def _draw_texts(self, fig: Figure) -> None:
        while len(self._texts) > len(fig.texts):
            self.plot_item.removeItem(self._texts.pop())
        while len(self._texts) < len(fig.texts):
            item = pg.TextItem("")
            item.setZValue(30)
            self.plot_item.addItem(item, ignoreBounds=True)
            self._texts.append(item)
        fg = self.plot_item.getAxis("left").textPen().color()
        for item, t in zip(self._texts, fig.texts, strict=True):
            item.setText(t.text, color=fg if t.color is None else _color(t.color))
            item.setAnchor(t.anchor)
            item.setPos(t.x, t.y)

    def _draw_arrows(self, arrows: tuple[Arrow, ...]) -> None:
        if not arrows:
            for item in (self._arrow_lines, self._arrow_heads):
                if item is not None:
                    item.hide()
            return
        if self._arrow_lines is None:
            self._arrow_lines = pg.PlotCurveItem()
            self._arrow_heads = pg.ScatterPlotItem(pxMode=True)
            for item in (self._arrow_lines, self._arrow_heads):
                item.setZValue(25)
                self.plot_item.addItem(item, ignoreBounds=True)
        xs = np.array([[a.x0, a.x1] for a in arrows]).ravel()
        ys = np.array([[a.y0, a.y1] for a in arrows]).ravel()
        self._arrow_lines.setData(xs, ys, connect="pairs", pen=pg.mkPen(_color(arrows[0].color), width=2))
        self._arrow_lines.show()
        self._arrow_heads.show()
        self._orient_arrow_heads()

    def _orient_arrow_heads(self) -> None:
        """Point each head along its arrow as drawn on screen (the angle depends on the view's aspect)."""
        fig = self.figure
        if fig is None or not fig.arrows or self._arrow_heads is None:
            return
        pw, ph = self.plot_item.getViewBox().viewPixelSize()
        pw = pw if pw > 0 and math.isfinite(pw) else 1.0
        ph = ph if ph > 0 and math.isfinite(ph) else 1.0
        symbols, brushes = [], []
        for a in fig.arrows:
            angle = math.atan2(-(a.y1 - a.y0) / ph, (a.x1 - a.x0) / pw)
            symbols.append(arrow_head(angle))
            brushes.append(pg.mkBrush(_color(a.color)))
        self._arrow_heads.setData([a.x1 for a in fig.arrows], [a.y1 for a in fig.arrows], symbol=symbols,
                                  size=HEAD_PX, brush=brushes, pen=None)

    def _place_labels(self) -> None:
        fig = self.figure
        wanted = [] if fig is None else [(p, i, text) for p in fig.points for i, text in p.labels
                                         if 0 <= i < p.x.size]
        vb = self.plot_item.getViewBox()
        font = QFont(self.font())
        metrics = QFontMetricsF(font)
        anchors, sizes = [], []
        for p, i, text in wanted:
            pos = vb.mapViewToScene(QPointF(float(p.x[i]), float(p.y[i])))
            anchors.append((pos.x(), pos.y(), p.size / 2 + 2))
            sizes.append((metrics.horizontalAdvance(text) + 4, metrics.height()))
        placed = place_labels(anchors, sizes, bounds=vb.sceneBoundingRect().getRect())
        while len(self._labels) < len(wanted):
            item = pg.TextItem("", color="#303030")
            item.setZValue(40)
            self.plot_item.addItem(item, ignoreBounds=True)
            self._labels.append(item)
        for k, item in enumerate(self._labels):
            spot = placed[k] if k < len(placed) else None
            if spot is None:
                item.hide()
                continue
            p, i, text = wanted[k]
            item.setText(text, color=self.plot_item.getAxis("left").textPen().color())
            item.setAnchor(spot)
            item.setPos(float(p.x[i]), float(p.y[i]))
            item.show()
