"""The "Training vs generation" page of the Pre-train & fine-tune tab: one training step over T positions against
generating T tokens one after another, with and without the key/value cache, measured in the background."""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget
from superqt.utils import FunctionWorker

from .. import theme
from ..app_state import AppState
from ..widgets.plot_panel import PlotPanel

CURVES = ("training step: all positions in one pass", "generation with the KV cache",
          "generation without a cache")


def gen_lengths(longest: int) -> list[int]:
    """Lengths of the measurement: powers of two from 8, and the longest itself."""
    out = [2**p for p in range(3, 16) if 2**p < longest]
    return out + [longest]


class _Signals(QObject):
    progress = Signal(int, int)  # done, total (emitted from the measuring thread)


class GenerationPage(QWidget):
    """Measures the chosen pre-trained model; `current_model()` gives its PretrainedInfo (or None)."""

    def __init__(self, state: AppState, current_model: Callable, banner: Callable[[str], None],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self._current_model, self._banner = state, current_model, banner
        self._worker: FunctionWorker | None = None
        self._cancel = threading.Event()
        self._signals = _Signals(self)
        self._signals.progress.connect(self._progress)
        self.rows: list = []
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
        self.cancel_button.clicked.connect(self._cancel.set)
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
        self.panel = PlotPanel("Training vs generation: time for T tokens", "sequence length T", "seconds")
        self.panel.set_log(x=True, y=True)
        for side in ("left", "bottom"):
            self.panel.plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.panel.legend.setOffset((10, 10))
        self.panel.set_data_provider(self._csv)
        self.info = QLabel("The notes say a transformer trains sequentially and runs in parallel. Measure it: "
                           "training scores every position of a sequence in one pass (the causal mask keeps each "
                           "position from seeing its future), while generation must produce one token after "
                           "another.")
        self.info.setWordWrap(True)
        self.info.setTextFormat(Qt.TextFormat.RichText)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.panel, 1)
        lay.addWidget(self.info)

    def set_model(self, info) -> None:
        """Lengths up to the model's context (its positional table, if learned, has no more rows)."""
        if info is not None:
            self.longest.setMaximum(info.context)
            self.longest.setValue(info.context)

    def stop(self) -> None:
        """Ask a running measurement to stop at its next timed run (the window is closing)."""
        self._cancel.set()

    @property
    def running(self) -> bool:
        return self._worker is not None

    def measure(self) -> None:
        """Time one training step over T positions against generating T tokens, for lengths up to T."""
        if self._worker is not None:
            return
        info = self._current_model()
        if info is None:
            self._banner("Pre-train a model first: the measurement uses the chosen pre-trained model.")
            return
        lengths = gen_lengths(min(self.longest.value(), info.context))
        self._banner("")
        for name in list(self.panel.curves):
            self.panel.remove_curve(name)
        self.rows = []
        self._cancel.clear()
        self.progress.setValue(0)
        worker = FunctionWorker(_measure_generation, str(info.folder), lengths, self.batch.value(),
                                self.state.device, self._signals.progress.emit, self._cancel.is_set)
        worker.returned.connect(self._measured)
        worker.errored.connect(lambda exc: self._banner(f"The measurement failed: {exc}"))
        worker.finished.connect(self._finished)
        self._worker = worker
        self.button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.panel.set_title("Training vs generation: measuring…")
        worker.start()

    def _progress(self, done: int, total: int) -> None:
        self.progress.setValue(int(1000 * done / max(1, total)))

    def _measured(self, rows) -> None:
        self.rows = list(rows)
        if not self.rows:
            return
        n = np.array([r.length for r in self.rows], dtype=np.float64)
        series = (np.array([r.train_step_s for r in self.rows]),
                  np.array([r.generate_cached_s for r in self.rows]),
                  np.array([r.generate_uncached_s for r in self.rows]))
        for i, (name, values) in enumerate(zip(CURVES, series)):
            curve = self.panel.add_curve(name, theme.curve_color(i))
            curve.item.setSymbol("o")
            curve.item.setSymbolSize(6)
            curve.item.setSymbolBrush(theme.curve_color(i))
            curve.set_data(n, values)
        self.panel.plot_item.getAxis("bottom").setTicks([[(float(np.log10(v)), f"{int(v):,}") for v in n]])
        self.panel.request_redraw()
        self.panel.redraw_if_visible()
        last = self.rows[-1]
        batch = self.batch.value()
        self.info.setText(
            f"At T = {last.length:,}: one training step over {batch} × {last.length:,} = {batch * last.length:,} "
            f"positions (forward, backward and update, every position scored at once) takes "
            f"<b>{last.train_step_s * 1e3:.1f} ms</b>; generating {last.length:,} tokens one after another takes "
            f"<b>{last.generate_cached_s * 1e3:.1f} ms</b> with the key/value cache and "
            f"<b>{last.generate_uncached_s * 1e3:.1f} ms</b> without. Training is the parallel part: the causal "
            f"mask lets one pass predict every position; generation is sequential, because each token needs the "
            f"one before it. (The cache gave the training pass's logits to within {last.max_diff:.1e}, checked "
            f"before timing.)")
        if last.generate_cached_s > last.generate_uncached_s:
            self.info.setText(self.info.text() + (
                " Here the cache does not pay: for a model this small and sequences this short, its bookkeeping "
                "costs more than recomputing the prefix; it pays for longer sequences and larger models (see "
                "bench/gpt_generation.py: 5.5× faster at T = 512 for a 4 × 128 model)."))

    def _csv(self):
        header = ["length", "train_step_s", "generate_cached_s", "generate_uncached_s"]
        return header, [(r.length, r.train_step_s, r.generate_cached_s, r.generate_uncached_s) for r in self.rows]

    def _finished(self) -> None:
        self._worker = None
        self.button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        cancelled = self._cancel.is_set()
        if not cancelled:
            self.progress.setValue(1000)
        self.panel.set_title("Training vs generation: time for T tokens" + (" (cancelled)" if cancelled else ""))

def _measure_generation(folder: str, lengths, batch: int, device: str, progress, cancelled):
    """In a worker thread: load the pre-trained model and time training against generation."""
    from ...analysis.generation_cost import measure_train_vs_generate
    from ...training.jobs.pretrained import load_pretrained

    model = load_pretrained(folder).build_model()
    return measure_train_vs_generate(model, lengths, batch=batch, device=device, progress=progress,
                                     cancelled=cancelled)
