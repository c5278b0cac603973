"""A figure as plain data: what one panel shows, decided without Qt, drawn by one renderer on screen and in files.

A tab's state builds `Figure`s from its snapshots; `explorer.render` draws them into a pyqtgraph plot (on screen,
or offscreen for PNG/SVG/PDF/GIF) and `Figure.table()` gives the CSV. Nothing here imports Qt or torch.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

Color = Any  # an int (the n-th palette colour), a '#rrggbb[aa]' string, or None (the next free palette colour)


def _array(values: Any) -> np.ndarray:
    arr = np.asarray(values if values is not None else [], dtype=np.float64)
    return arr.ravel() if arr.ndim != 1 else arr


@dataclass(frozen=True)
class Axis:
    """One axis: its name, unit, scale and optionally fixed ticks (value, text) or range."""

    label: str
    unit: str = ""
    log: bool = False
    ticks: tuple[tuple[float, str], ...] | None = None
    range: tuple[float, float] | None = None
    inverted: bool = False

    @property
    def title(self) -> str:
        """The label with its unit in brackets, as in a CSV header or an axis title."""
        return f"{self.label} ({self.unit})" if self.unit else self.label


@dataclass(frozen=True)
class Series:
    """A line (and/or markers) of y against x; an empty one still has its legend entry."""

    name: str
    x: Any = ()
    y: Any = ()
    color: Color = None
    width: float = 2.0
    dash: bool = False
    symbol: str | None = None  # 'o', 's', 't', 'x', '+', 'd'
    symbol_size: float = 7.0
    line: bool = True
    legend: bool = True

    def __post_init__(self) -> None:
        x, y = _array(self.x), _array(self.y)
        if x.size != y.size:
            raise ValueError(f"series {self.name!r}: x has {x.size} values, y {y.size}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)


@dataclass(frozen=True)
class Heatmap:
    """A 2-D array drawn as coloured cells (row i at the bottom + i), with a colour bar naming its scale."""

    name: str
    values: Any
    scale_label: str  # the colour bar's title with its unit, e.g. "log₁₀ ‖∂L/∂h(t)‖"
    rect: tuple[float, float, float, float] | None = None  # x0, y0, width, height; None: cell (i, j) at [j, j+1)
    levels: tuple[float, float] | None = None  # None: the finite min and max
    colormap: str = "viridis"
    nan_color: str | None = None  # NaN cells in this colour (e.g. masked keys); None: the low end
    colorbar: bool = True
    row_name: str = "row"
    col_name: str = "column"

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float32)
        if values.ndim != 2:
            raise ValueError(f"heatmap {self.name!r} needs 2-D values, not {values.ndim}-D")
        object.__setattr__(self, "values", values)
        if self.levels is None:
            finite = values[np.isfinite(values)]
            low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            object.__setattr__(self, "levels", (low, high) if high > low else (low - 0.5, high + 0.5))

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(x0, y0, width, height) in data coordinates."""
        if self.rect is not None:
            return tuple(float(v) for v in self.rect)  # type: ignore[return-value]
        rows, cols = self.values.shape
        return 0.0, 0.0, float(cols), float(rows)

    def cell_centres(self) -> tuple[np.ndarray, np.ndarray]:
        """The x of each column's centre and the y of each row's centre."""
        x0, y0, w, h = self.extent
        rows, cols = self.values.shape
        return x0 + (np.arange(cols) + 0.5) * w / max(cols, 1), y0 + (np.arange(rows) + 0.5) * h / max(rows, 1)


@dataclass(frozen=True)
class Points:
    """A scatter of points; some may carry a text label. `ring` draws hollow circles (marks around points)."""

    name: str
    x: Any = ()
    y: Any = ()
    color: Any = None  # one colour, or an (N, 4) uint8 RGBA array, one row per point
    size: float = 6.0
    symbol: str = "o"
    ring: bool = False
    labels: tuple[tuple[int, str], ...] = ()  # (index of the point, text); drawn where they do not collide
    legend: bool = False
    clickable: bool = False

    def __post_init__(self) -> None:
        x, y = _array(self.x), _array(self.y)
        if x.size != y.size:
            raise ValueError(f"points {self.name!r}: x has {x.size} values, y {y.size}")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)


@dataclass(frozen=True)
class Bars:
    """Vertical bars at x with heights (and a common width)."""

    name: str
    x: Any
    height: Any
    width: float = 0.8
    color: Color = None
    legend: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _array(self.x))
        object.__setattr__(self, "height", _array(self.height))


@dataclass(frozen=True)
class Segments:
    """Many straight segments of one style: rows (x0, y0, x1, y1)."""

    name: str
    xy: Any  # (N, 4)
    color: Color = "#808080"
    width: float = 1.0
    legend: bool = False

    def __post_init__(self) -> None:
        xy = np.asarray(self.xy, dtype=np.float64).reshape(-1, 4)
        object.__setattr__(self, "xy", xy)


@dataclass(frozen=True)
class Arrow:
    """An arrow from (x0, y0) to (x1, y1); its head is a fixed number of pixels at any export scale."""

    x0: float
    y0: float
    x1: float
    y1: float
    color: Color = "#c03030"
    label: str = ""


@dataclass(frozen=True)
class RefLine:
    """A horizontal (or vertical) reference line such as chance or the receptive field, with its label."""

    value: float
    label: str
    vertical: bool = False
    color: Color = "#808080"
    dash: bool = True


@dataclass(frozen=True)
class Text:
    """A text at a data position; anchor (0, 0) is its top left, (0.5, 0.5) its centre."""

    x: float
    y: float
    text: str
    color: Color = None
    anchor: tuple[float, float] = (0.5, 0.5)


@dataclass(frozen=True)
class Table:
    """What the CSV of a figure holds when its elements alone would not say it well."""

    header: tuple[str, ...]
    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class Figure:
    """One panel: title, axes, what is drawn, the legend, and a caption with the deciding numbers."""

    name: str  # a stable identifier: file names, `export --figure NAME`
    title: str
    x: Axis
    y: Axis
    series: tuple[Series, ...] = ()
    heatmaps: tuple[Heatmap, ...] = ()
    points: tuple[Points, ...] = ()
    bars: tuple[Bars, ...] = ()
    segments: tuple[Segments, ...] = ()
    arrows: tuple[Arrow, ...] = ()
    lines: tuple[RefLine, ...] = ()
    texts: tuple[Text, ...] = ()
    caption: str = ""
    hint: str = "Nothing to show yet."  # shown instead of empty axes
    aspect_locked: bool = False
    legend: bool = True
    data: Table | None = None  # the CSV, when the elements do not say it well (e.g. a diagram's edges)

    def __post_init__(self) -> None:
        for name in ("series", "heatmaps", "points", "bars", "segments", "arrows", "lines", "texts"):
            object.__setattr__(self, name, tuple(getattr(self, name)))

    def replace(self, **changes: Any) -> Figure:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    @property
    def is_empty(self) -> bool:
        """True when there is no data to draw (the renderer shows the hint instead of axes)."""
        return not (any(s.x.size for s in self.series) or self.heatmaps or any(p.x.size for p in self.points)
                    or any(b.x.size for b in self.bars) or any(s.xy.size for s in self.segments))

    def legend_entries(self) -> list[str]:
        """The names the legend lists, in order (series, points, bars, segments and labelled reference lines)."""
        out = [s.name for s in self.series if s.legend]
        out += [p.name for p in self.points if p.legend]
        out += [b.name for b in self.bars if b.legend]
        out += [s.name for s in self.segments if s.legend]
        return out

    def table(self) -> Table:
        """The figure's data as a CSV table; every column names its unit, reference lines included."""
        if self.data is not None:
            return self.data
        header = ("element", "name", self.x.title, self.y.title)
        value_titles = sorted({h.scale_label for h in self.heatmaps})
        header += tuple(value_titles)
        width = len(header)
        rows: list[list[Any]] = []

        def row(element: str, name: str, x: Any, y: Any, values: dict[str, float] | None = None) -> None:
            r = [element, name, x, y] + [""] * (width - 4)
            for title, v in (values or {}).items():
                r[header.index(title)] = v
            rows.append(r)

        for s in self.series:
            for x, y in zip(s.x.tolist(), s.y.tolist(), strict=True):
                row("series", s.name, x, y)
        for h in self.heatmaps:
            xs, ys = h.cell_centres()
            for i, yc in enumerate(ys.tolist()):
                for j, xc in enumerate(xs.tolist()):
                    v = float(h.values[i, j])
                    row("heatmap", h.name, xc, yc, {h.scale_label: v if math.isfinite(v) else ""})
        for p in self.points:
            names = dict(p.labels)
            for i, (x, y) in enumerate(zip(p.x.tolist(), p.y.tolist(), strict=True)):
                row("point", f"{p.name}: {names[i]}" if i in names else p.name, x, y)
        for b in self.bars:
            for x, h in zip(b.x.tolist(), b.height.tolist(), strict=True):
                row("bar", b.name, x, h)
        for a in self.arrows:
            row("arrow start", a.label, a.x0, a.y0)
            row("arrow end", a.label, a.x1, a.y1)
        for line in self.lines:
            if line.vertical:
                row("reference line", line.label, line.value, "")
            else:
                row("reference line", line.label, "", line.value)
        return Table(header, rows)


def empty_like(figure: Figure, hint: str | None = None) -> Figure:
    """The same panel (title, axes, legend entries) with no data, e.g. before training."""
    return figure.replace(
        series=tuple(dataclasses.replace(s, x=(), y=()) for s in figure.series),
        heatmaps=(), points=(), bars=(), segments=(), arrows=(), texts=(),
        hint=figure.hint if hint is None else hint)


__all__ = ["Arrow", "Axis", "Bars", "Color", "Figure", "Heatmap", "Points", "RefLine", "Segments", "Series",
           "Table", "Text", "empty_like"]
