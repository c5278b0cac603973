"""The Attention tab's Cost page: time and memory of one layer against sequence length (full, fused, local and
low-rank attention, an LSTM, a causal convolution), measured in the background, with fitted log-log slopes."""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox,
                               QVBoxLayout, QWidget)
from superqt.utils import GeneratorWorker

from ...analysis.attention_cost import ANALYTIC, KINDS, fitted_slope, measure_layer_cost
from .. import theme
from ..app_state import AppState
from ..widgets.plot_panel import PlotPanel

COST_SHORT = {"full attention": "full attention", "full attention (fused kernel)": "full (fused kernel)",
              "local attention": "local (window 32)", "low-rank attention": "low-rank (k = 32)",
              "LSTM layer": "LSTM", "causal conv layer": "causal conv (k = 3)"}
COST_DEFAULT = ("full attention", "local attention", "low-rank attention", "LSTM layer", "causal conv layer")


def cost_lengths(longest: int) -> tuple[int, ...]:
    """Sequence lengths of a cost measurement: powers of two from 32 up to `longest`."""
    return tuple(2**p for p in range(5, 15) if 2**p <= longest)


class _CostSignals(QObject):
    progress = Signal(int, int)  # done, total: emitted from the measuring thread, received in the UI thread


class _Signals(QObject):
    progress = Signal(int, int)  # done, total: emitted from the measuring thread, received in the UI thread


class CostPage(QWidget):
    """Measures layers on `state.device`; messages go to `banner`."""

    def __init__(self, state: AppState, banner: Callable[[str], None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self._banner = state, banner
        self._worker: GeneratorWorker | None = None
        self._cancel = threading.Event()
        self._signals = _Signals(self)
        self._signals.progress.connect(self._progress)
        self.rows: dict[str, list] = {}
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
        self.kind_boxes = {}
        kinds_row = QHBoxLayout()
        kinds_row.addWidget(QLabel("Layers"))
        for kind in KINDS:
            box = QCheckBox(COST_SHORT[kind])
            box.setChecked(kind in COST_DEFAULT)
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
        self.time_panel = PlotPanel("Time of a forward + backward pass", "sequence length T", "seconds per pass")
        self.mem_panel = PlotPanel("Memory of the largest tensor", "sequence length T", "MiB")
        for panel in (self.time_panel, self.mem_panel):
            panel.set_log(x=True, y=True)
            for side in ("left", "bottom"):
                panel.plot_item.getAxis(side).enableAutoSIPrefix(False)
            panel.legend.setOffset((10, 10))  # top left: the curves rise to the right
        self.info = QLabel("Slopes on log-log axes: about 2 for a cost that grows with T², 1 for one that grows "
                                "with T. They are fitted over the longer half of the lengths.")
        self.info.setWordWrap(True)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addLayout(kinds_row)
        plots = QHBoxLayout()
        plots.addWidget(self.time_panel)
        plots.addWidget(self.mem_panel)
        lay.addLayout(plots, 1)
        lay.addWidget(self.info)
        self.measure_button.clicked.connect(self.measure)
        self.cancel_button.clicked.connect(self._cancel.set)

    def stop(self) -> None:
        """Ask a running measurement to stop at its next timed run (the window is closing)."""
        self._cancel.set()

    def measure(self) -> None:
        """Time every chosen layer at lengths up to the chosen one, in the background, with a progress bar."""
        if self._worker is not None:
            return
        kinds = [k for k, box in self.kind_boxes.items() if box.isChecked()]
        lengths = cost_lengths(self.longest_box.currentData())
        if not kinds or len(lengths) < 2:
            self._banner("Choose at least one layer and a longest length of 64 or more.")
            return
        self._banner("")
        for panel in (self.time_panel, self.mem_panel):
            for name in list(panel.curves):
                panel.remove_curve(name)
        self.rows = {}
        self._cancel.clear()
        self.progress.setValue(0)
        self._total = len(kinds)
        worker = GeneratorWorker(_measure_costs, kinds, lengths, self.width_box.value(), self.state.device,
                                 self._signals.progress.emit, self._cancel)
        worker.yielded.connect(self._measured)
        worker.errored.connect(lambda exc: self._banner(f"The measurement failed: {exc}"))
        worker.finished.connect(self._finished)
        self._worker = worker
        self.measure_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.time_panel.set_title(f"Time of a forward + backward pass: measuring {len(kinds)} layers…")
        worker.start()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setValue(int(1000 * done / max(1, total)))

    def _measured(self, result) -> None:
        kind, rows = result
        if len(rows) < 2:
            return
        self.rows[kind] = rows
        color = theme.curve_color(KINDS.index(kind))
        n = np.array([r.length for r in rows], dtype=np.float64)
        for panel, values in ((self.time_panel, [r.seconds for r in rows]),
                              (self.mem_panel, [r.memory_bytes / 2**20 for r in rows])):
            values = np.asarray(values, dtype=np.float64)
            try:
                slope = f" · slope {fitted_slope(n, values):.2f}"
            except ValueError:
                slope = ""
            curve = panel.add_curve(f"{COST_SHORT[kind]}{slope}", color)
            curve.item.setSymbol("o")
            curve.item.setSymbolSize(5)
            curve.item.setSymbolBrush(color)
            curve.set_data(n, values)
            _log_ticks(panel, n)
            panel.request_redraw()
            panel.redraw_if_visible()
        method = rows[0].memory_method
        self.mem_panel.set_title("Memory: largest intermediate tensor (analytic)" if method == ANALYTIC
                                 else "Memory: peak allocated on the GPU (measured)")

    def _finished(self) -> None:
        self._worker = None
        self.measure_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        cancelled = self._cancel.is_set()
        if not cancelled:
            self.progress.setValue(1000)
        self.time_panel.set_title("Time of a forward + backward pass" + (" (cancelled)" if cancelled else ""))


def _log_ticks(panel: PlotPanel, lengths: np.ndarray) -> None:
    """Readable ticks on log-log axes: the measured lengths on x; 1-2-5 steps (or decades) on y."""
    panel.plot_item.getAxis("bottom").setTicks([[(float(np.log10(n)), f"{int(n):,}") for n in lengths]])
    ys = np.concatenate([c.y for c in panel.curves.values() if len(c)])
    ys = ys[ys > 0]
    if not ys.size:
        return
    lo, hi = int(np.floor(np.log10(ys.min()))), int(np.ceil(np.log10(ys.max())))
    steps = (1, 2, 5) if hi - lo <= 3 else (1,)
    ticks = [(float(np.log10(m * 10.0**e)), f"{m * 10.0**e:g}") for e in range(lo, hi + 1) for m in steps]
    panel.plot_item.getAxis("left").setTicks([ticks])


def _measure_costs(kinds, lengths, width, device, progress, cancel: threading.Event):
    """Yield (kind, rows) for each layer kind; progress(done, total) over all of them."""
    total = len(kinds) * 1000
    for i, kind in enumerate(kinds):
        report = lambda d, t, i=i: progress(i * 1000 + int(1000 * d / max(1, t)), total)  # noqa: E731
        rows = measure_layer_cost(kind, lengths, width=width, device=device, progress=report,
                                  cancelled=cancel.is_set)
        yield kind, rows
        if cancel.is_set():
            return
