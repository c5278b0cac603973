"""Live drawing: the frame budget coalesces and paces frames; the embedding map moves points and keeps them in view."""
from __future__ import annotations

import time

import numpy as np
import pyqtgraph as pg

from explorer.figures import Points
from explorer.state.embedding_map import sticky_range, word_colors
from explorer.ui.widgets.embedding_map import PointCloud
from explorer.ui.widgets.frame_budget import FrameBudget

WORDS = ("the", "king", "queen", "paris")
CLASSES = ("", "male", "female", "capital")


def _points(coords, colors):
    coords = np.asarray(coords, dtype=float)
    return Points("words", coords[:, 0], coords[:, 1], color=colors.rgba)


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


def test_the_map_cloud_is_built_once_then_moved_in_place(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    cloud = PointCloud(widget.getPlotItem())
    cloud.names = lambda i: WORDS[i]
    colors = word_colors(np.arange(4, 0, -1), CLASSES)
    cloud.show(_points([[0, 0], [1, 1], [2, 0], [3, 1]], colors))
    assert cloud.sets == 1 and "class" in colors.meaning
    cloud.show(_points([[10, 10], [11, 11], [12, 10], [13, 11]], colors))  # same words: points move in place
    assert (cloud.sets, cloud.moves) == (1, 1)
    np.testing.assert_allclose(cloud.positions(), [[10, 10], [11, 11], [12, 10], [13, 11]])
    assert cloud.point_words() == list(WORDS)  # hover shows the word
    assert cloud.brushes == 4  # one brush per class, shared by its words: "other", male, female, capital


def test_the_map_range_stays_put_for_small_moves_and_after_the_user_zooms():
    base = np.array([[0, 0], [1, 1], [2, 0], [3, 1]], dtype=float)
    first = sticky_range(None, base)
    assert first[0] < 0 and first[1] > 3 and first[2] < 0 and first[3] > 1
    assert sticky_range(first, base * 1.02) == first  # a small move: no new range (axes are not rebuilt)
    assert sticky_range(first, base * 50) != first  # the points left the view: it follows them
    assert sticky_range(first, base * 50, follow=False) == first  # unless the user zoomed


def test_a_new_vocabulary_rebuilds_brushes_and_frequency_colours(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    cloud = PointCloud(widget.getPlotItem())
    cloud.show(_points([[0, 0], [1, 1], [2, 2], [3, 3]], word_colors(np.arange(4, 0, -1), CLASSES)))
    colors = word_colors(np.array([100, 10, 1]), ("", "", ""))
    cloud.show(_points([[0, 0], [1, 1], [2, 2]], colors))
    assert cloud.sets == 2 and "frequency" in colors.meaning
    assert len(cloud.positions()) == 3
    assert len({tuple(c) for c in colors.rgba}) == 3  # rare, middle, frequent: three shades


def test_a_large_new_cloud_gets_its_colours_one_turn_after_its_points(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    cloud = PointCloud(widget.getPlotItem())
    n = 2500
    colors = word_colors(np.arange(n, 0, -1), ("",) * n)
    rng = np.random.default_rng(0)
    first = rng.normal(size=(n, 2))
    cloud.show(_points(first, colors))
    assert cloud.brushes == 0  # plain points first: the costliest frame is split
    cloud.show(_points(first + 1.0, colors))  # a move before the colours come keeps the new places
    qtbot.waitUntil(lambda: cloud.brushes == len({tuple(c) for c in colors.rgba}), timeout=2000)
    np.testing.assert_allclose(cloud.positions(), first + 1.0)
    assert (cloud.sets, cloud.moves) == (1, 1)


def test_map_labels_follow_their_points_between_placements(qtbot):
    from explorer.figures import Axis, Figure
    from explorer.render.canvas import FigureCanvas
    from explorer.ui.widgets.embedding_map import install_cloud

    canvas = FigureCanvas()
    qtbot.addWidget(canvas)
    canvas.resize(600, 400)
    canvas.show()
    install_cloud(canvas)
    colors = word_colors(np.arange(4, 0, -1), CLASSES)
    base = np.array([[0, 0], [4, 4], [8, 0], [12, 4]], dtype=float)

    def figure(coords):
        return Figure("map", "map", Axis("x", range=(-2, 20)), Axis("y", range=(-2, 10)),
                      points=(Points("words", coords[:, 0], coords[:, 1], color=colors.rgba,
                                     labels=((0, "the"), (1, "king"))),))

    canvas.show_figure(figure(base))
    qtbot.waitUntil(lambda: sum(item.isVisible() for item in canvas._labels) == 2, timeout=2000)  # a moment later
    labels = [item for item in canvas._labels if item.isVisible()]
    assert [item.toPlainText() for item in labels] == ["the", "king"]
    canvas.show_figure(figure(base + 1.5))  # the next live frame: the labels move with their points
    assert [(item.pos().x(), item.pos().y()) for item in labels] == [(1.5, 1.5), (5.5, 5.5)]
