"""A plot panel whose hover and clicks are answered in data coordinates (by the tab's state), for the attention
heatmaps and the token view: the panel draws the state's figure; what is under the pointer is the state's to say."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QPointF, Qt, Signal

from .plot_panel import PlotPanel

Readout = Callable[[float, float], "str | None"]


class FigureInteractionPanel(PlotPanel):
    """A PlotPanel that asks `readout(x, y)` what to say under the pointer and emits `clicked(x, y)` on a left click."""

    clicked = Signal(float, float)  # data coordinates of a left click inside the plot
    plotResized = Signal(float, float)  # the plot area's width and height in pixels

    def __init__(self, title: str, readout: Readout | None = None, parent=None) -> None:
        super().__init__(title, parent=parent)
        self._readout_fn = readout
        self.plot_widget.scene().sigMouseClicked.connect(self._scene_clicked)
        vb = self.plot_item.getViewBox()
        vb.sigResized.connect(lambda *_a: self.plotResized.emit(vb.width(), vb.height()))

    def data_point(self, scene_pos: QPointF) -> tuple[float, float] | None:
        """A scene point in data coordinates, or None outside the plot."""
        vb = self.plot_item.getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = vb.mapSceneToView(scene_pos)
        return p.x(), p.y()

    def _heatmap_readout(self, scene_pos: QPointF) -> str | None:
        point = self.data_point(scene_pos)
        if point is None or self._readout_fn is None or self.figure is None or self.figure.is_empty:
            return None
        return self._readout_fn(*point)

    def _curve_readout(self, view_pos) -> str | None:
        return None  # the frame and the query outline are not data to read out

    def _scene_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        point = self.data_point(event.scenePos())
        if point is not None:
            self.clicked.emit(*point)
