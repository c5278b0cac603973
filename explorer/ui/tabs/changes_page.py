"""The "What changed" page of the Pre-train & fine-tune tab: per-layer weight change of every way, linear probes
of every layer before and after fine-tuning, and attention of one input before and after. A thin binding: the
panels show `FinetuneState`'s figures; the way, layer and head choosers set the state's attention choice."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QSplitter, QVBoxLayout, QWidget

from ...state.finetune import FinetuneState
from ...training.jobs.finetune_job import way_label
from ..widgets.plot_panel import PlotPanel

FIGURES = ("weight_change", "probes", "attention_before", "attention_after")


class ChangesPage(QWidget):
    """Bars, probes and attention of the fine-tuning snapshot on show in `state`."""

    def __init__(self, state: FinetuneState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.panels = {name: PlotPanel(name) for name in FIGURES}
        self.change_panel, self.probe_panel, self.before_panel, self.after_panel = (self.panels[n] for n in FIGURES)
        self.att_way = QComboBox()
        self.att_way.setToolTip("The way whose attention after fine-tuning is shown")
        self.att_layer, self.att_head = QSpinBox(), QSpinBox()
        for box in (self.att_layer, self.att_head):
            box.setRange(1, 1)
            box.valueChanged.connect(self._chosen)
        self.att_way.currentIndexChanged.connect(self._chosen)
        pick = QHBoxLayout()
        for text, w in (("After", self.att_way), ("Layer", self.att_layer), ("Head", self.att_head)):
            pick.addWidget(QLabel(text))
            pick.addWidget(w)
        pick.addStretch(1)
        self.info = QLabel("Bars: how far each layer's weights moved from where the way started (0 for frozen "
                           "layers). Probe: accuracy of a logistic regression on each layer's vectors — where the "
                           "pre-trained model's dashed line is already high, the lower layers carry what the task "
                           "needs. Attention: one held-out passage, before and after.")
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
        self._syncing = False
        self.sync_choices()

    def sync_choices(self) -> None:
        """Offer the ways, layers and heads of the snapshot on show, with the state's choice selected."""
        snap = self.state.snapshot
        way, layer, head, layers, heads = self.state.attention_choice()
        self._syncing = True
        try:
            self.att_way.clear()
            for w in self.state.ways():
                self.att_way.addItem(way_label(w, self.state.lower()), w)
            self.att_way.setCurrentIndex(max(0, self.att_way.findData(way)))
            self.att_layer.setRange(1, layers)
            self.att_head.setRange(1, heads)
            self.att_layer.setValue(layer + 1)
            self.att_head.setValue(head + 1)
            for w in (self.att_way, self.att_layer, self.att_head):
                w.setEnabled(snap is not None)
        finally:
            self._syncing = False

    def _chosen(self, *_args) -> None:
        if self._syncing or self.att_way.count() == 0:
            return
        self.state.set_attention(self.att_way.currentData(), self.att_layer.value() - 1, self.att_head.value() - 1)
