"""The WaveNet-style connection diagram: inputs at the bottom, one row per layer, the edges reaching one output."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal

from .. import theme


def _segments(edges_by_layer: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """x, y arrays for a 'pairs' line item: layer l's edge (src, dst) runs from (src, l) to (dst, l + 1)."""
    xs, ys = [], []
    for layer, pairs in enumerate(edges_by_layer):
        pairs = np.asarray(pairs, dtype=float).reshape(-1, 2)
        if not len(pairs):
            continue
        x = np.empty(2 * len(pairs))
        y = np.empty(2 * len(pairs))
        x[0::2], x[1::2] = pairs[:, 0], pairs[:, 1]
        y[0::2], y[1::2] = layer, layer + 1
        xs.append(x)
        ys.append(y)
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys)


class ConnectionDiagram(QObject):
    """Draws nodes and edges into a PlotItem; clicking a node of the top row chooses that output."""

    outputChosen = Signal(int)

    def __init__(self, plot: pg.PlotItem, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.plot = plot
        self.faded = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen((160, 160, 160, 70), width=1))
        self.lit = pg.PlotCurveItem(connect="pairs", pen=pg.mkPen(theme.curve_color(0), width=2))
        self.nodes = pg.ScatterPlotItem(size=7, pen=None, brush=pg.mkBrush(150, 150, 150, 200))
        self.field = pg.ScatterPlotItem(size=9, pen=None, brush=pg.mkBrush(theme.curve_color(0)))
        self.chosen = pg.ScatterPlotItem(size=14, pen=pg.mkPen(theme.curve_color(5), width=2), brush=None,
                                         symbol="o")
        for item in (self.faded, self.lit, self.nodes, self.field, self.chosen):
            plot.addItem(item)
        self.nodes.sigClicked.connect(self._clicked)
        self.layers = 0
        self.length = 0
        plot.getAxis("left").setTicks(None)

    def draw(self, length: int, layers: int, all_edges: Sequence[np.ndarray], lit_edges: Sequence[np.ndarray],
             field: np.ndarray, output: int) -> None:
        """Show `layers` conv layers over `length` positions; light the edges and inputs that reach `output`."""
        self.layers, self.length = layers, length
        grid_x = np.tile(np.arange(length, dtype=float), layers + 1)
        grid_y = np.repeat(np.arange(layers + 1, dtype=float), length)
        self.nodes.setData(x=grid_x, y=grid_y)
        self.faded.setData(*_segments(all_edges))
        self.lit.setData(*_segments(lit_edges))
        self.field.setData(x=np.asarray(field, dtype=float), y=np.zeros(len(field)))
        self.chosen.setData(x=[float(output)], y=[float(layers)])
        ticks = [(0, "input")] + [(i, f"layer {i}") for i in range(1, layers)] + [(layers, "output")]
        self.plot.getAxis("left").setTicks([ticks])
        self.plot.setRange(xRange=(-0.5, length - 0.5), yRange=(-0.4, layers + 0.4), padding=0.02)

    def _clicked(self, _item, points, _ev=None) -> None:
        for p in points:
            pos = p.pos()
            if round(pos.y()) == self.layers:
                self.outputChosen.emit(int(round(pos.x())))
                return
