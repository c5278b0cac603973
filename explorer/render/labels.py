"""Where to put text labels next to points so that no two overlap (greedy, in the order given)."""
from __future__ import annotations

from collections.abc import Sequence

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
