"""The hover readout of a plot panel: the nearest curve point or heatmap cell under the pointer, gone when
the pointer leaves."""
from __future__ import annotations

import math

import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF

HOVER_RADIUS_PX = 25.0


def _fmt(v: float) -> str:
    """A number exactly as stored (integers without '.0')."""
    if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


class HoverReadout:
    """Mixin of PlotPanel (it provides plot_widget, plot_item, curves and heatmaps)."""

    def _build_hover(self) -> None:
        """The readout text and the marker on the nearest point, hidden until the pointer is over data."""
        vb = self.plot_item.getViewBox()
        self._readout = pg.TextItem(anchor=(0, 0))
        self._readout.setParentItem(vb)
        self._readout.setPos(6, 4)
        self._readout.setZValue(1000)
        self._readout.hide()
        self._marker = pg.ScatterPlotItem(size=10, brush=None)
        self._marker.setZValue(1000)
        self.plot_item.addItem(self._marker, ignoreBounds=True)
        self._marker.hide()
        self.plot_widget.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.plot_widget.installEventFilter(self)

    def eventFilter(self, watched, event) -> bool:
        """The hover readout goes when the pointer leaves the plot."""
        if watched is self.plot_widget and event.type() == QEvent.Type.Leave:
            self._hide_hover()
        return False

    def _hide_hover(self) -> None:
        self._readout.hide()
        self._marker.hide()

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        vb = self.plot_item.getViewBox()
        text = None
        if vb.sceneBoundingRect().contains(scene_pos):
            text = self._heatmap_readout(scene_pos) or self._curve_readout(vb.mapSceneToView(scene_pos))
        if text is None:
            self._readout.hide()
            self._marker.hide()
            return
        self._readout.setText(text)
        self._readout.show()

    def _heatmap_readout(self, scene_pos: QPointF) -> str | None:
        for name, item in reversed(list(self.heatmaps.items())):
            image = item.image
            if image is None or not item.isVisible():
                continue
            p = item.mapFromScene(scene_pos)
            row, col = math.floor(p.y()), math.floor(p.x())
            if 0 <= row < image.shape[0] and 0 <= col < image.shape[1]:
                self._marker.hide()
                return f"{name}  [row {row}, col {col}] = {float(image[row, col]):.6g}"
        return None

    def _curve_readout(self, view_pos: QPointF) -> str | None:
        pixel = self.plot_item.getViewBox().viewPixelSize()
        log_x, log_y = self.plot_item.ctrl.logXCheck.isChecked(), self.plot_item.ctrl.logYCheck.isChecked()
        best = None
        for name, curve in self.curves.items():
            hit = curve.nearest(view_pos.x(), view_pos.y(), pixel_size=pixel)
            if hit is None:
                continue
            xd = math.log10(hit[1]) if log_x else hit[1]
            yd = math.log10(hit[2]) if log_y else hit[2]
            dist = math.hypot((xd - view_pos.x()) / pixel[0], (yd - view_pos.y()) / pixel[1])
            if dist <= HOVER_RADIUS_PX and (best is None or dist < best[0]):
                best = (dist, name, hit, xd, yd)
        if best is None:
            self._marker.hide()
            return None
        _, name, (_index, x, y), xd, yd = best
        self._marker.setData([xd], [yd], pen=self.curves[name].item.opts["pen"])
        self._marker.show()
        return f"{name}  x = {_fmt(x)}, y = {_fmt(y)}"
