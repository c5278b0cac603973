"""The Attention tab's Cost page: time and memory of one layer against sequence length (full, fused, local,
low-rank and downsampled attention, an LSTM, a causal convolution), measured in the background through the tab's
TaskRunner.

The rows measured so far go to `AttentionCostState` as the snapshot an `attention_cost` run records, so that the
page draws the very figures that `main.py export` writes of such a run."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...analysis.attention_cost import KINDS, measure_layer_cost
from ...state.measurements import AttentionCostState
from ...training.job import frozen_array
from ...training.jobs.attention_cost_job import AttentionCostSnapshot
from ..app_state import AppState
from ..tasks import TaskRunner
from ..widgets.plot_panel import PlotPanel

TASK = "cost"
SHORT = {"full attention": "full attention", "full attention (fused kernel)": "full (fused kernel)",
         "local attention": "local (window 32)", "low-rank attention": "low-rank (k = 32)",
         "downsampled attention": "downsampled (to 32)",
         "LSTM layer": "LSTM", "causal conv layer": "causal conv (k = 3)"}
DEFAULT_KINDS = ("full attention", "local attention", "low-rank attention", "downsampled attention", "LSTM layer",
                 "causal conv layer")  # the lecture's three remedies, and the recurrent and convolutional layers


def cost_lengths(longest: int) -> tuple[int, ...]:
    """Sequence lengths of a cost measurement: powers of two from 32 up to `longest`."""
    return tuple(2**p for p in range(5, 15) if 2**p <= longest)


def cost_snapshot(rows, measured_kinds: int, device: str) -> AttentionCostSnapshot:
    """The rows so far as the snapshot of an `attention_cost` run after `measured_kinds` steps."""
    return AttentionCostSnapshot(
        step=measured_kinds, kinds=tuple(r.kind for r in rows), labels=tuple(r.label for r in rows),
        lengths=frozen_array([r.length for r in rows], np.int64), seconds=frozen_array([r.seconds for r in rows],
                                                                                      np.float64),
        memory=frozen_array([r.memory_bytes for r in rows], np.float64), methods=tuple(r.memory_method for r in rows),
        device=str(device), seconds_low=frozen_array([r.seconds_low for r in rows], np.float64),
        seconds_high=frozen_array([r.seconds_high for r in rows], np.float64),
        repeats=max((r.repeats for r in rows), default=0))


class _Relay(QObject):
    """Emitted from the measuring thread, received in the UI thread."""

    progress = Signal(int, int, int)  # serial, done, total
    measured = Signal(int, str, object)  # serial, layer kind, rows
    ended = Signal(int, bool)  # serial, cancelled


def measure_costs(kinds, lengths, width, device, serial: int, relay: _Relay, cancelled: Callable[[], bool]) -> None:
    """Measure each layer kind in turn (in a worker); rows, progress and the end go out through `relay`."""
    total = len(kinds) * 1000
    try:
        for i, kind in enumerate(kinds):
            report = lambda d, t, i=i: relay.progress.emit(serial, i * 1000 + int(1000 * d / max(1, t)), total)  # noqa: E731
            rows = measure_layer_cost(kind, lengths, width=width, device=device, progress=report, cancelled=cancelled)
            if cancelled():
                break
            relay.measured.emit(serial, kind, rows)
    finally:
        relay.ended.emit(serial, bool(cancelled()))


class CostPage(QWidget):
    """Measures layers on `state.device` through the tab's TaskRunner; messages go to `banner`."""

    def __init__(self, state: AppState, tasks: TaskRunner, banner: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.app_state, self.tasks, self._banner = state, tasks, banner
        self.state = AttentionCostState()
        self.measuring = False
        self.rows: list = []  # every row measured so far, kind by kind
        self._measured_kinds = 0
        self._serial = 0
        self._relay = _Relay(self)
        self._relay.progress.connect(self._progress)
        self._relay.measured.connect(self._measured)
        self._relay.ended.connect(self._ended)
        self.longest_box = QComboBox()
        for p in range(8, 15):
            self.longest_box.addItem(f"{2**p:,}", 2**p)
        self.longest_box.setCurrentIndex(self.longest_box.findData(2048))
        self.longest_box.setToolTip("The longest sequence measured (full attention takes ~3 s a pass at 4,096 on "
                                    "a laptop CPU, four times that at 8,192)")
        self.width_box = QSpinBox()
        self.width_box.setRange(8, 1024)
        self.width_box.setValue(64)
        self.width_box.setToolTip("Width (d_model) of every measured layer")
        self.kind_boxes: dict[str, QCheckBox] = {}
        kinds_row = QHBoxLayout()
        kinds_row.addWidget(QLabel("Layers"))
        for kind in KINDS:
            box = QCheckBox(SHORT[kind])
            box.setChecked(kind in DEFAULT_KINDS)
            self.kind_boxes[kind] = box
            kinds_row.addWidget(box)
        kinds_row.addStretch(1)
        self.measure_button = QPushButton("Measure cost against length")
        self.measure_button.setToolTip("Time one forward and backward pass of each layer at lengths 32, 64, … "
                                       "(in the background)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("%p%")
        row = QHBoxLayout()
        row.addWidget(QLabel("Lengths up to"))
        row.addWidget(self.longest_box)
        row.addWidget(QLabel("Width"))
        row.addWidget(self.width_box)
        row.addWidget(self.measure_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.progress, 1)
        self.time_panel = PlotPanel("Time of a forward + backward pass")
        self.mem_panel = PlotPanel("Memory")
        self.panels = {"time": self.time_panel, "memory": self.mem_panel}
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addLayout(kinds_row)
        plots = QHBoxLayout()
        plots.addWidget(self.time_panel)
        plots.addWidget(self.mem_panel)
        lay.addLayout(plots, 1)
        self.measure_button.clicked.connect(self.measure)
        self.cancel_button.clicked.connect(self.stop)
        self.state.changed.connect(self._redraw)
        self._redraw(())

    def _redraw(self, _names=()) -> None:
        for name, panel in self.panels.items():
            panel.show_figure(self.state.figure(name))

    def stop(self) -> None:
        """Ask a running measurement to stop at its next timed run."""
        self.tasks.cancel(TASK)

    def measure(self) -> None:
        """Time every chosen layer at lengths up to the chosen one, in the background, with a progress bar."""
        if self.measuring:
            return
        kinds = [k for k, box in self.kind_boxes.items() if box.isChecked()]
        lengths = cost_lengths(self.longest_box.currentData())
        if not kinds or len(lengths) < 2:
            self._banner("Choose at least one layer and a longest length of 64 or more.")
            return
        self._banner("")
        self.state.reset()
        self.rows, self._measured_kinds, self.measuring = [], 0, True
        self._serial += 1
        self.progress.setValue(0)
        self.measure_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setFormat("%p%")
        self.tasks.submit(TASK, measure_costs, kinds, lengths, self.width_box.value(),
                          self.app_state.device, self._serial, self._relay,
                          on_error=lambda msg: self._banner(f"The measurement failed: {msg}"))

    def _progress(self, serial: int, done: int, total: int) -> None:
        if serial == self._serial:
            self.progress.setValue(int(1000 * done / max(1, total)))

    def _measured(self, serial: int, kind: str, rows) -> None:
        if serial == self._serial and len(rows) >= 2:
            self.rows += rows
            self._measured_kinds += 1
            self.state.take_snapshot(cost_snapshot(self.rows, self._measured_kinds, self.app_state.device))

    def _ended(self, serial: int, cancelled: bool) -> None:
        if serial != self._serial:
            return
        self.measuring = False
        if cancelled:
            self.progress.setFormat("cancelled at %p%")
        else:
            self.progress.setValue(1000)
        self.measure_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
