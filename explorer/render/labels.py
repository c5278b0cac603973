"""Where to put text labels next to points so that no two overlap (greedy, in the order given)."""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

# (anchor of the text item, offset direction): right, left, above, below the point
_SPOTS = (((0.0, 0.5), (1, 0)), ((1.0, 0.5), (-1, 0)), ((0.5, 1.0), (0, -1)), ((0.5, 0.0), (0, 1)))


def _box(x: float, y: float, r: float, w: float, h: float, spot) -> tuple[float, float, float, float]:
    (ax, ay), (dx, dy) = spot
    cx, cy = x + dx * r, y + dy * r  # the anchor point of the text, in pixels (y grows downwards)
    return cx - ax * w, cy - ay * h, w, h


def _overlaps(a, b) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def place_labels(anchors: Sequence[tuple[float, float, float]], sizes: Sequence[tuple[float, float]],
                 bounds: tuple[float, float, float, float] | None = None) -> list[tuple[float, float] | None]:
    """For each label (point x, y and radius in pixels; text width and height) the text anchor to use, or None.

    Labels earlier in the list win: a later one goes right, left, above or below its point, wherever it
    collides with no label placed before it and stays inside `bounds`; if nowhere, it is left out.
    """
    placed: list[tuple[float, float, float, float]] = []
    out: list[tuple[float, float] | None] = []
    for (x, y, r), (w, h) in zip(anchors, sizes, strict=True):
        choice = None
        for spot in _SPOTS:
            box = _box(x, y, r, w, h, spot)
            if bounds is not None:
                bx, by, bw, bh = bounds
                if box[0] < bx or box[1] < by or box[0] + box[2] > bx + bw or box[1] + box[3] > by + bh:
                    continue
            if not any(_overlaps(box, other) for other in placed):
                choice = spot[0]
                placed.append(box)
                break
        out.append(choice)
    return out


def polyline_samples(xs, ys, per_segment: int = 8, dense: int = 500):
    """Points along a polyline (with `per_segment` points on each segment when it has fewer than `dense` points,
    where a label could sit between two far-apart points and still cover the line), non-finite ones dropped."""
    x, y = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
    if 1 < x.size < dense:
        t = np.linspace(0.0, 1.0, per_segment, endpoint=False)
        x = np.append((x[:-1, None] + (x[1:] - x[:-1])[:, None] * t).ravel(), x[-1])
        y = np.append((y[:-1, None] + (y[1:] - y[:-1])[:, None] * t).ravel(), y[-1])
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


def least_covered(boxes: Sequence[tuple[float, float, float, float]], x, y,
                  bounds: tuple[float, float, float, float] | None = None) -> int:
    """The index of the box (x0, y0, x1, y1) that holds the fewest of the points (x, y), among those inside
    `bounds` (x0, y0, x1, y1) if any is; the first on a tie."""
    def inside(b) -> bool:
        return bounds is None or (b[0] >= bounds[0] and b[1] >= bounds[1] and b[2] <= bounds[2] and b[3] <= bounds[3])

    fits = [inside(b) for b in boxes]
    counts = [int(((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)).sum()) if fit or not any(fits) else math.inf
              for (x0, y0, x1, y1), fit in zip(boxes, fits, strict=True)]
    return counts.index(min(counts))
