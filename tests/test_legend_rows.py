"""Legend rows (explorer.figures.legend_rows): every entry once and in order, never wider than the room, and
long names take a row of their own instead of forcing one column on all; the canvas arranges its legend so."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.figures.figure import Axis, Figure, Series
from explorer.figures.legend_rows import columns_in_use, legend_rows
from explorer.render import files


@settings(max_examples=400, deadline=None)
@given(widths=st.lists(st.floats(20, 600), max_size=9), available=st.floats(60, 1200))
def test_rows_keep_every_entry_in_order_and_fit_the_width(widths, available):
    columns, rows = legend_rows(widths, available)
    assert [i for row in rows for i in row] == list(range(len(widths)))
    assert 1 <= columns <= 6 and all(1 <= len(row) <= columns for row in rows)
    shared = [row for row in rows if len(row) > 1]
    if shared:
        assert sum(columns_in_use(widths, columns, rows)) <= available + 1e-9
    # never more rows than the plain grid with the most columns that fits
    plain = max((c for c in range(1, min(len(widths), 6) + 1)
                 if sum(max(widths[k::c]) for k in range(c)) <= available), default=1)
    assert len(rows) <= -(-len(widths) // plain) if widths else rows == []


def test_long_names_take_their_own_row_and_short_ones_share_one():
    # RNN, GRU, LSTM, "dashed: at initialisation", "∏ σ_max after t (LSTM)" in a 290 px panel
    columns, rows = legend_rows([80, 80, 88, 200, 190], 260)
    assert (columns, rows) == (3, [[0, 1, 2], [3], [4]])
    assert legend_rows([80, 80, 88], 1000) == (3, [[0, 1, 2]])  # room for all: one row
    assert legend_rows([300, 300], 250) == (1, [[0], [1]])  # nothing fits beside anything
    assert legend_rows([], 300) == (1, [])


def test_a_narrow_panel_keeps_its_short_names_on_one_row(qapp, ui_fonts):
    names = ("RNN", "GRU", "LSTM", "dashed: at initialisation", "∏ σ_max after t (LSTM)")
    x = np.arange(5.0)
    fig = Figure(name="j", title="jacobian", x=Axis("t"), y=Axis("σ"),
                 series=tuple(Series(n, x, x * (i + 1)) for i, n in enumerate(names)))
    canvas = files.offscreen_canvas(fig, (290, 300))
    try:
        qapp.processEvents()
        labels = {label.text: label for _, label in canvas.legend.items}
        tops = {n: round(labels[n].mapRectToScene(labels[n].boundingRect()).top()) for n in names}
        assert tops["RNN"] == tops["GRU"] == tops["LSTM"]
        assert len(set(tops.values())) == 3  # three rows, not five
        for label in labels.values():  # and no name is cut off
            assert label.mapRectToScene(label.boundingRect()).right() <= 290
            assert label.geometry().width() >= label.item.boundingRect().width() - 1
        files.fit_canvas(canvas, 900, 300)  # wide: one row
        qapp.processEvents()
        assert len({round(lb.mapRectToScene(lb.boundingRect()).top()) for lb in labels.values()}) == 1
    finally:
        files.dispose(canvas)


def test_a_legend_added_to_a_narrow_canvas_keeps_the_canvas_to_its_width(qtbot, ui_fonts):
    from explorer.render.canvas import FigureCanvas

    names = ("before fine-tuning (pre-trained)", "after: from scratch", "after: copy lower 2, rest fresh",
             "after: warm start", "after: warm start, lower 2 frozen")
    canvas = FigureCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(500, 300)
    canvas.show()
    qtbot.waitExposed(canvas)
    x = np.arange(5.0)
    canvas.show_figure(Figure(name="p", title="probe", x=Axis("layer"), y=Axis("accuracy"),
                              series=tuple(Series(n, x, x * i) for i, n in enumerate(names))))
    qtbot.wait(20)
    assert canvas.ci.geometry().width() <= 500  # the plot, its hint and its legend inside the view
    assert max(label.mapRectToScene(label.boundingRect()).right() for _, label in canvas.legend.items) <= 500
