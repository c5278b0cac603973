"""A plot with a title bar, log-axis toggles, an export menu, live curves, heatmaps and a hover readout."""
from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer.export import figures
from explorer.export.figures import FigureStyle
from explorer.export.table import write_csv
from explorer.figures.figure import Figure
from explorer.render.canvas import FigureCanvas
from explorer.render.files import export_canvas
from explorer.render.live_curve import LiveCurve
from explorer.ui import theme
from explorer.ui.widgets.hover_readout import HoverReadout

DataProvider = Callable[[], tuple[list[str], np.ndarray]]
PNG_SCALES = (1.0, 2.0, 4.0)
_last_dir: str | None = None


class PlotPanel(HoverReadout, QWidget):
    """A titled plot (a `FigureCanvas`) with a compact tool menu, live curves, heatmaps, hover readout and export.

    A panel either shows `Figure`s from a tab's state (`show_figure`: the same object the files are made from)
    or, for views not yet moved to a state, curves and heatmaps added by hand.
    """

    def __init__(self, title: str, x_label: str = "", y_label: str = "", x_unit: str | None = None,
                 y_unit: str | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.caption = ""
        self._colors: dict[str, int] = {}
        self._dirty = False
        self._provider: DataProvider | None = None
        self._animator: Callable | None = None
        self.export_with_text = True  # exported figures carry the title and caption

        self.title_label = QLabel(title)
        bold = QFont(self.title_label.font())
        bold.setBold(True)
        self.title_label.setFont(bold)
        self.title_label.setWordWrap(True)  # a long title wraps onto more lines: never clipped
        self.title_label.setMinimumWidth(40)
        self.title_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.caption_label = QLabel("")
        self.caption_label.setWordWrap(True)
        self.caption_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)
        self.caption_label.setObjectName("caption")
        self.caption_label.hide()
        self.menu_button = QToolButton(text="⋯")
        self.menu_button.setToolTip("Axes and export")
        self.menu_button.setAutoRaise(True)
        self.menu_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.menu_button.setMenu(self._tool_menu())
        self.export_button = self.menu_button  # the export menu is part of the tool menu

        bar = QHBoxLayout()
        bar.setContentsMargins(6, 2, 2, 0)
        bar.addWidget(self.title_label, 1)
        bar.addWidget(self.menu_button, 0, Qt.AlignmentFlag.AlignTop)

        self.canvas = FigureCanvas()
        self.plot_widget = self.canvas
        self.plot_widget.scene().contextMenu = []  # exports go through the panel (light theme, atomic)
        self.plot_item: pg.PlotItem = self.canvas.plot_item
        self.plot_item.setLabel("bottom", x_label, units=x_unit)
        self.plot_item.setLabel("left", y_label, units=y_unit)
        self.plot_item.showGrid(x=True, y=True, alpha=0.15)
        self.curves: dict[str, LiveCurve] = self.canvas.curves
        self.heatmaps: dict[str, pg.ImageItem] = self.canvas.heatmaps
        self.legend = self.canvas.legend
        self.canvas.title = title
        self.plot_item.ctrl.logXCheck.toggled.connect(self._log_mode_changed)
        self.plot_item.ctrl.logYCheck.toggled.connect(self._log_mode_changed)

        self._build_hover()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.plot_widget, 1)
        layout.addWidget(self.caption_label)
        theme.register_themed(self)

    # ----- figures from a state
    def show_figure(self, fig: Figure) -> None:
        """Draw a state's figure: title, caption, axes, data, legend; CSV and files come from the same object."""
        self.canvas.show_figure(fig)
        self.set_title(fig.title)
        self.set_caption(fig.caption)
        self._dirty = False
        if self._readout.isVisible():
            self._hide_hover()

    @property
    def figure(self) -> Figure | None:
        """The figure on show (None for a panel drawn by hand)."""
        return self.canvas.figure

    def set_title(self, title: str) -> None:
        """Change the title shown above the plot (and used for export file names and exported files)."""
        self.title = title
        self.canvas.title = title
        self.title_label.setText(title)
        self.title_label.setToolTip(title)

    def set_caption(self, caption: str) -> None:
        """The line under the plot with the deciding numbers (exported files carry it too)."""
        self.caption = caption
        self.canvas.caption = caption
        self.caption_label.setText(caption)
        self.caption_label.setVisible(bool(caption))

    def _tool_menu(self) -> QMenu:
        menu = QMenu(self)
        self.log_x_button = menu.addAction("Logarithmic x axis")
        self.log_y_button = menu.addAction("Logarithmic y axis")
        for action in (self.log_x_button, self.log_y_button):
            action.setCheckable(True)
        self.log_x_button.toggled.connect(lambda on: self.set_log(x=on))
        self.log_y_button.toggled.connect(lambda on: self.set_log(y=on))
        menu.addSeparator()
        export = self._export_submenu = QMenu("Export", menu)  # kept: a submenu from addMenu(str) can be collected
        menu.addMenu(export)
        png = self._png_menu = QMenu("PNG", export)
        export.addMenu(png)
        for scale in PNG_SCALES:
            png.addAction(f"{scale:g}× resolution…", lambda s=scale: self._ask_and_export("png", s))
        export.addAction("SVG…", lambda: self._ask_and_export("svg"))
        export.addAction("PDF…", lambda: self._ask_and_export("pdf"))
        export.addSeparator()
        export.addAction("Data as CSV…", lambda: self._ask_and_export("csv"))
        self.animation_action = export.addAction("Animation over the run (GIF/MP4)…", self._ask_and_animate)
        self.animation_action.setVisible(False)
        export.addSeparator()
        self.text_action = export.addAction("Title and caption in the file")
        self.text_action.setCheckable(True)
        self.text_action.setChecked(True)
        self.text_action.toggled.connect(lambda on: setattr(self, "export_with_text", on))
        return menu

    def set_animator(self, fn: Callable | None) -> None:
        """What 'Animation over the run' does: fn(path) writes the file (None hides the entry)."""
        self._animator = fn
        self.animation_action.setVisible(fn is not None)

    def _ask_and_animate(self) -> None:
        if self._animator is None:
            return
        path = self._ask_path("gif")
        if path:
            self._animator(path)

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
        self.canvas._update_legend()
        return curve

    def remove_curve(self, name: str) -> None:
        """Take a curve (and its legend entry) out; unknown names are ignored."""
        curve = self.curves.pop(name, None)
        self._colors.pop(name, None)
        if curve is not None:
            curve.remove()
            self.canvas._update_legend()
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
        if self.canvas.figure is not None:  # reference lines and labels follow the new scale
            self.canvas.show_figure(self.canvas.figure)

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

    def showEvent(self, event) -> None:
        """Catch up with data that arrived while hidden."""
        super().showEvent(event)
        self.redraw_if_visible()

    # ----- theme
    def apply_style(self, style: FigureStyle) -> None:
        """Recolour the plot for a UI theme."""
        self.plot_widget.setBackground(style.background)
        figures.restyle(self.canvas.ci, style)
        self._readout.setColor(style.foreground)
        self._readout.fill = pg.mkBrush(style.legend_background)
        self._readout.update()

    # ----- export
    def set_data_provider(self, fn: DataProvider | None) -> None:
        """What 'Data as CSV' writes: fn() -> (header, 2-D rows); None: the figure's table (or every curve)."""
        self._provider = fn

    def table(self) -> tuple[list[str], np.ndarray]:
        """The header and rows that export_csv writes."""
        if self._provider is not None:
            header, rows = self._provider()
            return list(header), rows
        if self.canvas.figure is not None:
            table = self.canvas.figure.table()
            return list(table.header), table.rows
        parts = []
        for name, curve in self.curves.items():
            part = np.empty((len(curve), 3), dtype=object)
            part[:, 0] = name
            part[:, 1] = curve.x.tolist()
            part[:, 2] = curve.y.tolist()
            parts.append(part)
        return ["curve", "x", "y"], np.concatenate(parts) if parts else np.empty((0, 3), dtype=object)

    def _export(self, path, fmt: str, scale: float = 2.0) -> None:
        """Draw pending data, hide the hover marks, export through the one renderer, show them again."""
        if not self.isVisible():  # maybe never shown: lay the plot out as it would be on screen
            self.layout().activate()
        for curve in self.curves.values():
            if curve.dirty or self._dirty:
                curve.redraw()
        shown = self._readout.isVisible(), self._marker.isVisible()
        self._hide_hover()
        try:
            export_canvas(self.canvas, path, fmt, scale, with_text=self.export_with_text)
        finally:
            self._readout.setVisible(shown[0])
            self._marker.setVisible(shown[1])

    def export_png(self, path: str | os.PathLike, scale: float = 2.0) -> None:
        """Write the figure as a PNG `scale` times its on-screen size (light theme, atomic)."""
        self._export(path, "png", scale)

    def export_svg(self, path: str | os.PathLike) -> None:
        """Write the figure as SVG (light theme, atomic)."""
        self._export(path, "svg")

    def export_pdf(self, path: str | os.PathLike) -> None:
        """Write the figure as a one-page PDF (light theme, atomic)."""
        self._export(path, "pdf")

    def export_csv(self, path: str | os.PathLike) -> None:
        """Write the data behind the figure as CSV (atomic)."""
        header, rows = self.table()
        write_csv(path, header, rows)

    def _ask_path(self, kind: str, scale: float = 1.0) -> str | None:
        """Ask for a file name of this kind (remembering the folder); None if cancelled."""
        global _last_dir
        suffix = f".{kind}"
        stem = re.sub(r"[^\w.-]+", "_", self.title).strip("_")[:80] or "figure"
        if kind == "png" and scale != 1.0:
            stem += f"@{scale:g}x"
        start = str(Path(_last_dir or Path.home()) / f"{stem}{suffix}")
        filters = {"png": "PNG image (*.png)", "svg": "SVG drawing (*.svg)", "pdf": "PDF document (*.pdf)",
                   "csv": "CSV table (*.csv)", "gif": "Animated GIF (*.gif);;MP4 video (*.mp4)"}
        path, chosen = QFileDialog.getSaveFileName(self, f"Export {self.title}", start, filters[kind])
        if not path:
            return None
        if kind == "gif" and "mp4" in (chosen or "") and not path.lower().endswith(".mp4"):
            suffix = ".mp4"
        if not path.lower().endswith(suffix) and not (kind == "gif" and path.lower().endswith(".mp4")):
            path += suffix
        _last_dir = str(Path(path).parent)
        return path

    def _ask_and_export(self, kind: str, scale: float = 2.0) -> None:
        """Ask for a file name, export, and report a failure in a message box."""
        path = self._ask_path(kind, scale)
        if not path:
            return
        actions = {"png": lambda: self.export_png(path, scale), "svg": lambda: self.export_svg(path),
                   "pdf": lambda: self.export_pdf(path), "csv": lambda: self.export_csv(path)}
        try:
            actions[kind]()
        except Exception as exc:  # noqa: BLE001 (the user gets a message, never a traceback)
            QMessageBox.critical(self, "Export failed", f"Could not export to {path}:\n{exc}")
