"""PlotPanel: curves, log toggles, hover readout, redraw on visibility, and atomic light-theme exports."""
from __future__ import annotations

import base64
import csv
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from explorer.ui import theme
from explorer.ui.widgets.plot_panel import PlotPanel

pytestmark = pytest.mark.usefixtures("ui_fonts", "light_theme_afterwards")


@pytest.fixture
def panel(qtbot):
    p = PlotPanel("Training loss", "step", "loss", y_unit="nats")
    qtbot.addWidget(p)
    p.resize(640, 420)
    p.show()
    qtbot.waitExposed(p)
    a = p.add_curve("LSTM")
    a.append(np.arange(1000.0), np.exp(-np.arange(1000.0) / 300))
    b = p.add_curve("GRU")
    b.append([0, 10, 20, 30], [1.0, 0.5, 0.25, 0.125])
    p.redraw_if_visible()
    yield p


def view_to_scene(p: PlotPanel, x: float, y: float) -> QPointF:
    return p.plot_item.getViewBox().mapViewToScene(QPointF(x, y))


def test_curves_get_distinct_colours_and_legend_entries(panel):
    colours = {c.item.opts["pen"].color().name() for c in panel.curves.values()}
    assert len(colours) == 2
    assert [label.text for _, label in panel.legend.items] == ["LSTM", "GRU"]
    with pytest.raises(ValueError):
        panel.add_curve("GRU")
    panel.remove_curve("GRU")
    assert list(panel.curves) == ["LSTM"] and len(panel.legend.items) == 1
    third = panel.add_curve("Transformer")
    assert third.item.opts["pen"].color().name() not in {panel.curves["LSTM"].item.opts["pen"].color().name()}


def test_axes_are_named_with_units(panel):
    assert "step" in panel.plot_item.getAxis("bottom").labelString()
    assert "loss" in panel.plot_item.getAxis("left").labelString()
    assert "nats" in panel.plot_item.getAxis("left").labelString()


def test_log_buttons_and_set_log_stay_in_step(panel):
    panel.log_y_button.trigger()
    assert panel.plot_item.ctrl.logYCheck.isChecked()
    panel.set_log(x=True)
    assert panel.log_x_button.isChecked()
    panel.set_log(x=False, y=False)
    assert not panel.log_x_button.isChecked() and not panel.log_y_button.isChecked()


def test_hover_shows_curve_name_and_exact_values(panel):
    panel.plot_widget.scene().sigMouseMoved.emit(view_to_scene(panel, 20, 0.25))
    assert panel._readout.isVisible()
    assert panel._readout.textItem.toPlainText() == "GRU  x = 20, y = 0.25"
    far = view_to_scene(panel, 900, 5.0)
    panel.plot_widget.scene().sigMouseMoved.emit(far)
    assert not panel._readout.isVisible()


def test_the_hover_readout_goes_when_the_pointer_leaves_and_when_a_figure_replaces_the_data(panel, qapp):
    from PySide6.QtCore import QEvent

    from explorer.figures import Axis, Figure, Series

    panel.plot_widget.scene().sigMouseMoved.emit(view_to_scene(panel, 20, 0.25))
    assert panel._readout.isVisible() and panel._marker.isVisible()
    qapp.sendEvent(panel.plot_widget, QEvent(QEvent.Type.Leave))
    assert not panel._readout.isVisible() and not panel._marker.isVisible()
    panel.plot_widget.scene().sigMouseMoved.emit(view_to_scene(panel, 20, 0.25))
    assert panel._readout.isVisible()
    panel.show_figure(Figure("new", "Another run", Axis("step"), Axis("loss"), series=(Series("RNN", [0, 1], [2, 1]),)))
    assert not panel._readout.isVisible()  # it described a point that is no longer there


def test_hover_on_heatmap_shows_cell_and_value(panel):
    panel.add_heatmap("gates")
    data = np.arange(12, dtype=float).reshape(3, 4)
    panel.set_heatmap("gates", data, rect=(100, 0, 400, 0.9))
    item = panel.heatmaps["gates"]
    assert item.image.dtype == np.float32 and item.image.flags.c_contiguous
    scene_pos = item.mapToScene(QPointF(3.5, 2.5))  # column 3, row 2
    panel.plot_widget.scene().sigMouseMoved.emit(scene_pos)
    assert panel._readout.textItem.toPlainText() == "gates  [row 2, col 3] = 11"


def test_hidden_panel_catches_up_when_shown(qtbot):
    p = PlotPanel("Loss", "step", "loss")
    qtbot.addWidget(p)
    curve = p.add_curve("run")
    curve.append([1, 2, 3], [3, 2, 1])
    assert p.redraw_if_visible() is False and curve.item.xData is None
    p.show()
    qtbot.waitExposed(p)
    np.testing.assert_array_equal(curve.item.yData, [3, 2, 1])
    curve.append(4, 0)
    p.request_redraw()
    assert p.redraw_if_visible() and len(curve.item.yData) == 4


def image_colour(img: QImage, x: int, y: int) -> str:
    return img.pixelColor(x, y).name()


def test_png_is_scaled_and_light_even_in_dark_theme(panel, qapp, tmp_path):
    theme.apply_theme(qapp, "dark")
    path = tmp_path / "loss.png"
    panel.export_png(path, scale=2.0)
    img = QImage(str(path))
    w, h = panel.plot_widget.width(), panel.plot_widget.height()
    # as wide as on screen; taller by the title row that exported files carry above the plot
    assert abs(img.width() - 2 * w) <= 2 and 2 * h + 20 <= img.height() <= 2 * h + 120
    panel.export_with_text = False
    panel.export_png(path, scale=2.0)
    img = QImage(str(path))
    assert abs(img.width() - 2 * w) <= 2 and abs(img.height() - 2 * h) <= 2
    assert image_colour(img, 2, 2) == "#ffffff" and image_colour(img, img.width() - 3, img.height() // 2) == "#ffffff"
    # the on-screen theme is back afterwards
    assert panel.plot_widget.backgroundBrush().color().name() == theme.STYLES["dark"].background
    assert panel.plot_item.getAxis("left").pen().color().name() == theme.STYLES["dark"].foreground
    assert panel.legend.brush().color().name() == pg.mkColor(theme.STYLES["dark"].legend_background).name()


def test_svg_is_xml_with_axis_labels_and_crisp_heatmaps(panel, tmp_path):
    panel.add_heatmap("grid")
    panel.set_heatmap("grid", np.eye(11), rect=(0, 0, 100, 0.5))
    path = tmp_path / "loss.svg"
    panel.export_svg(path)
    root = ET.parse(path).getroot()
    texts = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "step" in texts and "loss" in texts and "LSTM" in texts
    images = list(root.iter("{http://www.w3.org/2000/svg}image"))
    assert images
    href = next(v for k, v in images[0].attrib.items() if k.endswith("href"))
    embedded = QImage.fromData(base64.b64decode(href.split(",", 1)[1]))
    assert embedded.width() >= 11 * 20  # upsampled, not an 11x11 bitmap
    assert panel.heatmaps["grid"].image.shape == (11, 11)  # restored


def test_pdf_is_a_page_the_size_of_the_plot(panel, tmp_path):
    path = tmp_path / "loss.pdf"
    panel.export_with_text = False
    panel.export_pdf(path)
    data = path.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 2000
    box = [float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]*)\]", data).group(1).split()]
    rect = panel.canvas.ci.sceneBoundingRect()
    assert box[2] - box[0] == pytest.approx(rect.width(), abs=1)
    assert box[3] - box[1] == pytest.approx(rect.height(), abs=1)
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        assert "step" in text and "loss" in text and "GRU" in text


def test_csv_round_trips_every_curve(panel, tmp_path):
    panel.curves["GRU"].append(40, 1 / 3)  # needs full precision
    path = tmp_path / "loss.csv"
    panel.export_csv(path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["curve", "x", "y"]
    for name, curve in panel.curves.items():
        mine = np.array([[float(r[1]), float(r[2])] for r in rows[1:] if r[0] == name])
        np.testing.assert_array_equal(mine[:, 0], curve.x)
        np.testing.assert_array_equal(mine[:, 1], curve.y)


def test_csv_uses_the_data_provider(panel, tmp_path):
    table = np.array([[1.0, 2.5], [3.0, 0.1]])
    panel.set_data_provider(lambda: (["t", "value"], table))
    path = tmp_path / "data.csv"
    panel.export_csv(path)
    np.testing.assert_array_equal(np.loadtxt(path, delimiter=",", skiprows=1), table)
    assert path.read_text().splitlines()[0] == "t,value"


def test_failed_render_leaves_the_old_file_and_no_temp(panel, tmp_path, monkeypatch, qapp):
    theme.apply_theme(qapp, "dark")
    target = tmp_path / "fig.png"
    target.write_bytes(b"old figure")

    def broken(*_args, **_kwargs):
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(pg.GraphicsScene, "render", broken)
    with pytest.raises(RuntimeError):
        panel.export_png(target)
    assert target.read_bytes() == b"old figure"
    assert os.listdir(tmp_path) == ["fig.png"]
    assert panel.plot_item.getAxis("bottom").pen().color().name() == theme.STYLES["dark"].foreground


def test_failed_write_midway_leaves_the_old_file_and_no_temp(panel, tmp_path, monkeypatch):
    import explorer.atomic

    for name, export in (("fig.svg", panel.export_svg), ("fig.pdf", panel.export_pdf), ("data.csv", panel.export_csv)):
        target = tmp_path / name
        target.write_bytes(b"old")

        def no_sync(_fd):
            raise OSError(28, "No space left on device")

        with monkeypatch.context() as patch, pytest.raises(OSError, match=re.escape(name)):
            patch.setattr(explorer.atomic.os, "fsync", no_sync)
            export(target)
        assert target.read_bytes() == b"old"
    assert sorted(os.listdir(tmp_path)) == ["data.csv", "fig.pdf", "fig.svg"]


def test_unwritable_destination_raises_a_clear_oserror(panel, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    for export, name in ((panel.export_png, "a.png"), (panel.export_svg, "a.svg"),
                         (panel.export_pdf, "a.pdf"), (panel.export_csv, "a.csv")):
        with pytest.raises(OSError, match=r"Cannot write .*a\."):
            export(blocker / name)


def test_toolbar_export_asks_for_a_file_and_reports_failure(panel, tmp_path, monkeypatch):
    answers = iter([str(tmp_path / "figure"), str(tmp_path / "nope" / "x" / "figure.pdf")])
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (next(answers), "")))
    errors = []
    monkeypatch.setattr(QMessageBox, "critical", staticmethod(lambda *a, **k: errors.append(a)))
    menu = panel._export_submenu
    png_menu = menu.actions()[0].menu()
    png_menu.actions()[2].trigger()  # 4x
    img = QImage(str(tmp_path / "figure.png"))
    assert abs(img.width() - 4 * panel.plot_widget.width()) <= 4
    (tmp_path / "nope").write_text("a file where a folder should be")
    pdf_action = next(a for a in menu.actions() if a.text().startswith("PDF"))
    pdf_action.trigger()
    assert len(errors) == 1 and "figure.pdf" in errors[0][2]
    QApplication.processEvents()


def test_a_panel_never_shown_exports_at_its_own_size(qtbot, tmp_path):
    p = PlotPanel("Hidden", "step", "loss")
    qtbot.addWidget(p)
    p.resize(700, 400)
    p.add_curve("run").append([0, 1, 2], [0, 1, 4])
    p.export_png(tmp_path / "hidden.png", scale=1.0)
    img = QImage(str(tmp_path / "hidden.png"))
    assert img.width() == 700 and 330 < img.height() < 480  # with the title row above the plot
    np.testing.assert_array_equal(p.curves["run"].item.yData, [0, 1, 4])  # pending data is drawn first


def test_set_title_and_grey_text_follow_theme_and_export(panel, qapp):
    panel.set_title("Loss at step 10")
    assert panel.title_label.text() == "Loss at step 10"
    theme.apply_theme(qapp, "dark")
    word = pg.TextItem("king", color=theme.foreground_color())
    accent = pg.TextItem("note", color=theme.curve_color(1))
    panel.plot_item.addItem(word)
    panel.plot_item.addItem(accent)
    from explorer.export.figures import EXPORT_STYLE, restyle

    restore = restyle(panel.plot_item, EXPORT_STYLE)
    assert word.color.name() == "#000000" and accent.color.name() == theme.curve_color(1).lower()
    restore()
    assert word.color.name() == theme.STYLES["dark"].foreground
    theme.apply_theme(qapp, "light")
    assert word.color.name() == theme.STYLES["light"].foreground
