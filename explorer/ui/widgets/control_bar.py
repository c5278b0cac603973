"""The training control bar: start / pause / step / stop, speed, progress and throughput, bound to a JobRunner."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ...training.runner import Tick
from ..job_runner import JobRunner

SPEEDS = (("Full speed", None), ("100 steps/s", 100.0), ("10 steps/s", 10.0), ("2 steps/s", 2.0))


def format_rate(rate: float, unit: str) -> str:
    """'412k words/s' style throughput text."""
    if rate >= 1e6:
        return f"{rate / 1e6:.2f}M {unit}"
    if rate >= 1e4:
        return f"{rate / 1e3:.0f}k {unit}"
    return f"{rate:.1f} {unit}" if rate < 100 else f"{rate:.0f} {unit}"


class ControlBar(QWidget):
    """Buttons that drive one JobRunner for one tab; `startRequested` asks the tab to build and start its job."""

    startRequested = Signal()

    def __init__(self, runner: JobRunner, owner: object, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner, self.owner = runner, owner
        self.start_text = "Train"
        self.train_btn = QPushButton(self.start_text)
        self.train_btn.setToolTip("Start training with the settings in the form (stops any job that runs)")
        self.pause_btn = QPushButton("Pause")
        self.pause_btn.setToolTip("Pause or resume the job")
        self.step_btn = QPushButton("Step")
        self.step_btn.setToolTip("Advance exactly one training step, then hold")
        self.stop_btn = QPushButton("Stop")
        self.speed = QComboBox()
        for text, value in SPEEDS:
            self.speed.addItem(text, value)
        self.speed.setToolTip("Slow training down to watch it step by step")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)  # a reset bar shows no text at all
        self.rate = QLabel("")
        self.rate.setMinimumWidth(120)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (self.train_btn, self.pause_btn, self.step_btn, self.stop_btn, self.speed):
            lay.addWidget(w)
        lay.addWidget(self.progress, 1)
        lay.addWidget(self.rate)
        self.train_btn.clicked.connect(self.startRequested)
        self.pause_btn.clicked.connect(self._toggle_pause)
        self.step_btn.clicked.connect(lambda: self.runner.step(1))
        self.stop_btn.clicked.connect(lambda: self.runner.stop())
        self.speed.currentIndexChanged.connect(lambda _i: self.runner.set_speed(self.speed.currentData()))
        runner.statusChanged.connect(self._on_status)
        runner.display.connect(self._on_progress)
        runner.started.connect(lambda _job: self._on_status(runner.status))
        self._on_status("idle")

    def mine(self) -> bool:
        """True when the runner's current job was started from this bar's tab."""
        return self.runner.owner is self.owner

    def set_start_text(self, text: str) -> None:
        """What the start button says while nothing of this tab runs (e.g. "Pre-train" or "Fine-tune")."""
        self.start_text = text
        self._on_status(self.runner.status)

    def _toggle_pause(self) -> None:
        if self.runner.status == "paused":
            self.runner.resume()
        else:
            self.runner.pause()

    def _on_status(self, status: str) -> None:
        active = self.runner.is_active() and self.mine()
        self.pause_btn.setEnabled(active)
        self.step_btn.setEnabled(active)
        self.stop_btn.setEnabled(active)
        self.pause_btn.setText("Resume" if active and status == "paused" else "Pause")
        self.train_btn.setText("Restart" if active else self.start_text)
        if active:
            self.runner.set_speed(self.speed.currentData())
        if not active and self.mine() and status not in ("running", "paused"):
            self.progress.setFormat(f"{status} · step %v" if status != "idle" else "idle")
            self.rate.setText("")
        elif self.runner.is_active() and not self.mine():  # never show a stale step of this tab's last job
            job = self.runner.job
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            owner = self.runner.owner
            where = "as a lesson" if getattr(owner, "objectName", str)() == "lessons_dock" else "in another tab"
            self.progress.setFormat(f"{job.title if job else 'a job'} runs {where}; Train here stops it")
            self.rate.setText("")
        elif not self.runner.is_active() and not self.mine():  # that other job has ended
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            self.progress.setFormat("idle")

    def _on_progress(self, tick: Tick) -> None:
        if not self.mine():
            return
        total = max(1, tick.total)
        self.progress.setRange(0, total)
        self.progress.setValue(tick.step)
        self.progress.setFormat(f"step %v of {tick.total} (%p%)")
        if tick.throughput > 0:
            self.rate.setText(format_rate(tick.throughput, tick.unit))
