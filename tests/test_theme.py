"""Themes and fonts: bundled fonts really draw text, themes switch the palette and live plots."""
from __future__ import annotations

import gc

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtGui import QColor, QFontDatabase, QImage, QPalette
from PySide6.QtWidgets import QLabel

from explorer.ui import theme
from explorer.ui.widgets.plot_panel import PlotPanel

pytestmark = pytest.mark.usefixtures("ui_fonts", "light_theme_afterwards")


def ink(image: QImage) -> np.ndarray:
    """A boolean mask of the pixels that are darker than the white background."""
    image = image.convertToFormat(QImage.Format.Format_Grayscale8)
    stride = image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), dtype=np.uint8, count=stride * image.height())
    return raw.reshape(image.height(), stride)[:, : image.width()] < 128


def render_text(text: str) -> np.ndarray:
    label = QLabel(text)
    label.setStyleSheet("background: white; color: black; font-size: 20px;")
    label.adjustSize()
    image = QImage(label.size(), QImage.Format.Format_RGB32)
    image.fill(QColor("white"))
    label.render(image)
    return ink(image)


def test_bundled_font_is_registered_and_the_app_font(ui_fonts, qapp):
    assert ui_fonts == "DejaVu Sans"
    assert "DejaVu Sans" in QFontDatabase.families()
    assert qapp.font().family() == "DejaVu Sans"


def test_text_is_really_drawn_not_empty_boxes(qtbot):
    narrow, wide = render_text("iiiiiiii"), render_text("WWWWWWWW")
    assert narrow.sum() > 20 and wide.sum() > 20
    # missing glyphs draw the same box for every letter: real glyphs differ in width and ink
    assert narrow.any(axis=0).sum() < 0.6 * wide.any(axis=0).sum()
    assert not np.array_equal(render_text("loss"), render_text("step"))


def test_axis_text_is_drawn_in_exported_figures(qtbot, tmp_path):
    panel = PlotPanel("Loss", "step", "loss")
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.show()
    qtbot.waitExposed(panel)
    panel.add_curve("run").append([0, 1, 2], [0, 1, 4])
    panel.redraw_if_visible()
    panel.export_png(tmp_path / "f.png", scale=1.0)
    mask = ink(QImage(str(tmp_path / "f.png")))
    bottom_axis = panel.plot_item.getAxis("bottom").sceneBoundingRect()
    band = mask[int(bottom_axis.top()) + 4: int(bottom_axis.bottom()), int(bottom_axis.left()) + 10:]
    assert band.sum() > 50  # tick labels and the axis name


def test_switching_theme_changes_palette_pyqtgraph_and_live_plots(qtbot, qapp):
    panel = PlotPanel("Loss", "step", "loss")
    qtbot.addWidget(panel)
    theme.apply_theme(qapp, "light")
    light_window = qapp.palette().color(QPalette.ColorRole.Window).name()
    theme.apply_theme(qapp, "dark")
    assert theme.current_theme() == "dark"
    dark_window = qapp.palette().color(QPalette.ColorRole.Window)
    assert dark_window.name() != light_window and dark_window.lightness() < 80
    assert pg.mkColor(pg.getConfigOption("background")).name() == theme.STYLES["dark"].background
    assert pg.getConfigOption("antialias") is True
    assert panel.plot_widget.backgroundBrush().color().name() == theme.STYLES["dark"].background
    assert panel.plot_item.getAxis("left").textPen().color().name() == theme.STYLES["dark"].foreground
    late = PlotPanel("Later", "x", "y")  # panels created after the switch start in the current theme
    qtbot.addWidget(late)
    assert late.plot_widget.backgroundBrush().color().name() == theme.STYLES["dark"].background
    theme.apply_theme(qapp, "light")
    assert panel.plot_widget.backgroundBrush().color().name() == "#ffffff"
    with pytest.raises(ValueError):
        theme.apply_theme(qapp, "solarized")


def test_deleted_panels_do_not_break_theme_switching(qtbot, qapp):
    panel = PlotPanel("Loss", "step", "loss")
    panel.deleteLater()
    qtbot.wait(1)
    del panel
    gc.collect()
    theme.apply_theme(qapp, "dark")
    theme.apply_theme(qapp, "light")


def _luminance(color: str) -> float:
    c = QColor(color)
    lin = [(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4) for v in (c.redF(), c.greenF(), c.blueF())]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def test_curve_colours_are_distinct_and_readable_on_both_backgrounds():
    first = [theme.curve_color(i) for i in range(len(theme.CURVE_COLORS))]
    assert len(set(first)) == len(first) and theme.curve_color(len(first)) == first[0]
    for color in first[:4]:
        for name in theme.THEMES:
            assert _contrast(color, theme.STYLES[name].background) >= 3.0, (color, name)
    assert theme.EXPORT.background == "#ffffff" and theme.EXPORT.foreground == "#000000"
