"""The timeline slider: scrubs through the snapshots of a recorded run."""
from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QWidget


class Timeline(QWidget):
    """A slider over snapshot indices with a step readout and play/pause; emits `indexChanged(int)`."""

    indexChanged = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._steps: list[int] = []
        self.play_btn = QPushButton("Play")
        self.play_btn.setFixedWidth(64)
        self.play_btn.setToolTip("Play the recorded run from the selected snapshot")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.label = QLabel("no recorded run")
        self.label.setMinimumWidth(210)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel("Timeline"))
        lay.addWidget(self.play_btn)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.label)
        self._timer = QTimer(self)
        self._timer.setInterval(120)
        self._timer.timeout.connect(self._advance)
        self.play_btn.clicked.connect(self.toggle_play)
        self.slider.valueChanged.connect(self._on_value)
        self.set_steps([])

    def set_steps(self, steps: Sequence[int], title: str = "", emit: bool = True) -> None:
        """Show a run's snapshot steps (empty: nothing to scrub); selects the last snapshot (and says so if `emit`)."""
        self._timer.stop()
        self._steps = list(steps)
        self._title = title
        n = len(self._steps)
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, n - 1))
        self.slider.setValue(max(0, n - 1))
        self.slider.blockSignals(False)
        self.slider.setEnabled(n > 1)
        self.play_btn.setEnabled(n > 1)
        self._update_label()
        if n and emit:
            self.indexChanged.emit(n - 1)

    @property
    def index(self) -> int:
        return self.slider.value()

    def set_index(self, i: int) -> None:
        self.slider.setValue(i)

    def toggle_play(self) -> None:
        if self._timer.isActive():
            self._timer.stop()
        else:
            if self.slider.value() >= self.slider.maximum():
                self.slider.setValue(0)
            self._timer.start()
        self.play_btn.setText("Hold" if self._timer.isActive() else "Play")

    def _advance(self) -> None:
        if self.slider.value() >= self.slider.maximum():
            self.toggle_play()
        else:
            self.slider.setValue(self.slider.value() + 1)

    def _on_value(self, i: int) -> None:
        self._update_label()
        self.indexChanged.emit(i)

    def _update_label(self) -> None:
        if not self._steps:
            self.label.setText("no recorded run")
            return
        i = self.slider.value()
        prefix = f"{self._title} · " if self._title else ""
        self.label.setText(f"{prefix}snapshot {i + 1}/{len(self._steps)} · step {self._steps[i]}")
