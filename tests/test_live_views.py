"""Live drawing: the frame budget coalesces and paces frames; the embedding map moves points and keeps them in view."""
from __future__ import annotations

import dataclasses
import time

import numpy as np
import pyqtgraph as pg

from explorer.training.jobs.word2vec_job import EmbeddingSnapshot
from explorer.ui.widgets.embedding_map import EmbeddingMap
from explorer.ui.widgets.frame_budget import FrameBudget


def _snap(step, coords, words=("the", "king", "queen", "paris"), classes=("", "male", "female", "capital")):
    n = len(words)
    return EmbeddingSnapshot(step=step, loss=1.0, lr=0.1, words=tuple(words), counts=np.arange(n, 0, -1),
                             classes=tuple(classes), vectors=np.zeros((n, 3), np.float32),
                             coords=np.asarray(coords, np.float32), explained=np.array([0.5, 0.2], np.float32))


def test_frame_budget_coalesces_requests_and_keeps_its_share(qtbot):
    drawn = []

    def draw():
        drawn.append(time.perf_counter())
        time.sleep(0.02)  # a frame that costs 20 ms

    budget = FrameBudget(draw, max_fps=30, share=0.2)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 1.0:
        budget.request()  # far more requests than frames
        qtbot.wait(2)
    budget.stop()
    assert 3 <= len(drawn) <= 12  # 20 ms / 0.2 share -> about 100 ms between frames
    gaps = np.diff(drawn[2:])
    assert gaps.min() >= 0.06


def test_embedding_map_draws_moves_and_labels_points(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    emap = EmbeddingMap(widget.getPlotItem(), n_labels=2)
    emap.draw(_snap(0, [[0, 0], [1, 1], [2, 0], [3, 1]]))
    qtbot.waitUntil(lambda: len(emap.labels) == 2)  # labels and colours follow the first points
    assert [lab.toPlainText() for lab in emap.labels] == ["the", "king"]
    assert emap.key.isVisible() and "class" in emap.legend_text
    emap.draw(_snap(5, [[10, 10], [11, 11], [12, 10], [13, 11]]))  # same words: points move in place
    pos = emap.positions()
    np.testing.assert_allclose(pos[:, 0], [10, 11, 12, 13])
    np.testing.assert_allclose(pos[:, 1], [10, 11, 10, 11])
    assert (emap.labels[1].pos().x(), emap.labels[1].pos().y()) == (11.0, 11.0)
    (x0, x1), (y0, y1) = widget.getPlotItem().getViewBox().viewRange()
    assert x0 <= 10 and x1 >= 13 and y0 <= 10 and y1 >= 11  # the view followed the points
    assert emap.point_words() == ["the", "king", "queen", "paris"]  # hover shows the word
    assert len({id(b) for b in emap._brushes}) == 4  # one colour per class: 'other', male, female, capital


def test_the_map_view_stays_put_for_small_moves_and_after_the_user_zooms(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    emap = EmbeddingMap(widget.getPlotItem())
    base = np.array([[0, 0], [1, 1], [2, 0], [3, 1]], dtype=float)
    emap.draw(_snap(0, base))
    before = widget.getPlotItem().getViewBox().viewRange()
    emap.draw(_snap(1, base * 1.02))  # a small move: no new range (axes are not rebuilt every frame)
    assert widget.getPlotItem().getViewBox().viewRange() == before
    emap._user_moved_view()
    emap.draw(_snap(2, base * 50))
    assert widget.getPlotItem().getViewBox().viewRange() == before  # the user's zoom is respected


def test_a_new_vocabulary_rebuilds_brushes_and_frequency_colours(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    emap = EmbeddingMap(widget.getPlotItem())
    emap.draw(_snap(0, [[0, 0], [1, 1], [2, 2], [3, 3]]))
    other = dataclasses.replace(_snap(0, [[0, 0], [1, 1], [2, 2]], words=("a", "b", "c"), classes=("", "", "")))
    emap.draw(other)
    qtbot.wait(100)
    assert emap.point_words() == ["a", "b", "c"] and "frequency" in emap.legend_text
    assert len(emap.positions()) == 3
