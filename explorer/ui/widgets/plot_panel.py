"""A plot with a title bar, log-axis toggles, an export menu, live curves, heatmaps and a hover readout."""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (QFileDialog, QHBoxLayout, QLabel, QMenu, QMessageBox, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from explorer.export import figures
from explorer.export.figures import FigureStyle
from explorer.export.table import write_csv
from explorer.ui import theme
from explorer.ui.widgets.live_curve import LiveCurve

DataProvider = Callable[[], tuple[list[str], np.ndarray]]
PNG_SCALES = (1.0, 2.0, 4.0)
HOVER_RADIUS_PX = 25.0
_last_dir: str | None = None


def _fmt(v: float) -> str:
    """A number exactly as stored (integers without '.0')."""
    if math.isfinite(v) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


class PlotPanel(QWidget):
    """A titled pyqtgraph plot with named axes, overlaid live curves and figure/data export."""

    def __init__(self, title: str, x_label: str, y_label: str, x_unit: str | None = None,
                 y_unit: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.curves: dict[str, LiveCurve] = {}
        self.heatmaps: dict[str, pg.ImageItem] = {}
        self._colors: dict[str, int] = {}
        self._dirty = False
        self._provider: DataProvider | None = None

        self.title_label = QLabel(title)
        bold = QFont(self.title_label.font())
        bold.setBold(True)
        self.title_label.setFont(bold)
        self.title_label.setMinimumWidth(40)  # a long title is clipped (full text in the tooltip), not widening
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.log_x_button = self._tool_button("Log x", "Logarithmic x axis")
        self.log_y_button = self._tool_button("Log y", "Logarithmic y axis")
        self.log_x_button.toggled.connect(lambda on: self.set_log(x=on))
        self.log_y_button.toggled.connect(lambda on: self.set_log(y=on))
        self.export_button = QToolButton(text="Export")
        self.export_button.setToolTip("Export the figure or its data")
        self.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setMenu(self._export_menu())

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 2, 0)
        bar.addWidget(self.title_label, 1)
        for button in (self.log_x_button, self.log_y_button, self.export_button):
            bar.addWidget(button)

        self.plot_widget = pg.PlotWidget()
        self.plot_widget.scene().contextMenu = []  # exports go through the panel (light theme, atomic)
        self.plot_item: pg.PlotItem = self.plot_widget.getPlotItem()
        self.plot_item.setLabel("bottom", x_label, units=x_unit)
        self.plot_item.setLabel("left", y_label, units=y_unit)
        self.plot_item.showGrid(x=True, y=True, alpha=0.15)
        for side in ("left", "bottom"):  # grid at major ticks only: minor grid lines cost ~60 ms a frame
            self.plot_item.getAxis(side).setStyle(maxTickLevel=0)
        self.plot_item.layout.setContentsMargins(4, 8, 12, 4)  # room for the last tick labels at the edges
        self.legend = self.plot_item.addLegend(offset=(-8, 8))
        self.legend.hide()  # until there is an entry: an empty legend is a stray box
        self.plot_item.ctrl.logXCheck.toggled.connect(self._log_mode_changed)
        self.plot_item.ctrl.logYCheck.toggled.connect(self._log_mode_changed)

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

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.plot_widget, 1)
        theme.register_themed(self)

    def set_title(self, title: str) -> None:
        """Change the title shown above the plot (and used for export file names)."""
        self.title = title
        self.title_label.setText(title)
        self.title_label.setToolTip(title)

    def _tool_button(self, text: str, tip: str) -> QToolButton:
        button = QToolButton(text=text)
        button.setCheckable(True)
        button.setToolTip(tip)
        return button

    def _export_menu(self) -> QMenu:
        menu = QMenu(self)
        png = self._png_menu = QMenu("PNG", menu)  # kept: a submenu from addMenu(str) can be collected
        menu.addMenu(png)
        for scale in PNG_SCALES:
            png.addAction(f"{scale:g}× resolution…", lambda s=scale: self._ask_and_export("png", s))
        menu.addAction("SVG…", lambda: self._ask_and_export("svg"))
        menu.addAction("PDF…", lambda: self._ask_and_export("pdf"))
        menu.addSeparator()
        menu.addAction("Data as CSV…", lambda: self._ask_and_export("csv"))
        return menu

    # ----- curves and heatmaps
    def add_curve(self, name: str, color=None, width: float = 2) -> LiveCurve:
        """A new named line (legend entry included); without `color` it gets the first palette colour unused here."""
        if name in self.curves:
            raise ValueError(f"a curve named {name!r} is already in {self.title!r}")
        if color is None:
            used = set(self._colors.values())
            index = next(i for i in range(len(used) + 1) if i not in used)
            self._colors[name] = index
            color = theme.curve_color(index)
        curve = LiveCurve(self.plot_item, name, pg.mkPen(color, width=width))
        self.curves[name] = curve
        self.legend.setVisible(True)
        return curve

    def remove_curve(self, name: str) -> None:
        """Take a curve (and its legend entry) out; unknown names are ignored."""
        curve = self.curves.pop(name, None)
        self._colors.pop(name, None)
        if curve is not None:
            curve.remove()
            self.legend.setVisible(bool(self.legend.items))
            self._marker.hide()
            self._readout.hide()

    def add_heatmap(self, name: str, colormap: str = "viridis") -> pg.ImageItem:
        """A row-major image item with a 256-colour lookup table; fill it with set_heatmap()."""
        self.plot_item.showGrid(x=False, y=False)  # grid lines would cross the cells
        item = pg.ImageItem(axisOrder="row-major")
        item.setLookupTable(pg.colormap.get(colormap).getLookupTable(nPts=256))
        self.plot_item.addItem(item)
        self.heatmaps[name] = item
        return item

    def set_heatmap(self, name: str, data: np.ndarray, levels: tuple[float, float] | None = None,
                    rect: tuple[float, float, float, float] | None = None) -> None:
        """Show a 2-D array (row i drawn at y = i) as heatmap `name`, NaN drawn at the low level."""
        values = np.asarray(data, dtype=np.float32)
        if values.ndim != 2:
            raise ValueError(f"a heatmap needs 2-D data, not {values.ndim}-D")
        finite = values[np.isfinite(values)]
        if levels is None:
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            levels = (low, high) if high > low else (low - 0.5, high + 0.5)
        values = np.ascontiguousarray(np.nan_to_num(values, nan=levels[0], posinf=levels[1], neginf=levels[0]))
        item = self.heatmaps[name]
        item.setImage(values, autoLevels=False, levels=levels)
        if rect is not None:
            item.setRect(QRectF(*rect))

    # ----- log axes
    def set_log(self, x: bool | None = None, y: bool | None = None) -> None:
        """Switch the x and/or y axis between linear and logarithmic."""
        self.plot_item.setLogMode(x=x, y=y)

    def _log_mode_changed(self, *_args) -> None:
        ctrl = self.plot_item.ctrl
        for button, check in ((self.log_x_button, ctrl.logXCheck), (self.log_y_button, ctrl.logYCheck)):
            button.blockSignals(True)
            button.setChecked(check.isChecked())
            button.blockSignals(False)
        self._marker.hide()
        for curve in self.curves.values():
            curve.redraw()

    # ----- redrawing
    def request_redraw(self) -> None:
        """Mark every curve for redrawing at the next redraw_if_visible()."""
        self._dirty = True

    def redraw_if_visible(self) -> bool:
        """Redraw curves whose data changed, only while the panel is visible; True when it drew."""
        if not self.isVisible():
            return False
        for curve in self.curves.values():
            if self._dirty or curve.dirty:
                curve.redraw()
        self._dirty = False
        return True

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        """Catch up with data that arrived while hidden."""
        super().showEvent(event)
        self.redraw_if_visible()

    # ----- hover readout
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
        _, name, (index, x, y), xd, yd = best
        self._marker.setData([xd], [yd], pen=self.curves[name].item.opts["pen"])
        self._marker.show()
        return f"{name}  x = {_fmt(x)}, y = {_fmt(y)}"

    # ----- theme
    def apply_style(self, style: FigureStyle) -> None:
        """Recolour the plot for a UI theme."""
        self.plot_widget.setBackground(style.background)
        figures.restyle(self.plot_item, style)
        self._readout.setColor(style.foreground)
        self._readout.fill = pg.mkBrush(style.legend_background)
        self._readout.update()

    # ----- export
    def set_data_provider(self, fn: DataProvider | None) -> None:
        """What 'Data as CSV' writes: fn() -> (header, 2-D rows); None: every curve's points (curve, x, y)."""
        self._provider = fn

    def table(self) -> tuple[list[str], np.ndarray]:
        """The header and rows that export_csv writes."""
        if self._provider is not None:
            header, rows = self._provider()
            return list(header), rows
        parts = []
        for name, curve in self.curves.items():
            part = np.empty((len(curve), 3), dtype=object)
            part[:, 0] = name
            part[:, 1] = curve.x.tolist()
            part[:, 2] = curve.y.tolist()
            parts.append(part)
        return ["curve", "x", "y"], np.concatenate(parts) if parts else np.empty((0, 3), dtype=object)

    def _figure(self, write: Callable[[], None]) -> None:
        """Draw pending data, hide the hover marks, export, show them again."""
        if not self.isVisible():  # maybe never shown: lay the plot out as it would be on screen
            self.layout().activate()
            size = self.plot_widget.size()
            self.plot_widget.resizeEvent(QResizeEvent(size, size))  # Qt holds it back while hidden
            self.plot_item.layout.activate()
        for curve in self.curves.values():
            if curve.dirty or self._dirty:
                curve.redraw()
        shown = self._readout.isVisible(), self._marker.isVisible()
        self._readout.hide()
        self._marker.hide()
        try:
            write()
        finally:
            self._readout.setVisible(shown[0])
            self._marker.setVisible(shown[1])

    def export_png(self, path: str | os.PathLike, scale: float = 2.0) -> None:
        """Write the figure as a PNG `scale` times its on-screen size (light theme, atomic)."""
        self._figure(lambda: figures.export_png(self.plot_item, path, scale))

    def export_svg(self, path: str | os.PathLike) -> None:
        """Write the figure as SVG (light theme, atomic)."""
        self._figure(lambda: figures.export_svg(self.plot_item, path))

    def export_pdf(self, path: str | os.PathLike) -> None:
        """Write the figure as a one-page PDF (light theme, atomic)."""
        self._figure(lambda: figures.export_pdf(self.plot_item, path))

    def export_csv(self, path: str | os.PathLike) -> None:
        """Write the data behind the figure as CSV (atomic)."""
        header, rows = self.table()
        write_csv(path, header, rows)

    def _ask_and_export(self, kind: str, scale: float = 2.0) -> None:
        """Ask for a file name, export, and report a failure in a message box."""
        global _last_dir
        suffix = ".csv" if kind == "csv" else f".{kind}"
        stem = re.sub(r"[^\w.-]+", "_", self.title).strip("_") or "figure"
        if kind == "png" and scale != 1.0:
            stem += f"@{scale:g}x"
        start = str(Path(_last_dir or Path.home()) / f"{stem}{suffix}")
        filters = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "pdf": "PDF document (*.pdf)",
                   "csv": "CSV table (*.csv)"}
        path, _ = QFileDialog.getSaveFileName(self, f"Export {self.title}", start, filters[kind])
        if not path:
            return
        if not path.lower().endswith(suffix):
            path += suffix
        _last_dir = str(Path(path).parent)
        actions = {"png": lambda: self.export_png(path, scale), "svg": lambda: self.export_svg(path),
                   "pdf": lambda: self.export_pdf(path), "csv": lambda: self.export_csv(path)}
        try:
            actions[kind]()
        except Exception as exc:  # noqa: BLE001 (the user gets a message, never a traceback)
            QMessageBox.critical(self, "Export failed", f"Could not export to {path}:\n{exc}")
