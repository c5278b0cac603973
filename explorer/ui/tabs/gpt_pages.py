"""The Pre-train, Fine-tune and Data efficiency pages of the Pre-train & fine-tune tab: panels that show the
figures of the tab's states, and the few widgets around them."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QProgressBar, QSplitter, QVBoxLayout, QWidget

from ...state.finetune import FinetuneSweepState
from ...state.gpt import PretrainState
from ..widgets.plot_panel import PlotPanel


def _panels(names: tuple[str, ...]) -> dict[str, PlotPanel]:
    return {name: PlotPanel(name) for name in names}


class PretrainPage(QWidget):
    """The pre-training loss; its caption carries what the model writes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels = _panels(PretrainState.figure_names)
        self.loss_panel = self.panels["loss"]
        lay = QVBoxLayout(self)
        lay.addWidget(self.loss_panel, 1)


class FinetunePage(QWidget):
    """Training loss and validation accuracy of the four ways, and a line about the data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels = _panels(("loss", "accuracy"))
        self.loss_panel, self.acc_panel = self.panels["loss"], self.panels["accuracy"]
        self.info = QLabel("")
        self.info.setWordWrap(True)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.loss_panel)
        plots.addWidget(self.acc_panel)
        lay = QVBoxLayout(self)
        lay.addWidget(plots, 1)
        lay.addWidget(self.info)


class SweepPage(QWidget):
    """The shares of labelled data to sweep, the progress, and final accuracy against labelled examples."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.panels = _panels(FinetuneSweepState.figure_names)
        self.panel = self.panels["efficiency"]
        self.shares_edit = QLineEdit("0.01, 0.03, 0.1, 0.3, 1")
        self.shares_edit.setToolTip("Shares of the task's training set to fine-tune on, each in (0, 1]; every "
                                    "share gets the same number of steps")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Shares of the labelled data"))
        row.addWidget(self.shares_edit, 1)
        row.addWidget(self.progress, 2)
        lay.addLayout(row)
        lay.addWidget(self.panel, 1)
