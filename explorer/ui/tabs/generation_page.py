"""The "Training vs generation" page of the Pre-train & fine-tune tab: one training step over T positions against
generating T tokens one after another, with and without the key/value cache, measured in the background through
the tab's TaskRunner; the panel shows `GenerationState`'s figure (its verdict in the caption)."""
from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget

from ...state.gpt import GenerationState
from ..app_state import AppState
from ..tasks import TaskRunner
from ..widgets.plot_panel import PlotPanel

TASK = "generation"


def gen_lengths(longest: int) -> list[int]:
    """Lengths of the measurement: powers of two from 8, and the longest itself."""
    out = [2**p for p in range(3, 16) if 2**p < longest]
    return [*out, longest]


class _Progress(QObject):
    changed = Signal(int, int, int)  # measurement number, done, total (emitted from the measuring thread)


class GenerationPage(QWidget):
    """Measures the chosen pre-trained model; `current_model()` gives its PretrainedInfo (or None)."""

    def __init__(self, state: AppState, tasks: TaskRunner, current_model: Callable, banner: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.tasks, self._current_model, self._banner = state, tasks, current_model, banner
        self.view_state = GenerationState()
        self._serial = 0  # the measurement on show; progress of an older one is ignored
        self._model = ""  # the folder of the model measured
        self._stop: threading.Event | None = None
        self._relay = _Progress(self)
        self._relay.changed.connect(self._progress)
        self.longest = QSpinBox()
        self.longest.setRange(8, 4096)
        self.longest.setValue(64)
        self.longest.setToolTip("The longest length T measured (at most the model's context)")
        self.batch = QSpinBox()
        self.batch.setRange(1, 256)
        self.batch.setValue(8)
        self.batch.setToolTip("Sequences in the training step's batch (generation writes one sequence)")
        self.button = QPushButton("Measure")
        self.button.setToolTip("Check that cached generation gives the training pass's logits, then time both "
                               "at every length (in the background)")
        self.button.clicked.connect(self.measure)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.stop)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        row = QHBoxLayout()
        for text, w in (("Longest T", self.longest), ("Batch", self.batch)):
            row.addWidget(QLabel(text))
            row.addWidget(w)
        row.addWidget(self.button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        self.panel = PlotPanel("generation")
        self.info = QLabel("The notes say a transformer trains in parallel and generates sequentially. Measure it: "
                           "training scores every position of a sequence in one pass (the causal mask keeps each "
                           "position from seeing its future), while generation must produce one token after "
                           "another.")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.panel, 1)
        lay.addWidget(self.info)
        self._show()

    def set_model(self, info) -> None:
        """Lengths up to the model's context (its positional table, if learned, has no more rows); the numbers
        of another model go."""
        folder = str(info.folder) if info is not None else ""
        if folder == self._model:
            return
        self._model = folder
        if info is not None:
            self.longest.setMaximum(info.context)
            self.longest.setValue(info.context)
        self._serial += 1  # a measurement still running is of the other model: its numbers are dropped
        self.stop()
        self.cancel_button.setEnabled(False)
        self.progress.setValue(0)
        self.view_state.clear()
        self._show()

    @property
    def running(self) -> bool:
        return self.tasks.busy(TASK)

    def measure(self) -> None:
        """Time one training step over T positions against generating T tokens, for lengths up to T."""
        info = self._current_model()
        if info is None:
            self._banner("Pre-train a model first: the measurement uses the chosen pre-trained model.")
            return
        self._banner("")
        self._serial += 1
        serial, stop = self._serial, threading.Event()
        if self._stop is not None:
            self._stop.set()
        self._stop = stop
        lengths = gen_lengths(min(self.longest.value(), info.context))
        self.view_state.start(self.batch.value())
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self._show()
        self.tasks.submit(TASK, _measure_generation, str(info.folder), lengths, self.batch.value(),
                          self.state.device, lambda done, total: self._relay.changed.emit(serial, done, total),
                          stop.is_set, on_done=lambda rows: self._measured(serial, rows),
                          on_error=lambda message: self._failed(serial, message))

    def stop(self) -> None:
        """Stop the measurement at its next timed run; the lengths finished so far are shown."""
        if self._stop is not None:
            self._stop.set()

    def _progress(self, serial: int, done: int, total: int) -> None:
        if serial == self._serial:
            self.progress.setValue(int(1000 * done / max(1, total)))

    def _measured(self, serial: int, rows) -> None:
        if serial != self._serial:
            return
        cancelled = self._stop is not None and self._stop.is_set()
        self.view_state.finish(list(rows), cancelled=cancelled)
        self._stop = None
        self.cancel_button.setEnabled(False)
        if not cancelled:
            self.progress.setValue(1000)
        self._show()

    def _failed(self, serial: int, message: str) -> None:
        if serial != self._serial:
            return
        self.view_state.fail()
        self._stop = None
        self.cancel_button.setEnabled(False)
        self._banner(f"The measurement failed: {message}")
        self._show()

    def _show(self) -> None:
        self.panel.show_figure(self.view_state.figure())


def _measure_generation(folder: str, lengths, batch: int, device: str, progress, stop, cancelled):
    """In the background: load the pre-trained model and time training against generation."""
    from ...analysis.generation_cost import measure_train_vs_generate
    from ...training.jobs.pretrained import load_pretrained

    model = load_pretrained(folder).build_model()
    return measure_train_vs_generate(model, lengths, batch=batch, device=device, progress=progress,
                                     cancelled=lambda: stop() or cancelled())
