"""A tab whose views are not built yet: it says what it will hold, so the app's map is visible from day one."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

PLANNED = {
    "Recurrent": (
        "Backprop through time, vanishing and exploding gradients, GRU and LSTM gates",
        [
            "Vanilla RNN, GRU and LSTM cells written from the lecture's equations, trained side by side",
            "‖∂L/∂h(t)‖ against t on a log scale, live, and as a heatmap over training",
            "The spectrum of the recurrent Jacobian and a recurrent-weight-scale slider",
            "Gate activations (z, r; f, i, o) and the cell state over time",
            "Accuracy against the length of the dependency, per cell",
        ],
    ),
    "Attention": (
        "softmax(QKᵀ/√d_k)V, masking, positional encoding and the quadratic cost",
        [
            "A tiny decoder-only transformer trained live on text",
            "Per-layer, per-head attention heatmaps on text you type",
            "Causal mask and positional encoding toggles; the encoding itself",
            "Time and memory of attention against sequence length, and cheaper variants",
        ],
    ),
    "Pre-train & fine-tune": (
        "GPT-style pre-training, fine-tuning, transfer and frozen layers",
        [
            "Pre-train the tiny GPT on next-token prediction",
            "Fine-tune from scratch, warm-started, and with frozen lower layers",
            "Learning curves of the three compared in one plot",
        ],
    ),
}


class PlannedTab(QWidget):
    """Describes the lecture idea of a tab and the views that a later release adds to it."""

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        idea, items = PLANNED[name]
        bullets = "".join(f"<li>{item}</li>" for item in items)
        text = QLabel(
            f"<h2>{name}</h2><p><b>{idea}</b></p>"
            f"<p>This tab is planned; it will hold:</p><ul>{bullets}</ul>"
            "<p>The engine, corpora, plots and exports it will use already work in the Embeddings tab.</p>"
        )
        text.setWordWrap(True)
        text.setTextFormat(Qt.TextFormat.RichText)
        text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(24, 24, 24, 24)
        lay.addWidget(text)
        lay.addStretch(1)
