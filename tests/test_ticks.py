"""Log-axis ticks (explorer.figures.ticks): never more than the axis has room for, inside the range, in one
notation, and each label reads back as its value; and the canvas's log axes use them."""
from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.figures.figure import Axis, Figure, Series
from explorer.figures.ticks import log_tick_labels, log_ticks

SUPERSCRIPTS = "⁻⁰¹²³⁴⁵⁶⁷⁸⁹"


def _value(label: str) -> float:
    """A label read back as a number: 0.05, 30, 10⁻³, 2·10⁵."""
    if not any(c in label for c in SUPERSCRIPTS):
        return float(label)
    mantissa, _, power = label.rpartition("10")
    exponent = int(power.translate(str.maketrans(SUPERSCRIPTS, "-0123456789")))
    return (float(mantissa.rstrip("·")) if mantissa else 1.0) * 10.0 ** exponent


@settings(max_examples=300, deadline=None)
@given(lo=st.floats(-30, 30), span=st.floats(1e-3, 40), room=st.integers(2, 30))
def test_ticks_fit_the_room_lie_in_the_range_and_labels_read_back(lo, span, room):
    hi = lo + span
    ticks = log_ticks(lo, hi, room)
    assert len(ticks) <= room
    assert all(lo - 1e-6 <= t <= hi + 1e-6 for t in ticks)
    assert all(b > a for a, b in itertools.pairwise(ticks))
    if room >= 3:
        assert len(ticks) >= 2
    labels = log_tick_labels(ticks)
    assert len(set(labels)) == len(labels)
    plain = [not any(c in label for c in SUPERSCRIPTS) for label in labels]
    assert all(plain) or not any(plain)  # one notation on an axis
    for tick, label in zip(ticks, labels, strict=True):
        assert math.isclose(_value(label), 10.0 ** tick, rel_tol=1e-5)


def test_known_axes():
    def labels(lo, hi, room):
        return log_tick_labels(log_ticks(math.log10(lo), math.log10(hi), room))

    # pyqtgraph labels 0.2..3 with 0.2 0.3 ... 0.9 1 2 3, nine of them under 1
    assert labels(0.2, 3.0, 8) == ["0.2", "0.5", "1", "2"]
    assert labels(30, 70, 8) == ["30", "40", "50", "60", "70"]  # not 3·10¹ .. 7·10¹
    assert labels(1e-6, 1e2, 8) == ["10⁻⁶", "10⁻⁴", "10⁻²", "10⁰", "10²"]  # not 10⁻⁶ .. 0.01 1 10²
    assert labels(1e-6, 1e2, 12) == [f"10{str(e).translate(str.maketrans('-0123456789', SUPERSCRIPTS))}"
                                     for e in range(-6, 3)]
    assert labels(0.9, 1.1, 8) == ["0.9", "0.95", "1", "1.05", "1.1"]  # inside one decade: round steps
    assert labels(2e-6, 5e-5, 8) == ["2·10⁻⁶", "5·10⁻⁶", "10⁻⁵", "2·10⁻⁵", "5·10⁻⁵"]
    assert labels(0.01, 10, 8) == ["0.01", "0.1", "1", "10"]


def test_the_canvas_log_axis_labels_fit_its_height(qtbot):
    from explorer.render.canvas import FigureCanvas

    canvas = FigureCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(420, 300)
    x = np.arange(50)
    canvas.show_figure(Figure(name="g", title="gradient", x=Axis("step"), y=Axis("norm", log=True),
                              series=(Series("g", x, np.geomspace(0.2, 3.0, 50)),)))
    axis = canvas.plot_item.getAxis("left")
    levels = axis.tickValues(math.log10(0.15), math.log10(3.5), 200)
    values = [v for _, level in levels for v in level]
    strings = axis.tickStrings(values, 1.0, 1.0)
    assert strings == ["0.2", "0.5", "1", "2"]
    short = [v for _, level in axis.tickValues(math.log10(0.15), math.log10(3.5), 80) for v in level]
    assert 2 <= len(short) <= 80 // axis.LABEL_ROOM_PX["left"]
    # no tick so near an end that its label would stick out (pyqtgraph would drop that label)
    edge = [v for _, level in axis.tickValues(math.log10(0.2), math.log10(3.0), 200) for v in level]
    assert math.log10(0.2) not in edge and len(edge) >= 2


def test_a_figures_own_ticks_are_thinned_until_their_labels_no_longer_overlap(qtbot):
    from PySide6.QtGui import QImage, QPainter

    from explorer.render.canvas import FigureCanvas

    canvas = FigureCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(260, 200)
    symbols = tuple((float(t), f"{0.1 * t:.2f}") for t in range(40))  # a symbol under every time step
    canvas.show_figure(Figure(name="gate", title="gate", x=Axis("input symbol at time step", ticks=symbols),
                              y=Axis("unit"), series=(Series("s", np.arange(40.0), np.arange(40.0)),)))
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.scene().prepareForPaint()
    axis = canvas.plot_item.getAxis("bottom")
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        texts = axis.generateDrawSpecs(painter)[2]
    finally:
        painter.end()
    rects = sorted((rect for rect, _, _ in texts), key=lambda r: r.left())
    assert len(rects) >= 2
    assert all(a.right() <= b.left() for a, b in itertools.pairwise(rects))  # no two labels overlap
    assert {text for _, _, text in texts} <= {t for _, t in symbols}


def test_the_ticks_a_figure_lists_first_survive_thinning(qtbot):
    from PySide6.QtGui import QImage, QPainter

    from explorer.render.canvas import FigureCanvas
    from explorer.state.recurrent_figures import symbol_ticks

    labels = [f"{0.1 * t:.2f}" + ("*" if t in (7, 23) else "") for t in range(40)]  # the adding task's input
    ticks = symbol_ticks(labels)
    assert [t for _, t in ticks[:2]] == ["0.70*", "2.30*"]  # the marked values first
    canvas = FigureCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(240, 200)
    canvas.show_figure(Figure(name="gate", title="gate", x=Axis("input symbol at time step", ticks=ticks),
                              y=Axis("unit"), series=(Series("s", np.arange(40.0), np.arange(40.0)),)))
    canvas.show()
    qtbot.waitExposed(canvas)
    canvas.scene().prepareForPaint()
    image = QImage(10, 10, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    try:
        texts = canvas.plot_item.getAxis("bottom").generateDrawSpecs(painter)[2]
    finally:
        painter.end()
    shown = [text for _, _, text in sorted(texts, key=lambda spec: spec[0].left())]
    assert "0.70*" in shown and "2.30*" in shown and len(shown) < len(ticks)  # thinned, the marked ones kept
    rects = sorted((rect for rect, _, _ in texts), key=lambda r: r.left())
    assert all(a.right() <= b.left() for a, b in itertools.pairwise(rects))
