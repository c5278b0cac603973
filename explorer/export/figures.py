"""Figure export of a pyqtgraph item or scene to PNG, SVG and PDF, atomically and in a light style."""
from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from pyqtgraph.exporters import SVGExporter
from pyqtgraph.exporters.Exporter import Exporter
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QRectF, QSizeF
from PySide6.QtGui import QColor, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen, QTransform
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene

from explorer.atomic import atomic_write_bytes

Root = QGraphicsItem | QGraphicsScene
SCREEN_DPI = 96.0
SVG_IMAGE_MIN_PIXELS = 600  # heatmaps are upsampled (nearest) to at least this many pixels along their longer side


@dataclass(frozen=True)
class FigureStyle:
    """The colours a plot is drawn with (hex strings, optionally #RRGGBBAA)."""

    background: str
    foreground: str
    legend_background: str
    legend_border: str


EXPORT_STYLE = FigureStyle(background="#ffffff", foreground="#000000",
                           legend_background="#ffffffe0", legend_border="#808080")


def _items(root: Root) -> list[QGraphicsItem]:
    """`root` and every item below it (every item of a scene)."""
    if isinstance(root, QGraphicsScene):
        return list(root.items())
    out, stack = [], [root]
    while stack:
        item = stack.pop()
        out.append(item)
        stack.extend(item.childItems())
    return out


def _scene_and_rect(root: Root) -> tuple[QGraphicsScene, QRectF]:
    """The scene to render and the part of it (scene coordinates) that makes the figure."""
    if isinstance(root, QGraphicsScene):
        views = root.views()
        if views:
            view = views[0]
            return root, view.mapToScene(view.viewport().rect()).boundingRect()
        return root, root.itemsBoundingRect()
    scene = root.scene()
    if scene is None:
        raise ValueError("the item to export is not in a scene")
    return scene, root.sceneBoundingRect()


def restyle(root: Root, style: FigureStyle) -> Callable[[], None]:
    """Recolour axes, legends, labels and grey text under `root`; return a function that restores them exactly."""
    fg = pg.mkColor(style.foreground)
    undo: list[Callable[[], None]] = []
    for item in _items(root):
        if hasattr(item, "set_backing"):  # a reference line's label: its backing in the style's background
            backing = QColor(item.backing)
            item.set_backing(pg.mkColor(style.background))
            undo.append(lambda t=item, b=backing: t.set_backing(b))
        if isinstance(item, pg.AxisItem):
            pen, text_pen = item.pen(), item.textPen()
            new_pen, new_text = QPen(pen), QPen(text_pen)
            new_pen.setColor(fg)
            new_text.setColor(fg)
            item.setPen(new_pen)
            item.setTextPen(new_text)
            undo.append(lambda a=item, p=pen, t=text_pen: (a.setPen(p), a.setTextPen(t)))
        elif isinstance(item, pg.LegendItem):
            brush, pen, color = item.brush(), item.pen(), item.opts.get("labelTextColor")
            item.setBrush(pg.mkBrush(style.legend_background))
            item.setPen(pg.mkPen(style.legend_border))
            _legend_text(item, fg)
            undo.append(
                lambda leg=item, b=brush, p=pen, c=color: (leg.setBrush(b), leg.setPen(p), _legend_text(leg, c)))
        elif isinstance(item, pg.TextItem) and item.color.hsvSaturationF() < 0.15:  # plain (grey) text
            color = QColor(item.color)
            item.setColor(fg)
            undo.append(lambda t=item, c=color: t.setColor(c))
        elif isinstance(item, pg.LabelItem) and not isinstance(item.parentItem(), pg.LegendItem):
            color = item.opts.get("color")
            item.setText(item.text, color=fg)
            undo.append(lambda lab=item, c=color: lab.setText(lab.text, color=c))

    def restore() -> None:
        for fn in reversed(undo):
            fn()

    return restore


def _legend_text(legend: pg.LegendItem, color: QColor | None) -> None:
    """Set (None: reset to the default foreground) the colour of a legend's labels and redraw them."""
    legend.opts["labelTextColor"] = None if color is None else QColor(color)
    for _sample, label in legend.items:
        label.setText(label.text, color=color)
    legend.update()


@contextlib.contextmanager
def export_theme(root: Root, style: FigureStyle = EXPORT_STYLE) -> Iterator[None]:
    """Draw `root` in `style` inside the block, restoring its colours afterwards."""
    restore = restyle(root, style)
    try:
        yield
    finally:
        restore()


@contextlib.contextmanager
def _wide_pens(root: Root, factor: float) -> Iterator[None]:
    """Widen cosmetic line pens by `factor` so that lines keep their look in a scaled rendering."""
    undo: list[Callable[[], None]] = []
    if abs(factor - 1.0) > 1e-9:
        for item in _items(root):
            is_curve = isinstance(item, pg.PlotDataItem) or (
                isinstance(item, pg.PlotCurveItem) and not isinstance(item.parentItem(), pg.PlotDataItem))
            if is_curve and isinstance(item.opts.get("pen"), QPen):
                old = QPen(item.opts["pen"])
                item.setPen(_widened(old, factor))
                undo.append(lambda it=item, p=old: it.setPen(p))
            elif isinstance(item, pg.AxisItem):
                old = item.pen()
                item.setPen(_widened(old, factor))
                text = item.textPen()
                item.setTextPen(text)
                undo.append(lambda a=item, p=old, t=text: (a.setPen(p), a.setTextPen(t)))
    try:
        yield
    finally:
        for fn in reversed(undo):
            fn()


def _widened(pen: QPen, factor: float) -> QPen:
    """A copy of a cosmetic `pen`, `factor` times as wide."""
    new = QPen(pen)
    if pen.isCosmetic():
        new.setWidthF(max(pen.widthF(), 1.0) * factor)
    return new


@contextlib.contextmanager
def _scalable_overlays(root: Root) -> Iterator[None]:
    """Let pixel-sized overlays (legends) scale with a scaled rendering instead of staying screen-sized."""
    flag = QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
    changed = []
    for item in _items(root):
        parent = item.parentItem()
        if item.flags() & flag and (parent is None or parent.sceneTransform().isTranslating()
                                    or parent.sceneTransform().isIdentity()):
            item.setFlag(flag, False)
            changed.append(item)
    try:
        yield
    finally:
        for item in changed:
            item.setFlag(flag, True)


@contextlib.contextmanager
def _crisp_images(root: Root, min_pixels: int = SVG_IMAGE_MIN_PIXELS) -> Iterator[None]:
    """Upsample small ImageItems (nearest) so that vector formats do not embed blurry, tiny bitmaps."""
    undo: list[Callable[[], None]] = []
    for item in _items(root):
        if not isinstance(item, pg.ImageItem) or item.image is None or item.image.ndim < 2:
            continue
        image = item.image
        k = math.ceil(min_pixels / max(image.shape[0], image.shape[1], 1))
        k = min(k, max(1, int(math.sqrt(16e6 / max(image.size, 1)))))
        if k <= 1:
            continue
        levels, transform = item.getLevels(), item.transform()
        big = np.repeat(np.repeat(image, k, axis=0), k, axis=1)
        item.setImage(big, autoLevels=False, levels=levels)
        item.setTransform(QTransform.fromScale(1.0 / k, 1.0 / k) * transform)
        undo.append(lambda it=item, im=image, lv=levels, tr=transform: (
            it.setImage(im, autoLevels=False, levels=lv), it.setTransform(tr)))
    try:
        yield
    finally:
        for fn in reversed(undo):
            fn()


@contextlib.contextmanager
def _export_mode(root: Root, opts: dict) -> Iterator[None]:
    """Tell pyqtgraph items that they are painted for export (they adapt, e.g. scatter symbol sizes)."""
    exporter = Exporter(root)
    exporter.setExportMode(True, opts)
    try:
        yield
    finally:
        exporter.setExportMode(False)


def _write(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` atomically, with an error message that names the file."""
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise OSError(exc.errno, f"Cannot write {os.fspath(path)}: {exc.strerror or exc}") from exc


def render_image(root: Root, scale: float = 1.0, style: FigureStyle = EXPORT_STYLE) -> QImage:
    """Render `root` in `style` to an image `scale` times its on-screen size."""
    if not scale > 0:
        raise ValueError(f"scale must be positive, not {scale!r}")
    scene, source = _scene_and_rect(root)
    w, h = max(1, round(source.width() * scale)), max(1, round(source.height() * scale))
    image = QImage(w, h, QImage.Format.Format_ARGB32)
    background = pg.mkColor(style.background)
    image.fill(background)
    painter = QPainter(image)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        opts = {"antialias": True, "background": background, "painter": painter, "resolutionScale": scale}
        with export_theme(root, style), _wide_pens(root, scale), _scalable_overlays(root), _export_mode(root, opts):
            scene.render(painter, QRectF(0, 0, w, h), source)
    finally:
        painter.end()
    # Only after painting: a painter on a high-dpi image would also scale fonts (given in points) by `scale`.
    dots_per_meter = round(SCREEN_DPI * scale / 0.0254)
    image.setDotsPerMeterX(dots_per_meter)
    image.setDotsPerMeterY(dots_per_meter)
    return image


def export_png(root: Root, path: str | os.PathLike, scale: float = 2.0, style: FigureStyle = EXPORT_STYLE) -> None:
    """Write `root` as a PNG `scale` times its on-screen size."""
    image = render_image(root, scale, style)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise OSError(f"Cannot encode the PNG for {os.fspath(path)}")
    buffer.close()
    _write(path, bytes(data.data()))


def svg_bytes(root: Root, style: FigureStyle = EXPORT_STYLE) -> bytes:
    """`root` as an SVG document in `style`."""
    exporter = SVGExporter(root)
    exporter.parameters()["background"] = pg.mkColor(style.background)
    with export_theme(root, style), _crisp_images(root):
        data = exporter.export(toBytes=True).decode("utf-8")
    # pyqtgraph sizes the background as 100% (which some renderers read as 100 px) and gives no width/height.
    w, h = round(exporter.parameters()["width"]), round(exporter.parameters()["height"])
    data = data.replace('<rect width="100%" height="100%"', f'<rect x="0" y="0" width="{w}" height="{h}"', 1)
    data = data.replace("<svg ", f'<svg width="{w}" height="{h}" ', 1)
    return data.encode("utf-8")


def export_svg(root: Root, path: str | os.PathLike, style: FigureStyle = EXPORT_STYLE) -> None:
    """Write `root` as an SVG file."""
    _write(path, svg_bytes(root, style))


def pdf_bytes(root: Root, style: FigureStyle = EXPORT_STYLE) -> bytes:
    """`root` as a one-page PDF: 96 dpi, the page the scene's size in points, no margins, lossless images."""
    scene, source = _scene_and_rect(root)
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(int(SCREEN_DPI))
    writer.setCreator("Sequence Model Explorer")
    size = QPageSize(QSizeF(source.width(), source.height()), QPageSize.Unit.Point, "figure",
                     QPageSize.SizeMatchPolicy.ExactMatch)
    writer.setPageLayout(QPageLayout(size, QPageLayout.Orientation.Portrait, QMarginsF(0, 0, 0, 0)))
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("Cannot start the PDF writer")
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.LosslessImageRendering, True)
        target = QRectF(0, 0, writer.width(), writer.height())
        background = pg.mkColor(style.background)
        painter.fillRect(target, background)
        scale = target.width() / max(source.width(), 1.0)
        opts = {"antialias": True, "background": background, "painter": painter, "resolutionScale": scale}
        with export_theme(root, style), _crisp_images(root), _wide_pens(root, scale), _scalable_overlays(root), \
                _export_mode(root, opts):
            scene.render(painter, target, source)
    finally:
        painter.end()
    buffer.close()
    return bytes(data.data())


def export_pdf(root: Root, path: str | os.PathLike, style: FigureStyle = EXPORT_STYLE) -> None:
    """Write `root` as a one-page vector PDF."""
    _write(path, pdf_bytes(root, style))
