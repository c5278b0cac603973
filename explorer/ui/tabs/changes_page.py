"""The "What changed" page of the Pre-train & fine-tune tab: per-layer weight change of every way, linear probes
of every layer before and after fine-tuning, and attention of one input before and after."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QSplitter, QVBoxLayout, QWidget

from ...training.jobs.finetune_job import WAYS, FinetuneSnapshot, way_label
from .. import theme
from ..widgets.plot_panel import PlotPanel


def way_color(way: str):
    """One colour per way, the same on every page."""
    return theme.curve_color(WAYS.index(way))


class ChangesPage(QWidget):
    """Bars, probes and attention of the last fine-tuning snapshot it was given."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ft: FinetuneSnapshot | None = None
        self.change_panel = PlotPanel("Weight change per layer", "layer", "relative change ‖θ − θ₀‖ / ‖θ₀‖")
        self.change_panel.plot_item.getAxis("left").enableAutoSIPrefix(False)
        self.change_panel.set_data_provider(self._change_csv)
        self.change_bars: dict[str, pg.BarGraphItem] = {}
        self.probe_panel = PlotPanel("Linear probe of each layer on the task", "layer", "probe accuracy")
        self.probe_panel.plot_item.getAxis("left").enableAutoSIPrefix(False)
        self.before_panel = PlotPanel("Attention before fine-tuning", "key", "query")
        self.after_panel = PlotPanel("Attention after fine-tuning", "key", "query")
        for panel in (self.before_panel, self.after_panel):
            panel.add_heatmap("attention")
            panel.plot_item.invertY(True)
            panel.plot_item.setAspectLocked(True)
        self.att_way = QComboBox()
        self.att_layer, self.att_head = QSpinBox(), QSpinBox()
        for box in (self.att_layer, self.att_head):
            box.setRange(1, 1)
            box.valueChanged.connect(lambda _v: self._draw_attention())
        self.att_way.currentIndexChanged.connect(lambda _i: self._draw_attention())
        pick = QHBoxLayout()
        for text, w in (("After", self.att_way), ("Layer", self.att_layer), ("Head", self.att_head)):
            pick.addWidget(QLabel(text))
            pick.addWidget(w)
        pick.addStretch(1)
        self.info = QLabel("Fine-tune first: this page compares each way's weights, layers and attention with "
                           "where they started.")
        self.info.setWordWrap(True)
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.change_panel)
        top.addWidget(self.probe_panel)
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.addWidget(self.before_panel)
        bottom.addWidget(self.after_panel)
        lay = QVBoxLayout(self)
        lay.addWidget(top, 1)
        lay.addLayout(pick)
        lay.addWidget(bottom, 1)
        lay.addWidget(self.info)

    def clear(self) -> None:
        """Forget the last run (a new one starts)."""
        for item in self.change_bars.values():
            self.change_panel.plot_item.removeItem(item)
            self.change_panel.legend.removeItem(item)
        self.change_bars = {}
        for name in list(self.probe_panel.curves):
            self.probe_panel.remove_curve(name)
        self._ft = None

    def set_snapshot(self, snap: FinetuneSnapshot) -> None:
        """Keep `snap` and offer its ways, layers and heads; `draw` shows it."""
        self._ft = snap
        self.att_way.blockSignals(True)
        current = self.att_way.currentData()
        self.att_way.clear()
        for way in snap.ways:
            self.att_way.addItem(way_label(way, snap.lower), way)
        self.att_way.setCurrentIndex(max(0, self.att_way.findData(current)))
        self.att_way.blockSignals(False)
        layers, heads = snap.attention_before.shape[:2]
        self.att_layer.setRange(1, layers)
        self.att_head.setRange(1, heads)

    def draw(self) -> None:
        """Draw the snapshot given last (called when the page is in front)."""
        snap = self._ft
        if snap is None:
            return
        groups = list(snap.groups)
        ticks = [(i, g) for i, g in enumerate(groups)]
        self.change_panel.plot_item.getAxis("bottom").setTicks([ticks])
        n = max(1, len(snap.ways))
        width = 0.8 / n
        for item in self.change_bars.values():
            self.change_panel.plot_item.removeItem(item)
            self.change_panel.legend.removeItem(item)
        self.change_bars = {}
        for i, way in enumerate(snap.ways):
            x = np.arange(len(groups)) - 0.4 + width * (i + 0.5)
            heights = np.nan_to_num(np.asarray(snap.weight_change[i], dtype=np.float64))
            item = pg.BarGraphItem(x=x, height=heights, width=width * 0.9, brush=way_color(way), pen=None)
            self.change_panel.plot_item.addItem(item)
            self.change_panel.legend.addItem(item, way_label(way, snap.lower))
            self.change_bars[way] = item
        self.change_panel.legend.setVisible(True)
        top = float(np.nanmax(np.asarray(snap.weight_change, dtype=np.float64), initial=0.0))
        self.change_panel.plot_item.setYRange(0, max(top, 1e-6) * 2.2, padding=0)  # room for the legend
        self.change_panel.plot_item.setXRange(-0.6, len(groups) - 0.4, padding=0)
        frozen = [g for g, f in zip(groups, snap.frozen) if f]
        self.change_panel.set_title("Weight change per layer")
        frozen_note = (f" Frozen in '{way_label('frozen', snap.lower)}': {', '.join(frozen)} — exactly 0."
                       if frozen and "frozen" in snap.ways else "")

        for name in list(self.probe_panel.curves):
            self.probe_panel.remove_curve(name)
        probe_groups = list(snap.probe_groups)
        x = np.arange(len(probe_groups), dtype=np.float64)
        self.probe_panel.plot_item.getAxis("bottom").setTicks([[(i, g) for i, g in enumerate(probe_groups)]])
        self.probe_panel.plot_item.setXRange(-0.4, len(probe_groups) - 0.6, padding=0)
        self.probe_panel.plot_item.setYRange(0, 1.02, padding=0)
        self.probe_panel.legend.setColumnCount(2)  # three short rows: clear of accuracies at or above chance
        self.probe_panel.legend.setOffset((-10, -10))
        before = self.probe_panel.add_curve("before fine-tuning (pre-trained)", (120, 120, 120))
        before.item.setPen(pg.mkPen((120, 120, 120), width=2, style=Qt.PenStyle.DashLine))
        before.set_data(x, np.asarray(snap.probe_before, dtype=np.float64))
        after = np.asarray(snap.probe_after, dtype=np.float64)
        if np.isfinite(after).any():
            for i, way in enumerate(snap.ways):
                curve = self.probe_panel.add_curve(f"after: {way_label(way, snap.lower)}", way_color(way))
                curve.item.setSymbol("o")
                curve.item.setSymbolSize(6)
                curve.item.setSymbolBrush(way_color(way))
                curve.set_data(x, after[i])
            self.probe_panel.set_title("Linear probe of each layer on the task")
        else:
            self.probe_panel.set_title("Linear probe of each layer (after fine-tuning: when the run ends)")
        self.probe_panel.request_redraw()
        self.probe_panel.redraw_if_visible()
        self._draw_attention()
        self.info.setText(
            "Bars: how far each layer's weights moved from where the way started (0 for frozen layers). Probe: "
            "accuracy of a logistic regression on each layer's vectors — where the pre-trained model's dashed "
            "line is already high, the lower layers carry what the task needs." + frozen_note)

    def _draw_attention(self) -> None:
        snap = self._ft
        if snap is None or self.att_way.count() == 0:
            return
        layer, head = self.att_layer.value() - 1, self.att_head.value() - 1
        way = self.att_way.currentData()
        w = list(snap.ways).index(way) if way in snap.ways else 0
        before = np.nan_to_num(np.asarray(snap.attention_before[layer, head], dtype=np.float32))
        after = np.nan_to_num(np.asarray(snap.attention_after[w, layer, head], dtype=np.float32))
        T = before.shape[0]
        for panel, data, title in ((self.before_panel, before, "Before (pre-trained)"),
                                   (self.after_panel, after, f"After: {way_label(way, snap.lower)}")):
            panel.set_heatmap("attention", data, levels=(0.0, max(1e-6, float(data.max()))), rect=(0, 0, T, T))
            panel.set_title(f"{title} · layer {layer + 1}, head {head + 1}")
            tokens = list(getattr(snap, "probe_tokens", ()))
            if len(tokens) == T and T <= 24:  # one readable label per token
                ticks = [(i + 0.5, t) for i, t in enumerate(tokens)]
                panel.plot_item.getAxis("bottom").setTicks([ticks])
                panel.plot_item.getAxis("left").setTicks([ticks])
            else:  # positions, every 8th
                ticks = [(i + 0.5, str(i)) for i in range(0, T, 8)]
                panel.plot_item.getAxis("bottom").setTicks([ticks])
                panel.plot_item.getAxis("left").setTicks([ticks])
            panel.request_redraw()
            panel.redraw_if_visible()

    def _change_csv(self):
        snap = self._ft
        header = ["way", "layer", "relative_change", "frozen"]
        if snap is None:
            return header, []
        return header, [(snap.ways[i], g, float(snap.weight_change[i][j]), bool(snap.frozen[j]) and
                         snap.ways[i] == "frozen") for i in range(len(snap.ways)) for j, g in enumerate(snap.groups)]
