"""The Attention tab's "What the heatmaps show" box: a typed text, weights or scores, the enlarged head, the query."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from ...state.attention import AttentionState


class HeatmapControls(QGroupBox):
    """The widgets of the selection; `show_state` mirrors the state's selection without emitting anything."""

    def __init__(self, parent=None) -> None:
        super().__init__("What the heatmaps show", parent)
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("type a text, then Enter")
        self.text_edit.setToolTip("Show the attention of the model on the timeline on this text (no length limit; "
                                  "long texts are drawn at a lower resolution)")
        self.probe_button = QPushButton("Show the probe")
        self.probe_button.setToolTip("Go back to the text the training snapshots record")
        self.record_box = QCheckBox("Record this text while training")
        self.record_box.setToolTip("Train with this text as the probe whose attention every snapshot records, "
                                   "so that the timeline shows how its pattern formed")
        self.mode_box = QComboBox()
        self.mode_box.addItem("weights: softmax(QKᵀ/√d_k)", "weights")
        self.mode_box.addItem("scores: QKᵀ/√d_k", "scores")
        self.layer_box, self.head_box, self.query_box = QSpinBox(), QSpinBox(), QSpinBox()
        for box, tip in ((self.layer_box, "Layer of the enlarged head (or click a tile)"),
                         (self.head_box, "Head shown enlarged (or click a tile)"),
                         (self.query_box, "Query position of the token view (or click a row of the enlarged head)")):
            box.setToolTip(tip)
            box.setRange(1, 1)
        self.query_box.setRange(0, 0)
        self.query_label = QLabel("")
        lay = QFormLayout(self)
        lay.addRow("Text", self.text_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.probe_button)
        buttons.addStretch(1)
        lay.addRow(buttons)
        lay.addRow(self.record_box)
        lay.addRow("Colour", self.mode_box)
        head_row = QHBoxLayout()
        for text, w in (("Layer", self.layer_box), ("Head", self.head_box)):
            head_row.addWidget(QLabel(text))
            head_row.addWidget(w, 1)
        lay.addRow(head_row)
        query_row = QHBoxLayout()
        query_row.addWidget(self.query_box, 1)
        query_row.addWidget(self.query_label, 1)
        lay.addRow("Query", query_row)

    def show_state(self, vs: AttentionState) -> None:
        """Ranges and values of the layer, head and query boxes, and the colour mode, as the state has them."""
        view = vs.view
        boxes = ((self.layer_box, 1, view.layers if view else 1, vs.layer + 1),
                 (self.head_box, 1, view.heads if view else 1, vs.head + 1),
                 (self.query_box, 0, view.length - 1 if view else 0, vs.shown_query))
        for box, low, high, value in boxes:
            box.blockSignals(True)
            box.setRange(low, high)
            box.setValue(value)
            box.blockSignals(False)
        self.query_label.setText(f"‘{view.tokens[vs.shown_query]}’ of {view.length:,}" if view else "")
        if self.mode_box.currentData() != vs.mode:
            self.mode_box.blockSignals(True)
            self.mode_box.setCurrentIndex(self.mode_box.findData(vs.mode))
            self.mode_box.blockSignals(False)
