"""The embedding map as a figure: every word a point coloured by class or frequency, the most frequent labelled,
the searched words ringed and labelled, analogy arrows, fading trails. Shared by the map and the comparison."""
from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..figures import Arrow, Axis, Figure, Points, Segments, Table
from ..figures.palette import curve_color

TRAIL_LENGTH = 12  # snapshots a trail reaches back
QUERY_COLOR, NEIGHBOUR_COLOR, ARROW_COLOR, TRAIL_RGB = curve_color(1), curve_color(0), "#c83232", "c83232"
# viridis at 16 levels (0.10 … 0.95): words coloured by log frequency
VIRIDIS16 = ("#482576", "#453781", "#3f4788", "#38588c", "#31668e", "#2b748e", "#26828e", "#21908d", "#1e9d89",
             "#25ab82", "#35b779", "#4fc36b", "#6ece58", "#91d742", "#b7de29", "#dee318")
OTHER_RGBA = (150, 150, 150, 140)  # words without a known class
# word classes: distinct colours (Okabe-Ito first, then Set1/Dark2/tab10 tones), then evenly spaced hues
CLASS_COLORS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#8C564B", "#9467BD", "#BCBD22",
                "#E41A1C", "#17BECF", "#4DAF4A", "#F781BF", "#7570B3", "#A6761D", "#1B9E77", "#FF7F00", "#525252")


@dataclass(frozen=True)
class WordColors:
    """One RGBA row per word (few distinct colours), the legend's (name, colour) entries and what colour means."""

    rgba: np.ndarray  # (N, 4) uint8
    legend: tuple[tuple[str, str], ...]
    meaning: str


def _hex(rgba: Sequence[int]) -> str:
    return "#" + "".join(f"{int(v):02x}" for v in rgba)


def _rgba(hex_color: str, alpha: int = 230) -> tuple[int, int, int, int]:
    h = hex_color.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), alpha


def word_colors(counts: Any, classes: Sequence[str]) -> WordColors:
    """Colour by word class where the corpus knows classes, else by log frequency (16 levels of viridis)."""
    n = len(classes)
    names = sorted({c for c in classes if c})
    if names:
        table = {"": OTHER_RGBA}
        for i, name in enumerate(names):
            if i < len(CLASS_COLORS):
                table[name] = _rgba(CLASS_COLORS[i], 235)
            else:
                r, g, b = colorsys.hsv_to_rgb((i * 0.618) % 1.0, 0.8, 0.8)
                table[name] = (round(255 * r), round(255 * g), round(255 * b), 235)
        rgba = np.array([table[c] for c in classes], dtype=np.uint8).reshape(n, 4)
        legend = (*((name, _hex(table[name])) for name in names), ("other", _hex(OTHER_RGBA)))
        return WordColors(rgba, legend, "colour: word class")
    counts = np.maximum(np.asarray(counts, dtype=np.float64), 1.0)
    if counts.size == 0:
        return WordColors(np.zeros((0, 4), np.uint8), (), "colour: frequency")
    logc = np.log10(counts)
    span = max(1e-9, float(logc.max() - logc.min()))
    level = np.minimum(15, ((logc - logc.min()) / span * 16).astype(int))
    palette = np.array([_rgba(c) for c in VIRIDIS16], dtype=np.uint8)
    low, high = int(counts.min()), int(counts.max())
    legend = ((f"rare (count {low:,})", VIRIDIS16[0]), (f"frequent (count {high:,})", VIRIDIS16[-1]))
    return WordColors(palette[level], legend, "colour: frequency (log scale)")


@dataclass(frozen=True)
class Marks:
    """Words ringed and labelled on the map, and arrows between words (indices into the vocabulary)."""

    primary: tuple[int, ...] = ()  # the searched word (or the analogy's answer)
    primary_name: str = "searched word"
    secondary: tuple[int, ...] = ()  # its neighbours (or the analogy's a, b, c)
    secondary_name: str = "nearest neighbours"
    arrows: tuple[tuple[int, int], ...] = ()  # (from, to)
    text: str = ""  # what the caption says about them


def sticky_range(previous: tuple[float, float, float, float] | None, coords: np.ndarray,
                 follow: bool = True) -> tuple[float, float, float, float] | None:
    """x0, x1, y0, y1 around the points; the previous range stays while the points fill most of it.

    A range that changes every frame makes the axes rebuild each time (the costliest part of a live frame).
    """
    c = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    c = c[np.isfinite(c).all(axis=1)]
    if not c.size:
        return previous
    lo, hi = c.min(axis=0), c.max(axis=0)
    span = np.maximum(hi - lo, 1e-9)
    if previous is not None:
        x0, x1, y0, y1 = previous
        inside = lo[0] >= x0 and hi[0] <= x1 and lo[1] >= y0 and hi[1] <= y1
        snug = span[0] >= 0.5 * (x1 - x0) and span[1] >= 0.5 * (y1 - y0)
        if not follow or (inside and snug):
            return previous
    pad = 0.12 * span  # room to grow: a live map that keeps its range spares the axes a rebuild per frame
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


class _MapRows(Sequence):
    """The map's CSV rows, made only when the CSV is written (the live map is drawn far more often)."""

    def __init__(self, words, counts, classes, coords, marked: dict[int, str]) -> None:
        self.words, self.counts, self.classes, self.coords, self.marked = words, counts, classes, coords, marked

    def __len__(self) -> int:
        return len(self.coords)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        x, y = self.coords[i]
        return (self.words[i], int(self.counts[i]), self.classes[i] if i < len(self.classes) else "",
                float(x), float(y), self.marked.get(i, ""))


def map_figure(name: str, title: str, axes: tuple[str, str], words: Sequence[str], counts: Any,
               classes: Sequence[str], coords: np.ndarray, colors: WordColors, *, n_labels: int = 40,
               marks: Marks = Marks(), trails: Sequence[np.ndarray] = (), view: tuple | None = None,
               caption: str = "", hint: str = "", key: bool = True) -> Figure:
    """The map of the first len(coords) words of the vocabulary (the most frequent first); `key`: the colours'
    legend (empty points, one per class or frequency level)."""
    coords = np.asarray(coords, dtype=np.float64).reshape(-1, 2)
    n = len(coords)
    x_axis = Axis(axes[0], range=None if view is None else (view[0], view[1]))
    y_axis = Axis(axes[1], range=None if view is None else (view[2], view[3]))
    shown = lambda ids: tuple(i for i in ids if 0 <= i < n)  # noqa: E731
    primary, secondary = shown(marks.primary), shown(marks.secondary)
    marked = set(primary) | set(secondary)
    points = []
    if n:
        points.append(Points(marks.primary_name, coords[list(primary), 0], coords[list(primary), 1],
                             color=QUERY_COLOR, size=15, ring=True,
                             labels=tuple((k, words[i]) for k, i in enumerate(primary))))
        points.append(Points(marks.secondary_name, coords[list(secondary), 0], coords[list(secondary), 1],
                             color=NEIGHBOUR_COLOR, size=12, ring=True,
                             labels=tuple((k, words[i]) for k, i in enumerate(secondary))))
        points.append(Points("words", coords[:, 0], coords[:, 1], color=colors.rgba[:n], size=6, clickable=True,
                             labels=tuple((i, words[i]) for i in range(min(n_labels, n)) if i not in marked)))
        if key:
            points += [Points(label, color=color, size=8, legend=True) for label, color in colors.legend]
    arrows = tuple(Arrow(coords[a, 0], coords[a, 1], coords[b, 0], coords[b, 1], color=ARROW_COLOR,
                         label=f"{words[a]} → {words[b]}") for a, b in marks.arrows if a < n and b < n)
    segments = _trail_segments(trails, sorted(marked)) if trails else ()
    roles = dict.fromkeys(primary, marks.primary_name) | dict.fromkeys(secondary, marks.secondary_name)
    data = Table(("word", "count", "class", f"x ({axes[0]})", f"y ({axes[1]})", "marked as"),
                 _MapRows(words, counts, classes, coords, roles))
    return Figure(name, title, x_axis, y_axis, points=tuple(points), arrows=arrows, segments=segments,
                  caption=caption, hint=hint, data=data)


def _trail_segments(history: Sequence[np.ndarray], ids: list[int]) -> tuple[Segments, ...]:
    """For the marked words: one segment per snapshot step, older steps fainter (newest first)."""
    out = []
    ids = [i for i in ids if history and i < len(history[-1])]
    for age in range(TRAIL_LENGTH):
        new, old = len(history) - 1 - age, len(history) - 2 - age
        if old < 0 or not ids:
            break
        a, b = np.asarray(history[old]), np.asarray(history[new])
        ok = [i for i in ids if i < len(a) and i < len(b)]
        xy = np.column_stack([a[ok, 0], a[ok, 1], b[ok, 0], b[ok, 1]]) if ok else np.zeros((0, 4))
        fresh = 1 - age / TRAIL_LENGTH
        alpha = int(200 * fresh ** 2.5) + 20
        out.append(Segments(f"trail {age + 1}" if age else f"path over the last {TRAIL_LENGTH} snapshots", xy,
                            color=f"#{TRAIL_RGB}{alpha:02x}", width=1 + 1.5 * fresh, legend=age == 0))
    return tuple(out)
