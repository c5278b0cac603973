"""Figures into files: PNG (any scale), SVG, PDF and CSV from a `FigureCanvas`, with or without a window."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QResizeEvent

from ..export import figures as files
from ..export.table import write_csv
from ..figures.figure import Figure
from .canvas import FigureCanvas

FORMATS = ("png", "svg", "pdf", "csv")
DEFAULT_SIZE = (820, 520)  # pixels at 1×: a figure exported without a window


def fit_canvas(canvas: FigureCanvas, width: int, height: int) -> None:
    """Lay a (maybe never shown) canvas out at this size, as it would be on screen."""
    canvas.resize(width, height)
    size = QSize(width, height)
    canvas.resizeEvent(QResizeEvent(size, size))  # Qt holds resize events back while hidden
    canvas.ci.layout.activate()


def dispose(canvas: FigureCanvas) -> None:
    """Delete a canvas made without a window now (not later: no event loop may run before the interpreter
    exits, and a widget that outlives the QApplication crashes it)."""
    import shiboken6

    if shiboken6.isValid(canvas):
        shiboken6.delete(canvas)


def offscreen_canvas(fig: Figure, size: tuple[int, int] = DEFAULT_SIZE) -> FigureCanvas:
    """A canvas that is never shown, drawing `fig` at `size` (needs a QApplication, e.g. offscreen)."""
    canvas = FigureCanvas()
    fit_canvas(canvas, *size)
    canvas.show_figure(fig)
    fit_canvas(canvas, *size)
    return canvas


@contextlib.contextmanager
def export_layout(canvas: FigureCanvas, with_text: bool = True) -> Iterator[None]:
    """Inside the block the canvas carries its title and caption rows, grown so that the plot keeps its size."""
    if not canvas.isVisible():
        fit_canvas(canvas, max(canvas.width(), 200), max(canvas.height(), 150))
    for curve in canvas.curves.values():
        if curve.dirty:
            curve.redraw()
    canvas.scene().prepareForPaint()  # pending auto-ranges: a never-painted view would export at its 0..1 range
    old = QRectF(canvas.ci.geometry())
    if with_text:
        canvas.set_export_text(True, old.width())
        canvas.ci.layout.activate()
        extra = 0.0
        for item in (canvas.title_item, canvas.caption_item):
            if item.parentItem() is not None:
                extra += item.effectiveSizeHint(Qt.SizeHint.PreferredSize).height() + 2
        canvas.ci.setGeometry(QRectF(old.x(), old.y(), old.width(), old.height() + extra))
        canvas.ci.layout.activate()
        canvas.scene().prepareForPaint()
    try:
        yield
    finally:
        if with_text:
            canvas.set_export_text(False)
            canvas.ci.setGeometry(old)
            canvas.ci.layout.activate()


def export_canvas(canvas: FigureCanvas, path: str | os.PathLike, fmt: str | None = None, scale: float = 2.0,
                  with_text: bool = True) -> None:
    """Write what `canvas` shows into `path` (format from `fmt` or the suffix), atomically."""
    fmt = (fmt or os.fspath(path).rsplit(".", 1)[-1]).lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown figure format '{fmt}' (choose {', '.join(FORMATS)})")
    if fmt == "csv":
        if canvas.figure is None:
            raise ValueError("there is no figure to export yet")
        table = canvas.figure.table()
        write_csv(path, list(table.header), table.rows)
        return
    with export_layout(canvas, with_text):
        root = canvas.ci
        if fmt == "png":
            files.export_png(root, path, scale)
        elif fmt == "svg":
            files.export_svg(root, path)
        else:
            files.export_pdf(root, path)


def canvas_image(canvas: FigureCanvas, scale: float = 1.0, with_text: bool = True) -> QImage:
    """What the canvas shows as an image (a frame of an animation)."""
    with export_layout(canvas, with_text):
        return files.render_image(canvas.ci, scale)


def export_figure(fig: Figure, path: str | os.PathLike, fmt: str | None = None, scale: float = 2.0,
                  with_text: bool = True, size: tuple[int, int] = DEFAULT_SIZE) -> None:
    """Draw `fig` without a window and write it into `path`."""
    canvas = offscreen_canvas(fig, size)
    try:
        export_canvas(canvas, path, fmt, scale, with_text)
    finally:
        dispose(canvas)
