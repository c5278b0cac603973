"""LiveCurve: growing storage, min/max decimation to the visible pixels, log axes, nearest point."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest

from explorer.render.live_curve import LiveCurve


@pytest.fixture
def plot(qtbot):
    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.resize(600, 400)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget.getPlotItem()  # the fixture keeps the widget alive


def drawn(curve: LiveCurve) -> tuple[np.ndarray, np.ndarray]:
    x, y = curve.item.xData, curve.item.yData
    return (np.empty(0), np.empty(0)) if x is None else (x, y)


def test_append_grows_and_keeps_every_point(plot):
    curve = LiveCurve(plot, "loss")
    for i in range(3000):
        curve.append(i, i * 0.5)
    curve.append(np.arange(3000, 5000), np.arange(3000, 5000) * 0.5)
    assert len(curve) == 5000
    np.testing.assert_array_equal(curve.x, np.arange(5000.0))
    np.testing.assert_array_equal(curve.y, np.arange(5000.0) * 0.5)
    assert curve.x.dtype == np.float64
    with pytest.raises(ValueError):
        curve.x[0] = 1.0  # a read-only view
    with pytest.raises(ValueError):
        curve.append([1, 2], [1, 2, 3])


def test_appending_does_not_draw_until_redraw(plot):
    curve = LiveCurve(plot, "loss")
    curve.append([1, 2, 3], [3, 2, 1])
    assert curve.dirty and len(drawn(curve)[0]) == 0
    curve.redraw()
    assert not curve.dirty
    np.testing.assert_array_equal(drawn(curve)[1], [3, 2, 1])


def test_set_data_and_clear(plot):
    curve = LiveCurve(plot, "loss")
    curve.append([1, 2], [1, 2])
    curve.set_data([5, 6, 7], [0, 1, 0])
    np.testing.assert_array_equal(curve.x, [5, 6, 7])
    curve.clear()
    curve.redraw()
    assert len(curve) == 0 and len(drawn(curve)[0]) == 0


def test_a_million_points_are_drawn_as_a_few_per_pixel_with_extremes_kept(plot):
    rng = np.random.default_rng(1)
    n = 1_000_000
    x = np.arange(n, dtype=float)
    y = np.exp(-x / 2e5) + 0.05 * rng.standard_normal(n)
    spikes = rng.choice(n, 20, replace=False)
    y[spikes] = 10.0 + np.arange(20)  # single-point spikes: each must survive decimation
    curve = LiveCurve(plot, "loss")
    curve.append(x, y)
    curve.redraw()
    dx, dy = drawn(curve)
    width = plot.getViewBox().width()
    assert 0 < len(dx) <= 4 * width
    assert dy.max() == y.max() and dy.min() == y.min()
    assert set(y[spikes]) <= set(dy.tolist())
    assert dx[-1] == x[-1] and dy[-1] == y[-1]  # the live tip is exact


def test_zooming_in_redecimates_to_the_visible_range(plot):
    n = 200_000
    x = np.arange(n, dtype=float)
    curve = LiveCurve(plot, "loss")
    curve.append(x, np.sin(x / 50.0))
    curve.redraw()
    plot.getViewBox().setXRange(1000, 1400, padding=0)  # range change alone triggers the recomputation
    dx, _dy = drawn(curve)
    assert dx.min() >= 998 and dx.max() <= 1402
    np.testing.assert_array_equal(dx, x[999:1402])  # few enough visible points: drawn exactly


def test_unsorted_data_is_decimated_too(plot):
    rng = np.random.default_rng(2)
    x, y = rng.random(100_000), rng.standard_normal(100_000)
    curve = LiveCurve(plot, "cloud")
    curve.append(x, y)
    curve.redraw()
    dx, dy = drawn(curve)
    assert len(dx) <= 4 * plot.getViewBox().width()
    assert dy.max() == y.max() and dy.min() == y.min()


def test_log_axes_skip_zero_and_negative_values(plot):
    x = np.arange(0, 100_000, dtype=float)  # starts at 0
    y = np.where(np.arange(x.size) % 7 == 0, 0.0, 1.0 / (1.0 + x))
    y[5] = -1.0
    curve = LiveCurve(plot, "grad norm")
    curve.append(x, y)
    plot.setLogMode(x=True, y=True)
    curve.redraw()
    dx, dy = drawn(curve)
    assert len(dx) > 0 and np.all(dx > 0)
    assert np.all(dy[np.isfinite(dy)] > 0)
    plot.setLogMode(x=False, y=False)
    curve.redraw()
    assert drawn(curve)[0][0] == 0.0


def test_nearest_finds_the_closest_stored_point(plot):
    curve = LiveCurve(plot, "loss")
    curve.append([0, 1, 2, 3, 4], [10, 20, 5, 7, 1])
    assert curve.nearest(2.2, 5.1, pixel_size=(1.0, 1.0)) == (2, 2.0, 5.0)
    assert curve.nearest(3.6, 1.0, pixel_size=(1.0, 1.0)) == (4, 4.0, 1.0)
    assert LiveCurve(plot, "empty").nearest(0, 0) is None


def test_nearest_uses_full_data_not_decimated(plot):
    n = 1_000_000
    x = np.arange(n, dtype=float)
    y = np.zeros(n)
    y[123_457] = 3.0
    curve = LiveCurve(plot, "loss")
    curve.append(x, y)
    curve.redraw()
    assert curve.nearest(123_456.6, 1.0, pixel_size=(1.0, 1.0)) == (123_456, 123_456.0, 0.0)
    assert curve.nearest(123_457.2, 2.9, pixel_size=(1.0, 1.0)) == (123_457, 123_457.0, 3.0)


def test_nearest_in_log_view_coordinates(plot):
    curve = LiveCurve(plot, "loss")
    curve.append([0, 1, 10, 100, 1000], [0, 1, 0.1, 0.01, 0.001])
    plot.setLogMode(x=True, y=True)
    # view coordinates are log10: (2, -2) is the point (100, 0.01); the zeros are skipped
    assert curve.nearest(2.05, -2.0, pixel_size=(0.01, 0.01)) == (3, 100.0, 0.01)


def test_an_hour_of_points_stays_in_bounded_memory_with_its_extremes_and_tip(plot):
    rng = np.random.default_rng(3)
    curve = LiveCurve(plot, "loss", max_points=1 << 16)
    sizes = []
    for start in range(0, 3_600_000, 2000):
        x = np.arange(start, start + 2000, dtype=float)
        y = np.exp(-x / 1e6) + 0.05 * rng.standard_normal(2000)
        if start == 1_000_000:
            y[1] = 9.0
        if start == 3_000_000:
            y[5] = -4.0
        curve.append(x, y)
        sizes.append(curve._x.nbytes + curve._y.nbytes)
    assert len(curve) <= (1 << 16) and max(sizes) == sizes[len(sizes) // 4]  # flat once full
    assert max(sizes) <= 2 * 8 * ((1 << 16) + (1 << 14))
    assert np.all(np.diff(curve.x) >= 0) and curve.x[0] < 1000  # real points: the first of the first run
    np.testing.assert_array_equal(curve.x[-2000:], x)  # the newest points exactly
    np.testing.assert_array_equal(curve.y[-2000:], y)
    assert curve.y.max() == 9.0 and curve.y.min() == -4.0
    assert curve.x[curve.y.argmax()] == 1_000_001.0  # thinning keeps real points
    curve.redraw()
    dx, dy = drawn(curve)
    assert dy.max() == 9.0 and dy.min() == -4.0 and dx[-1] == x[-1] and dy[-1] == y[-1]


def test_unsorted_points_are_thinned_to_real_points_too(plot):
    rng = np.random.default_rng(4)
    curve = LiveCurve(plot, "cloud", max_points=1000)
    x, y = rng.random(20_000), rng.standard_normal(20_000)
    curve.append(x, y)
    assert len(curve) <= 1000
    assert curve.y.max() == y.max() and curve.y.min() == y.min()
    pairs = set(zip(x.tolist(), y.tolist(), strict=True))
    assert all(p in pairs for p in zip(curve.x.tolist(), curve.y.tolist(), strict=True))
