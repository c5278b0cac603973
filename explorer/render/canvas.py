"""The one renderer: draws a `Figure` into a pyqtgraph layout, the same on screen and in exported files.

Layout of a canvas: [title] / [plot | colour bar] / [legend] / [caption]. The title and caption rows are filled
for exports (on screen the panel shows them as wrapping Qt labels); the legend sits below the plot, never on
the data. Drawing is incremental (explorer.render.elements): elements are kept by name and updated in place.
"""
from __future__ import annotations

import html
import math
from typing import ClassVar

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QGraphicsLayout

from ..figures.figure import Figure
from ..figures.legend_rows import legend_rows
from ..figures.ticks import log_tick_labels, log_ticks
from .elements import ElementsMixin, arrow_head, heatmap_image, lookup_table  # noqa: F401 (public)
from .live_curve import LiveCurve


def wrap_html(text: str, font: QFont, width_px: float) -> str:
    """`text` as HTML with line breaks so that no line is wider than `width_px` in `font`."""
    metrics = QFontMetricsF(font)
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            candidate = f"{line} {word}" if line else word
            if line and metrics.horizontalAdvance(candidate) > width_px:
                lines.append(line)
                line = word
            else:
                line = candidate
        lines.append(line)
    return "<br>".join(html.escape(line) for line in lines)


class OutsideLegend(pg.LegendItem):
    """A legend that lives in the canvas layout, below the plot: it never covers data and is never moved onto it.
    Its entries are arranged in rows by `arrange` (explorer.figures.legend_rows): a long name may take a row of
    its own while short ones share rows, so a narrow panel's legend does not squeeze its plot."""

    _plan: tuple | None = None

    def setOffset(self, offset) -> None:
        self.opts["offset"] = offset  # kept for callers; the layout decides where the legend goes

    def addItem(self, item, name) -> None:
        self._plan = None
        super().addItem(item, name)

    def removeItem(self, item) -> None:
        self._plan = None
        super().removeItem(item)

    def clear(self) -> None:
        self._plan = None
        super().clear()

    def arrange(self, columns: int, rows: list[list[int]]) -> None:
        """Place the entries: row r holds the entries `rows[r]` (indices into `items`), one per column; a row
        of one entry lets its name span every column."""
        plan = (columns, tuple(tuple(row) for row in rows))
        if plan == self._plan or sorted(i for row in rows for i in row) != list(range(len(self.items))):
            return
        self._plan = plan
        self.columnCount, self.rowCount = columns, len(rows)
        for i in range(self.layout.count() - 1, -1, -1):
            self.layout.removeAt(i)
        for r, row in enumerate(rows):
            for c, index in enumerate(row):
                sample, label = self.items[index]
                self.layout.addItem(sample, r, 2 * c, alignment=Qt.AlignmentFlag.AlignVCenter)
                span = 2 * columns - 1 if len(row) == 1 else 1
                self.layout.addItem(label, r, 2 * c + 1, 1, span)
        self.updateSize()

    def updateSize(self) -> None:
        """Let the canvas layout size it. pyqtgraph's own sets the geometry from its items' current widths, which
        a wider layout has stretched: the legend then never shrank and its last column was cut off."""
        self.layout.invalidate()
        self.layout.activate()  # its size hints from the new columns now, before the canvas layout asks for them
        self.updateGeometry()
        parent = self.parentLayoutItem()
        if isinstance(parent, QGraphicsLayout):
            parent.invalidate()


class ReadableAxis(pg.AxisItem):
    """An axis whose log scale gets readable ticks (explorer.figures.ticks): as many as its length has room for,
    in one notation; a figure's own ticks (symbols under the time steps, words) are thinned to every k-th when
    their labels would overlap (linear scales get pyqtgraph's own); a title longer than the axis is shortened
    with "…" rather than cut off at both ends."""

    LABEL_ROOM_PX: ClassVar[dict[str, int]] = {"left": 36, "right": 36, "top": 64, "bottom": 64}  # px per label

    def logTickValues(self, minVal, maxVal, size, stdTicks):
        # no tick within half a label of an end, where pyqtgraph would hide its label (it measures 0.8 of a line)
        metrics = QFontMetricsF(self.style.get("tickFont") or self.font())
        vertical = self.orientation in ("left", "right")
        half = 0.4 * metrics.height() if vertical else 0.5 * metrics.horizontalAdvance("0.05")
        inset = (maxVal - minVal) * half / size if size > 2 * half else 0.0
        room = int(size // self.LABEL_ROOM_PX[self.orientation])
        return [(None, log_ticks(minVal + inset, maxVal - inset, room))]

    def logTickStrings(self, values, scale, spacing):
        return log_tick_labels([v + math.log10(scale) if scale > 0 else v for v in values])

    def labelString(self) -> str:
        units = f" ({self.labelUnitPrefix}{self.labelUnits})" if self.labelUnits else ""
        text = f"{self.labelText}{units}"
        length = self.size().height() if self.orientation in ("left", "right") else self.size().width()
        if length > 0 and self.label is not None:  # a very short axis shows "…" or nothing, never a middle
            text = QFontMetricsF(self.label.font()).elidedText(text, Qt.TextElideMode.ElideRight, max(length - 8, 0))
            text = "" if text == "…" else text
        style = ";".join(f"{k}: {v}" for k, v in self.labelStyle.items())
        return f"<span style='{style}'>{html.escape(text)}</span>"

    def resizeEvent(self, ev=None):
        length = round(self.size().height() if self.orientation in ("left", "right") else self.size().width())
        if self.label is not None and length != getattr(self, "_elided_for", None):
            self._elided_for = length
            self.label.setHtml(self.labelString())  # not _updateLabel: that would resize the axis again
        super().resizeEvent(ev)

    def generateDrawSpecs(self, p):
        levels = self._tickLevels
        if not levels:
            return super().generateDrawSpecs(p)
        self._tickLevels = [self._thinned(level) for level in levels]
        try:
            return super().generateDrawSpecs(p)
        finally:
            self._tickLevels = levels

    def _thinned(self, level: list[tuple[float, str]]) -> list[tuple[float, str]]:
        """The fixed ticks in view whose labels do not overlap, taken in the figure's order (a figure lists the
        ticks that matter first), shown in the order of their values."""
        lo, hi = sorted(self.range)
        shown = [(v, t) for v, t in level if lo <= v <= hi]
        vertical = self.orientation in ("left", "right")
        length = self.geometry().height() if vertical else self.geometry().width()
        if len(shown) < 2 or length <= 0 or hi <= lo:
            return level
        metrics = QFontMetricsF(self.style.get("tickFont") or self.font())
        kept: list[tuple[float, float, tuple[float, str]]] = []  # (start, end) in pixels along the axis
        for value, text in shown:
            extent = metrics.height() + 2 if vertical else metrics.horizontalAdvance(text) + 8
            centre = (value - lo) / (hi - lo) * length
            start, end = centre - extent / 2, centre + extent / 2
            if all(end <= a or start >= b for a, b, _ in kept):
                kept.append((start, end, (value, text)))
        return sorted((tick for _, _, tick in kept), key=lambda tick: tick[0])


class FigureCanvas(ElementsMixin, pg.GraphicsLayoutWidget):
    """A pyqtgraph layout that shows one `Figure` at a time and exports exactly what it shows."""

    pointClicked = Signal(str, int)  # the name of a clickable `Points` and the index of the point clicked

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.figure: Figure | None = None
        self.title = ""  # what exports carry above and below the plot
        self.caption = ""
        self.ci.setContentsMargins(6, 4, 10, 4)
        self.ci.layout.setVerticalSpacing(2)
        self.plot_item = pg.PlotItem(axisItems={side: ReadableAxis(side) for side in ("left", "bottom")})
        self.ci.addItem(self.plot_item, row=1, col=0)
        for side in ("left", "bottom"):  # grid at major ticks only: minor grid lines cost ~60 ms a frame
            self.plot_item.getAxis(side).setStyle(maxTickLevel=0)
            self.plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.plot_item.layout.setContentsMargins(4, 8, 12, 4)
        self.legend = OutsideLegend(frame=False, colCount=3, labelTextSize="9pt", verSpacing=-4)
        self.plot_item.legend = self.legend  # named items added to the plot list themselves here, below it
        self._legend_in_layout = False
        self.colorbar: pg.ColorBarItem | None = None
        self._colorbar_label = ""
        self.title_item = pg.LabelItem("", justify="left")
        self.caption_item = pg.LabelItem("", justify="left")
        self.curves: dict[str, LiveCurve] = {}
        self.heatmaps: dict[str, pg.ImageItem] = {}
        self._items: dict[tuple[str, str], object] = {}
        self._texts: list[pg.TextItem] = []
        self._labels: list[pg.TextItem] = []
        self._lines: list[pg.InfiniteLine] = []
        self._arrow_lines: pg.PlotCurveItem | None = None
        self._arrow_heads: pg.ScatterPlotItem | None = None
        self._hint = pg.TextItem("", anchor=(0.5, 0.5), color="#808080")
        self._hint.setParentItem(self.plot_item.getViewBox())
        self._hint.hide()
        self._empty = False
        self._log = (None, None)
        self._fitted_for: tuple | None = None
        self.plot_item.getViewBox().sigRangeChanged.connect(self._view_changed)
        self.plot_item.getViewBox().sigResized.connect(self._view_changed)

    def resizeEvent(self, event) -> None:
        """The legend's rows follow the width (a name is never clipped)."""
        if getattr(self, "_legend_in_layout", False):  # Qt resizes the view while it is being built
            self.legend.arrange(*self._legend_plan())  # first: the layout below then sizes the legend by it
        super().resizeEvent(event)

    # ----- showing a figure
    def show_figure(self, fig: Figure) -> None:
        """Draw `fig`, reusing the items of the previous figure where the names match."""
        self.figure = fig
        self.title, self.caption = fig.title, fig.caption
        pi = self.plot_item
        pi.setLabel("bottom", fig.x.title)
        pi.setLabel("left", fig.y.title)
        log = (fig.x.log, fig.y.log)
        if log != self._log:  # the figure's own scale; a user's toggle stays until the figure changes it
            pi.setLogMode(x=fig.x.log, y=fig.y.log)
            self._log = log
        for side, axis, check in (("bottom", fig.x, pi.ctrl.logXCheck), ("left", fig.y, pi.ctrl.logYCheck)):
            ticks = None if axis.ticks is None else list(axis.ticks)
            if ticks is not None and check.isChecked():  # a log axis places ticks at log10 of their values
                ticks = [(math.log10(v), text) for v, text in ticks if v > 0]
            pi.getAxis(side).setTicks(None if ticks is None else [ticks])
        pi.getViewBox().invertY(fig.y.inverted)
        pi.getViewBox().setDefaultPadding(0.0 if fig.heatmaps and not fig.series and not fig.points else 0.02)
        pi.getViewBox().setAspectLocked(fig.aspect_locked)
        self._draw_series(fig.series)
        self._draw_heatmaps(fig.heatmaps)
        self._draw_points(fig.points)
        self._draw_bars(fig)
        self._draw_segments(fig)
        self._draw_lines(fig.lines)
        self._draw_texts(fig)
        self._draw_arrows(fig.arrows)
        self._update_legend(fig)
        self._set_empty(fig.is_empty, fig.hint)
        if fig.x.range is not None or fig.y.range is not None:
            key = (fig.name, fig.x.range, fig.y.range)
            if key != self._fitted_for:
                if fig.x.range is not None:
                    pi.setXRange(*fig.x.range, padding=0)
                if fig.y.range is not None:
                    pi.setYRange(*fig.y.range, padding=0)
                self._fitted_for = key
        elif self._fitted_for is not None:
            self._fitted_for = None
            pi.enableAutoRange()
        self._place_labels()
        self._place_line_labels()

    def _update_legend(self, fig: Figure | None = None) -> None:
        """Show the legend below the plot when it has entries (removed from the layout when it has none)."""
        entries = fig.legend_entries() if fig is not None and fig.legend else [label.text for _, label in
                                                                               self.legend.items]
        if fig is not None:
            self._order_legend(entries)
        show = bool(entries) and bool(self.legend.items)
        if show:  # arranged for this width before it joins the layout: the layout would take on its width
            self.legend.arrange(*self._legend_plan())
        if show and not self._legend_in_layout:
            self.ci.addItem(self.legend, row=2, col=0)
            self._legend_in_layout = True
        elif not show and self._legend_in_layout:
            self.ci.removeItem(self.legend)
            self._legend_in_layout = False
        self.legend.setVisible(show)
        if self.ci.geometry() != self.range:  # a layout once wider than the view never shrinks back by itself
            self.ci.setGeometry(self.range)

    def _order_legend(self, entries: list[str]) -> None:
        """Legend entries in the figure's order (items added later would otherwise come last)."""
        current = [label.text for _, label in self.legend.items]
        wanted = [e for e in entries if e in current] + [e for e in current if e not in entries]
        if wanted == current:
            return
        by_name = {label.text: sample.item for sample, label in self.legend.items}
        self.legend.clear()
        for name in wanted:
            self.legend.addItem(by_name[name], name)

    def _legend_plan(self) -> tuple[int, list[list[int]]]:
        """Rows of legend entries that fit the canvas width (a name is never clipped; long names get a row)."""
        metrics = QFontMetricsF(QFont(self.font()))
        widths = [metrics.horizontalAdvance(label.text) + 48 for _, label in self.legend.items]
        return legend_rows(widths, max(self.width(), 120) - 30)

    def _set_empty(self, empty: bool, hint: str) -> None:
        pi = self.plot_item
        self._hint.setHtml(f"<div style='text-align: center'>{html.escape(hint)}</div>")  # wraps to the view
        for side in ("left", "bottom"):  # every time: setLabel (in show_figure) shows an axis again
            pi.showAxis(side, not empty)
        if empty == self._empty:
            self._position_hint()
            return
        self._empty = empty
        pi.showGrid(x=not empty and not self.heatmaps, y=not empty and not self.heatmaps, alpha=0.15)
        self._hint.setVisible(empty)
        self._position_hint()

    def _position_hint(self) -> None:
        if self._hint.isVisible():  # the hint lives in the view box's own (pixel) coordinates: its centre
            vb = self.plot_item.getViewBox()
            self._hint.setTextWidth(max(120.0, vb.width() - 24))  # a long hint wraps instead of running off
            self._hint.setPos(vb.width() / 2, vb.height() / 2)

    # ----- labels of points: placed where they do not collide
    def _view_changed(self, *_args) -> None:
        self._position_hint()
        self._orient_arrow_heads()
        self._place_labels()
        self._place_line_labels()

    # ----- the export rows
    def set_export_text(self, on: bool, width_px: float | None = None) -> None:
        """Show (for an export) or hide the title and caption rows above and below the plot."""
        for item in (self.title_item, self.caption_item):
            if item.scene() is not None and item.parentItem() is not None:
                self.ci.removeItem(item)
        if not on or not (self.title or self.caption):
            return
        width = width_px or self.width()
        title_font = QFont(self.font())
        title_font.setPointSizeF(max(title_font.pointSizeF(), 9.0) * 1.2)
        title_font.setBold(True)
        if self.title:
            self.title_item.setText(wrap_html(self.title, title_font, width - 24),
                                    size=f"{title_font.pointSizeF():.1f}pt", bold=True)
            self.ci.addItem(self.title_item, row=0, col=0, colspan=2)
        if self.caption:
            self.caption_item.setText(wrap_html(self.caption, QFont(self.font()), width - 24),
                                      size=f"{max(QFont(self.font()).pointSizeF(), 9.0):.1f}pt")
            self.ci.addItem(self.caption_item, row=3, col=0, colspan=2)
