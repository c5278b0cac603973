"""The one renderer: a Figure drawn on screen and into files the same way, slide-ready at every scale."""
from __future__ import annotations

import csv

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtGui import QImage

from explorer.figures import Arrow, Axis, Figure, Heatmap, Points, RefLine, Series
from explorer.render import files
from explorer.render.files import export_canvas
from explorer.render.labels import _SPOTS, _box, place_labels


@pytest.fixture
def offscreen_canvas():
    """Canvases drawn without a window, deleted before the test ends (a Qt widget that outlives the
    QApplication crashes the interpreter at exit)."""
    made = []

    def make(fig, size=files.DEFAULT_SIZE):
        made.append(files.offscreen_canvas(fig, size))
        return made[-1]

    yield make
    for canvas in made:
        files.dispose(canvas)


def _red_pixels(path) -> int:
    img = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB888)
    w, h = img.width(), img.height()
    arr = np.frombuffer(img.constBits(), np.uint8, count=img.bytesPerLine() * h).reshape(h, -1)[:, : 3 * w]
    rgb = arr.reshape(h, w, 3).astype(int)
    return int(((rgb[..., 0] > 150) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)).sum())


def test_arrow_heads_scale_with_the_export_not_with_the_data(qapp, offscreen_canvas, tmp_path, ui_fonts):
    fig = Figure("map", "Analogy", Axis("x"), Axis("y"),
                 points=(Points("words", [0, 1, 5, 6], [0, 1, 0, 1]),),
                 arrows=(Arrow(0, 0, 1, 1, "#d00000"), Arrow(5, 0, 6, 1, "#d00000")))
    canvas = offscreen_canvas(fig, (500, 400))
    counts = {}
    for scale in (1, 2, 4):
        export_canvas(canvas, tmp_path / f"a{scale}.png", "png", scale, with_text=False)
        counts[scale] = _red_pixels(tmp_path / f"a{scale}.png")
    assert counts[1] > 0
    # lines and heads grow with the area of the image (about scale²), never to cover the plot
    for scale in (2, 4):
        assert 0.5 * scale**2 < counts[scale] / counts[1] < 2.0 * scale**2
    assert counts[4] < 0.05 * 16 * 500 * 400


def test_heatmaps_get_a_labelled_colour_bar_and_empty_figures_a_hint(qapp, offscreen_canvas, ui_fonts):
    fig = Figure("h", "Heat", Axis("key"), Axis("query"),
                 heatmaps=(Heatmap("w", np.eye(3), "attention weight", nan_color="#c0c0c0"),))
    canvas = offscreen_canvas(fig)
    assert canvas.colorbar is not None
    assert canvas.colorbar.getAxis("left").labelText == "attention weight"
    empty = Figure("e", "Loss", Axis("step"), Axis("loss"), series=(Series("loss"),), hint="Press Train.")
    canvas.show_figure(empty)
    assert canvas.colorbar is None and canvas._hint.isVisible() and canvas._hint.textItem.toPlainText() == \
        "Press Train."
    assert not canvas.plot_item.getAxis("left").isVisible()
    assert [label.text for _, label in canvas.legend.items] == ["loss"]  # the legend names it before training


def test_the_legend_sits_below_the_plot_never_on_the_data(qapp, offscreen_canvas, ui_fonts):
    x = np.arange(50.0)
    fig = Figure("c", "Curves", Axis("t"), Axis("y"),
                 series=tuple(Series(f"curve {i}", x, np.sin(x / 5 + i)) for i in range(3)))
    canvas = offscreen_canvas(fig)
    view = canvas.plot_item.getViewBox().sceneBoundingRect()
    legend = canvas.legend.sceneBoundingRect()
    assert canvas.legend.isVisible() and not view.intersects(legend) and legend.top() >= view.bottom()


def test_exports_carry_title_and_caption_unless_asked_not_to(qapp, offscreen_canvas, tmp_path, ui_fonts):
    fig = Figure("c", "A long title " * 12, Axis("t"), Axis("y"), series=(Series("s", [0, 1], [0, 1]),),
                 caption="the deciding number: 0.42")
    canvas = offscreen_canvas(fig, (600, 400))
    export_canvas(canvas, tmp_path / "with.png", "png", 1.0)
    export_canvas(canvas, tmp_path / "without.png", "png", 1.0, with_text=False)
    with_text, without = QImage(str(tmp_path / "with.png")), QImage(str(tmp_path / "without.png"))
    assert with_text.width() == without.width() == 600
    assert without.height() == 400 and with_text.height() > 400 + 40  # a wrapped title and a caption
    export_canvas(canvas, tmp_path / "c.svg", "svg")
    svg = (tmp_path / "c.svg").read_text()
    assert "0.42" in svg and "A long title" in svg


def test_csv_names_units_and_keeps_reference_lines(qapp, offscreen_canvas, tmp_path):
    fig = Figure("acc", "Accuracy", Axis("distance", "steps"), Axis("accuracy"),
                 series=(Series("LSTM", [1, 2], [0.9, 0.5]),), lines=(RefLine(0.125, "chance"),))
    canvas = offscreen_canvas(fig)
    export_canvas(canvas, tmp_path / "acc.csv", "csv")
    with open(tmp_path / "acc.csv") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["element", "name", "distance (steps)", "accuracy"]
    assert ["series", "LSTM", "1.0", "0.9"] in rows
    assert ["reference line", "chance", "", "0.125"] in rows


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 400), st.floats(0, 300), st.floats(20, 120)), min_size=1, max_size=40))
def test_placed_labels_never_overlap(points):
    anchors = [(x, y, 4.0) for x, y, _ in points]
    sizes = [(w, 14.0) for _, _, w in points]
    spots = place_labels(anchors, sizes, bounds=(0, 0, 500, 400))
    boxes = []
    for (x, y, r), (w, h), spot in zip(anchors, sizes, spots, strict=True):
        if spot is None:
            continue
        box = _box(x, y, r, w, h, next(s for s in _SPOTS if s[0] == spot))
        assert box[0] >= 0 and box[0] + box[2] <= 500 and box[1] >= 0 and box[1] + box[3] <= 400
        for other in boxes:
            assert not (box[0] < other[0] + other[2] and other[0] < box[0] + box[2] and
                        box[1] < other[1] + other[3] and other[1] < box[1] + box[3])
        boxes.append(box)


def test_figure_rejects_mismatched_data():
    with pytest.raises(ValueError, match="x has 2 values, y 3"):
        Series("s", [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match="2-D"):
        Heatmap("h", [1, 2, 3], "value")


def test_the_legend_follows_the_figures_order_and_the_colour_bar_its_plain_numbers(qapp, offscreen_canvas, ui_fonts):
    x = np.arange(3.0)
    first = Figure("f", "F", Axis("t"), Axis("y"), series=(Series("RNN", x, x), Series("LSTM", x, x)))
    canvas = offscreen_canvas(first)
    canvas.show_figure(first.replace(series=(Series("RNN", x, x), Series("GRU", x, x), Series("LSTM", x, x))))
    assert [label.text for _, label in canvas.legend.items] == ["RNN", "GRU", "LSTM"]
    small = Figure("h", "H", Axis("t"), Axis("unit"), heatmaps=(Heatmap("c", np.full((2, 2), 1e-3), "c(t)",
                                                                         levels=(-6e-4, 6e-4)),))
    canvas.show_figure(small)
    assert canvas.colorbar.getAxis("left").labelText == "c(t)"
    assert canvas.colorbar.getAxis("right").autoSIPrefixScale == 1.0


def test_palette_colour_zero_is_a_colour_not_a_default():
    from explorer.figures import curve_color
    from explorer.render.elements import _color

    assert _color(0, index=1).name() == curve_color(0).lower()
    assert _color(None, index=1).name() == curve_color(1).lower()


def test_a_heatmap_drawn_without_a_window_fills_its_svg(qapp, offscreen_canvas, tmp_path, ui_fonts):
    from PySide6.QtGui import QColor, QPainter
    from PySide6.QtSvg import QSvgRenderer

    fig = Figure("h", "Heat", Axis("x"), Axis("step"),
                 heatmaps=(Heatmap("h", np.full((8, 30), 0.7), "value", rect=(-30, 0, 30, 300), levels=(0, 1)),))
    canvas = offscreen_canvas(fig, (600, 400))
    export_canvas(canvas, tmp_path / "h.svg", "svg", with_text=False)
    (x0, x1), (y0, y1) = canvas.plot_item.getViewBox().viewRange()
    assert x0 <= -30 and x1 >= 0 and y0 <= 0 and y1 >= 300  # the view was fitted, not left at 0..1
    renderer = QSvgRenderer(str(tmp_path / "h.svg"))
    image = QImage(renderer.defaultSize(), QImage.Format.Format_ARGB32)
    image.fill(QColor("white"))
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    centre = image.pixelColor(image.width() // 2 - 30, image.height() // 2)
    assert centre.name() != "#ffffff"  # the heatmap is under the centre of the plot


def _line_label_box(canvas):
    vb = canvas.plot_item.getViewBox()
    return vb.mapSceneToView(canvas._lines[0].ref_label.sceneBoundingRect()).boundingRect()


def test_a_reference_line_label_moves_off_a_curve_that_ends_on_its_line(qapp, offscreen_canvas, ui_fonts):
    """'σ = 1' above the line's right end, unless a curve comes down there: then where no curve is."""
    x = np.arange(30.0)
    free = offscreen_canvas(Figure(name="f", title="free", x=Axis("t"), y=Axis("y"),
                                   series=(Series("high", x, np.full(30, 9.0)),), lines=(RefLine(1.0, "σ = 1"),)))
    assert free._lines[0].ref_label.orthoPos > 0.9  # the preferred spot: nothing is there
    crossed = offscreen_canvas(Figure(name="c", title="crossed", x=Axis("t"), y=Axis("y"),
                                      series=(Series("falls", x, 10 - 9 * x / 29),), lines=(RefLine(1.0, "σ = 1"),)))
    box = _line_label_box(crossed)
    xs = np.linspace(0, 29, 2000)
    ys = 10 - 9 * xs / 29
    inside = (xs >= box.left()) & (xs <= box.right()) & (ys >= box.top()) & (ys <= box.bottom())
    assert not inside.any()  # the falling curve no longer runs through the text
    view = crossed.plot_item.getViewBox().viewRect()
    assert view.contains(box)  # and the text stays inside the plot


def test_a_reference_line_label_has_a_backing_of_the_background_in_every_theme(qapp, offscreen_canvas, ui_fonts):
    from explorer.export.figures import EXPORT_STYLE, restyle

    canvas = offscreen_canvas(Figure(name="f", title="f", x=Axis("t"), y=Axis("y"),
                                     series=(Series("s", np.arange(5.0), np.arange(5.0)),),
                                     lines=(RefLine(2.0, "chance"),)))
    label = canvas._lines[0].ref_label
    background = canvas.backgroundBrush().color()
    assert label.backing.rgb() == background.rgb() and label.backing.alpha() > 0
    # the text's own span carries it, so every renderer draws it right behind the text (PNG, SVG, PDF)
    assert "background-color" in label.textItem.toHtml() and label.textItem.toPlainText().strip() == "chance"
    restore = restyle(canvas.scene(), EXPORT_STYLE)
    assert label.backing.name() == EXPORT_STYLE.background
    restore()
    assert label.backing.rgb() == background.rgb()


def test_least_covered_box_prefers_the_first_free_one_inside_the_bounds():
    from explorer.render.labels import least_covered

    x, y = np.array([0.5, 0.6, 5.5]), np.array([0.5, 0.5, 5.5])
    boxes = [(0, 0, 1, 1), (5, 5, 6, 6), (2, 2, 3, 3), (20, 20, 30, 30)]
    assert least_covered(boxes, x, y) == 2
    assert least_covered(boxes, x, y, bounds=(0, 0, 10, 10)) == 2
    assert least_covered([(0, 0, 1, 1), (20, 20, 30, 30)], x, y, bounds=(0, 0, 10, 10)) == 0  # outside: last resort


def test_a_reference_line_out_of_view_has_no_label_at_the_edge(qapp, offscreen_canvas, ui_fonts):
    x = np.arange(30.0)
    canvas = offscreen_canvas(Figure(name="w", title="w", x=Axis("step"), y=Axis("σ"),
                                     series=(Series("s", x, 2 + x / 6),), lines=(RefLine(1.0, "σ = 1"),)))
    canvas.scene().prepareForPaint()  # the view takes its range from the data (lines do not widen it)
    canvas._place_line_labels()
    assert canvas.plot_item.getViewBox().viewRange()[1][0] > 1.0
    assert not canvas._lines[0].ref_label.isVisible()
    canvas.plot_item.setYRange(0, 8, padding=0)  # the user zooms out: the line and its label come into view
    assert canvas._lines[0].ref_label.isVisible()


def test_the_legend_shrinks_with_its_canvas_and_no_name_is_cut_off(qapp, offscreen_canvas, ui_fonts):
    names = ("before fine-tuning (pre-trained)", "after: from scratch", "after: copy lower 0, rest fresh",
             "after: warm start", "after: warm start, lower 0 frozen")
    x = np.arange(5.0)
    canvas = offscreen_canvas(Figure(name="p", title="probe", x=Axis("layer"), y=Axis("accuracy"),
                                     series=tuple(Series(n, x, x * i) for i, n in enumerate(names))), (900, 300))
    for width in (700, 520, 430):
        files.fit_canvas(canvas, width, 300)
        qapp.processEvents()
        right = max(label.mapRectToScene(label.boundingRect()).right() for _, label in canvas.legend.items)
        assert right <= width, (width, right)
        labels = [label for _, label in canvas.legend.items]
        assert all(label.geometry().width() >= label.item.boundingRect().width() - 1 for label in labels)


def test_an_axis_title_longer_than_its_axis_is_shortened_not_cut_at_both_ends(qapp, offscreen_canvas, ui_fonts):
    title = "input symbol at time step, counted from the start of the sequence"
    canvas = offscreen_canvas(Figure(name="g", title="gate", x=Axis(title), y=Axis("unit"),
                                     series=(Series("s", np.arange(5.0), np.arange(5.0)),)), (180, 160))
    axis = canvas.plot_item.getAxis("bottom")
    shown = axis.label.toPlainText()
    assert shown.endswith("…") and title.startswith(shown[:-1]) and len(shown) > 3
    assert axis.label.boundingRect().width() <= axis.size().width()
    files.fit_canvas(canvas, 900, 300)
    assert canvas.plot_item.getAxis("bottom").label.toPlainText() == title  # room again: the whole title


def test_a_long_hint_wraps_inside_a_narrow_panel(qapp, offscreen_canvas, ui_fonts):
    hint = ("'paris' is searched: the next run's snapshots show its training example (press Train), with the pull "
            "of each context word and the push of each sampled noise word")
    canvas = offscreen_canvas(Figure(name="pulls", title="pulls", x=Axis("x"), y=Axis("y"), hint=hint), (360, 300))
    vb = canvas.plot_item.getViewBox()
    box = canvas._hint.mapRectToItem(vb, canvas._hint.boundingRect())
    assert canvas._hint.isVisible() and canvas._hint.textItem.toPlainText() == hint
    assert box.left() >= 0 and box.right() <= vb.width()  # wrapped onto several lines, not cut at both sides
    assert box.height() > 2 * canvas._hint.textItem.document().documentMargin() + 20
