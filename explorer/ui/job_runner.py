"""The one thin Qt adapter of the engine: runs a job in a superqt GeneratorWorker and hands its ticks to the UI.

superqt provides the thread (a QRunnable in the global pool), the yielded/finished/errored signals and abort
between yields. Pause, single steps, stop, speed and the learning rate go through JobControl instead of
superqt's pause/send, because send keeps only one pending value and pause cannot say "advance exactly one
step and hold". Snapshots are coalesced: the UI is told of the newest one at most `max_fps` times a second.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator, Mapping

from PySide6.QtCore import QObject, QThreadPool, QTimer, Signal
from superqt.utils import GeneratorWorker

from ..data.corpus import Corpus
from ..training.control import JobControl
from ..training.job import Job
from ..training.record import RunRecorder
from ..training.runner import ENDED, FAILED, Tick, run_job

_ids = itertools.count(1)


def _signalling_end(done: threading.Event, *args, **kwargs) -> Iterator:
    """run_job(*args, **kwargs), setting `done` when it has returned (or failed), whoever waits for it."""
    try:
        return (yield from run_job(*args, **kwargs))
    finally:
        done.set()


class JobRunner(QObject):
    """Starts, steers and stops one job at a time; emits what the UI needs, never blocking on the job."""

    started = Signal(object)  # the Job
    progress = Signal(object)  # every Tick, in order (metric rows are never dropped)
    display = Signal(object)  # the newest Tick at most ~5 times a second, for progress bars and rate labels
    snapshotReady = Signal(object)  # the newest Snapshot, coalesced, at most max_fps per second
    statusChanged = Signal(str)  # running / paused / finished / stopped / diverged / failed
    ended = Signal(object)  # the final Tick (status, message)

    def __init__(self, parent: QObject | None = None, max_fps: float = 30.0) -> None:
        super().__init__(parent)
        self._worker: GeneratorWorker | None = None
        self._done = threading.Event()
        self._control: JobControl | None = None
        self._job: Job | None = None
        self.owner: object | None = None  # who started the current job (a tab), so that others leave it alone
        self._run_id = 0
        self._latest = None
        self._status = "idle"
        self._final: Tick | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(1000 / max_fps)))
        self._timer.timeout.connect(self._flush)
        self.snapshots_received = 0
        self.snapshots_emitted = 0
        self._latest_tick: Tick | None = None
        self._last_display = 0.0

    # -- state ------------------------------------------------------------------------------------------
    @property
    def job(self) -> Job | None:
        return self._job

    @property
    def status(self) -> str:
        return self._status

    def is_active(self) -> bool:
        """True while a job is set up, running or paused."""
        return self._worker is not None

    # -- commands ---------------------------------------------------------------------------------------
    def start(self, job: Job, recorder: RunRecorder | None = None, paused: bool = False,
              owner: object | None = None, corpora: Mapping[str, Corpus] | None = None) -> None:
        """Run `job` in the background (stopping the one that runs now, if any) on behalf of `owner`; `corpora`
        are the corpora already in memory, by spec, that the job need not read again."""
        self.stop(wait_ms=5000)
        self._run_id = run_id = next(_ids)
        self._job, self._control, self.owner = job, JobControl(paused=paused), owner
        self._latest, self._final = None, None
        self.snapshots_received = self.snapshots_emitted = 0
        self._done = done = threading.Event()
        worker = GeneratorWorker(_signalling_end, done, job, self._control, corpora=dict(corpora or {}),
                                 recorder=recorder)
        worker.yielded.connect(lambda tick, rid=run_id: self._on_tick(rid, tick))
        worker.returned.connect(lambda tick, rid=run_id: self._on_return(rid, tick))
        worker.errored.connect(lambda exc, rid=run_id: self._on_error(rid, exc))
        worker.finished.connect(lambda rid=run_id: self._on_finished(rid))
        self._worker = worker
        self._set_status("paused" if paused else "running")
        self.started.emit(job)
        self._timer.start()
        worker.start()

    def pause(self) -> None:
        if self._control:
            self._control.pause()
            self._set_status("paused")

    def resume(self) -> None:
        if self._control:
            self._control.resume()
            self._set_status("running")

    def step(self, n: int = 1) -> None:
        """Advance exactly `n` steps, then hold."""
        if self._control:
            self._control.step(n)
            self._set_status("paused")

    def set_lr(self, lr: float) -> None:
        if self._control:
            self._control.set_lr(lr)

    def set_live(self, name: str, value: object) -> None:
        """Pass a live setting to the running job (applied before its next step)."""
        if self._control:
            self._control.set_live(name, value)

    def set_speed(self, steps_per_second: float | None) -> None:
        if self._control:
            self._control.set_speed(steps_per_second)

    def stop(self, wait_ms: int = 0) -> bool:
        """Ask the running job to stop; with `wait_ms`, wait that long for its thread to end. True if none runs."""
        worker, control = self._worker, self._control
        if worker is None:
            return True
        control.stop()  # the runner honours it within one step; quit() would skip its clean-up
        if wait_ms > 0:  # wait for this job alone, never for other work in the global pool
            return self._done.wait(wait_ms / 1000.0)
        return False

    def shutdown(self, wait_ms: int = 10000) -> bool:
        """Stop everything before the application quits; True when no worker thread is left."""
        self.stop(wait_ms=wait_ms)
        self._timer.stop()
        self._flush()
        return QThreadPool.globalInstance().waitForDone(wait_ms)

    # -- from the worker thread (queued into this thread by Qt) ----------------------------------------
    def _on_tick(self, run_id: int, tick: Tick | None) -> None:
        if run_id != self._run_id or tick is None:
            return
        if tick.snapshot is not None:
            self._latest = tick.snapshot
            self.snapshots_received += 1
        if tick.status != self._status and tick.status in ("running", "paused"):
            self._set_status(tick.status)
        self._latest_tick = tick
        self.progress.emit(tick)

    def _on_return(self, run_id: int, tick: Tick) -> None:
        if run_id == self._run_id and isinstance(tick, Tick):
            self._final = tick

    def _on_error(self, run_id: int, exc: BaseException) -> None:
        if run_id == self._run_id:
            self._final = Tick(0, 0, FAILED, {}, message=f"The job failed: {type(exc).__name__}: {exc}")

    def _on_finished(self, run_id: int) -> None:
        if run_id != self._run_id:
            return
        self._flush()
        final = self._final or Tick(0, 0, "stopped", {}, message="Stopped.")
        self._worker, self._control = None, None
        self._timer.stop()
        if final.metrics:
            self.progress.emit(final)
        if final.step:
            self.display.emit(final)
        self._set_status(final.status if final.status in ENDED else "stopped")
        self.ended.emit(final)

    def _flush(self) -> None:
        tick = self._latest_tick
        now = time.perf_counter()
        if tick is not None and (now - self._last_display >= 0.2 or tick.status == "paused"):
            self._latest_tick, self._last_display = None, now
            self.display.emit(tick)
        snap, self._latest = self._latest, None
        if snap is not None:
            self.snapshots_emitted += 1
            self.snapshotReady.emit(snap)

    def _set_status(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self.statusChanged.emit(status)
