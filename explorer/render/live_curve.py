"""A growing curve in a pyqtgraph plot, drawn min/max-decimated to the pixels it covers, kept in bounded memory."""
from __future__ import annotations

import contextlib
import math

import numpy as np
import pyqtgraph as pg

from ..figures.decimate import extreme_points

_MIN_CAPACITY = 1024
MAX_POINTS = 1 << 20  # points a curve keeps (16 MB); past it, older points are thinned to their extremes
_DEFAULT_PIXELS = 800  # used while the view has no size yet
_NEAREST_RADIUS_PX = 30.0


def _as_array(values) -> np.ndarray:
    """Scalars or sequences as a 1-D float64 array."""
    return np.atleast_1d(np.asarray(values, dtype=np.float64)).ravel()


class LiveCurve:
    """One named line (a PlotDataItem) whose data grows; the owner calls redraw() (at most ~30 Hz).

    Past `max_points` points, the points before the newest quarter are thinned: runs of consecutive points are
    cut to the two at their smallest and largest y (real points, in order), runs twice as long each time the
    thinned part fills half of the rest. The curve keeps its shape, spikes, global extremes and newest points.
    (In the app a curve holds a figure's series, which a state's MetricHistory already bounds.)
    """

    def __init__(self, plot_item: pg.PlotItem, name: str, pen=None, capacity: int = _MIN_CAPACITY,
                 max_points: int = MAX_POINTS) -> None:
        if max_points < 64:
            raise ValueError("a curve keeps at least 64 points")
        self.name = name
        self.max_points = max_points
        self._recent = max_points // 4
        self._thinned = 0  # points [0, _thinned) are what thinning kept
        self._span = 2  # points per run thinned next
        self.plot_item = plot_item
        self.item = pg.PlotDataItem(name=name, pen=pen if pen is not None else pg.mkPen(width=2))
        # Qt strokes a wide polyline ~6x slower than separate segments (26 ms vs 4.5 ms for 3,000 points)
        self.item.curve.setSegmentedLineMode("on")
        plot_item.addItem(self.item)
        self._x = np.empty(max(capacity, 1), dtype=np.float64)
        self._y = np.empty_like(self._x)
        self._n = 0
        self._sorted = True
        self.dirty = False
        self._key: tuple | None = None
        self._drawing = False
        vb = plot_item.getViewBox()
        vb.sigXRangeChanged.connect(self._on_view_changed)
        vb.sigResized.connect(self._on_view_changed)

    # ----- data
    @property
    def x(self) -> np.ndarray:
        """The stored x values (a read-only view)."""
        view = self._x[: self._n]
        view.flags.writeable = False
        return view

    @property
    def y(self) -> np.ndarray:
        """The stored y values (a read-only view)."""
        view = self._y[: self._n]
        view.flags.writeable = False
        return view

    def __len__(self) -> int:
        return self._n

    def append(self, x, y) -> None:
        """Add one point or arrays of points; nothing is drawn until redraw()."""
        xs, ys = _as_array(x), _as_array(y)
        if xs.size == 1 and ys.size > 1:
            xs = np.full(ys.size, xs[0])
        if xs.size != ys.size:
            raise ValueError(f"x has {xs.size} values, y {ys.size}")
        for start in range(0, xs.size, self._recent):  # a huge array in pieces: memory stays bounded
            self._append(xs[start:start + self._recent], ys[start:start + self._recent])
            if self._n > self.max_points:
                self._thin()

    def _append(self, xs: np.ndarray, ys: np.ndarray) -> None:
        k = xs.size
        if k == 0:
            return
        if self._n + k > self._x.size:
            capacity = max(min(2 * self._x.size, self.max_points + self._recent), self._n + k, _MIN_CAPACITY)
            for attr in ("_x", "_y"):
                grown = np.empty(capacity, dtype=np.float64)
                grown[: self._n] = getattr(self, attr)[: self._n]
                setattr(self, attr, grown)
        if self._sorted:
            ok = not math.isnan(xs[0]) and (self._n == 0 or bool(xs[0] >= self._x[self._n - 1]))
            self._sorted = ok and (k == 1 or bool(np.all(np.diff(xs) >= 0)))
        self._x[self._n: self._n + k] = xs
        self._y[self._n: self._n + k] = ys
        self._n += k
        self.dirty = True

    def _thin(self) -> None:
        """Thin all but the newest quarter of the points into runs; thin the thinned part again while too long."""
        n, done = self._n, self._thinned
        move = (n - done - self._recent) // self._span * self._span
        tx, ty = extreme_points(self._x[done:done + move], self._y[done:done + move], self._span)
        kx, ky = np.concatenate([self._x[:done], tx]), np.concatenate([self._y[:done], ty])
        while kx.size > (self.max_points - self._recent) // 2 and kx.size >= 4:
            kx, ky = extreme_points(kx, ky, 4)
            self._span *= 2
        rest = slice(done + move, n)
        m = kx.size
        self._x[m:m + n - rest.start] = self._x[rest]
        self._y[m:m + n - rest.start] = self._y[rest]
        self._x[:m], self._y[:m] = kx, ky
        self._thinned, self._n = m, m + n - rest.start

    def set_data(self, x, y) -> None:
        """Replace all points."""
        size = max(_MIN_CAPACITY, min(np.size(x), self.max_points + self._recent))
        self._x = np.empty(size, dtype=np.float64)
        self._y = np.empty_like(self._x)
        self.clear()
        self.append(x, y)

    def clear(self) -> None:
        """Remove all points (the line disappears at the next redraw)."""
        self._n = 0
        self._thinned, self._span = 0, 2
        self._sorted = True
        self.dirty = True

    # ----- drawing
    def redraw(self) -> None:
        """Hand the decimated data for the current view to the PlotDataItem."""
        self._draw()

    def remove(self) -> None:
        """Take the line out of its plot and stop following the view."""
        vb = self.plot_item.getViewBox()
        for signal in (vb.sigXRangeChanged, vb.sigResized):
            with contextlib.suppress(RuntimeError, TypeError):
                signal.disconnect(self._on_view_changed)
        self.plot_item.removeItem(self.item)
        legend = self.plot_item.legend
        if legend is not None:
            legend.removeItem(self.item)

    def set_pen(self, pen) -> None:
        """Change the line's pen."""
        self.item.setPen(pen)

    def _log_mode(self) -> tuple[bool, bool]:
        mode = self.item.opts.get("logMode") or (False, False)
        return bool(mode[0]), bool(mode[1])

    def _view_key(self) -> tuple:
        """What the decimation depends on apart from the data."""
        vb = self.plot_item.getViewBox()
        pixels = int(vb.width()) or _DEFAULT_PIXELS
        if vb.autoRangeEnabled()[0]:
            return ("auto", self._log_mode(), pixels)
        return (tuple(vb.viewRange()[0]), self._log_mode(), pixels)

    def _on_view_changed(self, *_args) -> None:
        if self._drawing or self._n == 0 or self._view_key() == self._key:
            return
        self._draw()

    def _draw(self) -> None:
        self._drawing = True
        try:
            self._key = self._view_key()
            xs, ys = self.decimated()
            self.item.setData(xs, ys)
            self.dirty = False
        finally:
            self._drawing = False

    def decimated(self) -> tuple[np.ndarray, np.ndarray]:
        """The points to draw: at most about two per horizontal pixel of the visible x range (min and max)."""
        n = self._n
        if n == 0:
            return np.empty(0), np.empty(0)
        log_x, log_y = self._log_mode()
        vb = self.plot_item.getViewBox()
        buckets = int(vb.width()) or _DEFAULT_PIXELS
        x, y = self._x[:n], self._y[:n]
        if not self._sorted:
            return self._decimate_by_index(x, y, buckets, log_x, log_y)
        lo = int(np.searchsorted(x, 0.0 if log_x else -np.inf, side="right"))
        hi = int(np.searchsorted(x, np.inf, side="left"))
        if not vb.autoRangeEnabled()[0]:
            v0, v1 = vb.viewRange()[0]
            if log_x:
                v0, v1 = 10.0 ** min(v0, 300.0), 10.0 ** min(v1, 300.0)
            lo = max(lo, int(np.searchsorted(x, v0, side="left")) - 1)
            hi = min(hi, int(np.searchsorted(x, v1, side="right")) + 1)
        if hi <= lo:
            return np.empty(0), np.empty(0)
        xs, ys = x[lo:hi], y[lo:hi]
        if log_y:
            ys = np.where(ys > 0, ys, np.nan)
        if xs.size <= 4 * buckets:
            return xs.copy(), np.array(ys, dtype=np.float64, copy=True)
        if log_x:
            edges = 10.0 ** np.linspace(math.log10(xs[0]), math.log10(xs[-1]), buckets + 1)[:-1]
        else:
            edges = np.linspace(xs[0], xs[-1], buckets + 1)[:-1]
        starts = np.searchsorted(xs, edges, side="left")
        starts = starts[np.concatenate(([True], np.diff(starts) > 0))]
        return self._peaks(xs, ys, starts)

    def _decimate_by_index(self, x, y, buckets, log_x, log_y) -> tuple[np.ndarray, np.ndarray]:
        """Decimation for x that is not sorted: min/max over runs of consecutive points."""
        bad = np.zeros(x.shape, dtype=bool)
        if log_x:
            bad |= ~(x > 0)
        if log_y:
            bad |= ~(y > 0)
        xs, ys = np.where(bad, np.nan, x), np.where(bad, np.nan, y)
        if xs.size <= 4 * buckets:
            return xs, ys
        step = math.ceil(xs.size / buckets)
        return self._peaks(xs, ys, np.arange(0, xs.size, step))

    @staticmethod
    def _peaks(xs: np.ndarray, ys: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each run beginning at `starts`: its min and max at the run's first x; then the last point."""
        with np.errstate(invalid="ignore"):
            lows = np.fmin.reduceat(ys, starts)
            highs = np.fmax.reduceat(ys, starts)
        out_x = np.empty(2 * starts.size + 1)
        out_y = np.empty_like(out_x)
        out_x[0:-1:2] = xs[starts]
        out_x[1:-1:2] = xs[starts]
        out_y[0:-1:2] = lows
        out_y[1:-1:2] = highs
        out_x[-1], out_y[-1] = xs[-1], ys[-1]
        return out_x, out_y

    # ----- hover
    def nearest(self, x_view: float, y_view: float,
                pixel_size: tuple[float, float] | None = None) -> tuple[int, float, float] | None:
        """The stored point closest on screen to the view point (x_view, y_view): (index, x, y), or None."""
        n = self._n
        if n == 0:
            return None
        log_x, log_y = self._log_mode()
        pw, ph = pixel_size if pixel_size is not None else self.plot_item.getViewBox().viewPixelSize()
        if not (pw > 0 and ph > 0 and math.isfinite(pw) and math.isfinite(ph)):
            pw = ph = 1.0
        x, y = self._x[:n], self._y[:n]
        lo, hi = 0, n
        if self._sorted and n > 256:
            radius = _NEAREST_RADIUS_PX * pw
            a, b, c = x_view - radius, x_view + radius, x_view
            if log_x:
                a, b, c = (10.0 ** min(v, 300.0) for v in (a, b, c))
            k = int(np.searchsorted(x, c))
            lo = max(0, min(int(np.searchsorted(x, a, side="left")), k - 1))
            hi = min(n, max(int(np.searchsorted(x, b, side="right")), k + 1))
        xs, ys = x[lo:hi], y[lo:hi]
        with np.errstate(divide="ignore", invalid="ignore"):
            xd = np.log10(np.where(xs > 0, xs, np.nan)) if log_x else xs
            yd = np.log10(np.where(ys > 0, ys, np.nan)) if log_y else ys
            d2 = ((xd - x_view) / pw) ** 2 + ((yd - y_view) / ph) ** 2
        if not np.any(np.isfinite(d2)):
            return None
        j = int(np.nanargmin(np.where(np.isfinite(d2), d2, np.nan)))
        return lo + j, float(xs[j]), float(ys[j])
