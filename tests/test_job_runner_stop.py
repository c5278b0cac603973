"""Stopping a job waits for that job only: unrelated work in the global thread pool never freezes Restart."""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QRunnable, QThreadPool

from explorer.ui.job_runner import JobRunner
from tiny_jobs import RegressionConfig, RegressionJob


class _Sleeper(QRunnable):
    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def run(self) -> None:
        self.release.wait(10)


def test_stop_does_not_wait_for_other_work_in_the_global_pool(qtbot):
    release = threading.Event()
    QThreadPool.globalInstance().start(_Sleeper(release))  # e.g. a projection that takes seconds
    runner = JobRunner()
    try:
        ticks = []
        runner.progress.connect(ticks.append)
        runner.start(RegressionJob(RegressionConfig(steps=10_000_000)))
        qtbot.waitUntil(lambda: len(ticks) > 0, timeout=20000)  # set up and training
        t0 = time.perf_counter()
        assert runner.stop(wait_ms=5000)  # the job itself has ended
        assert time.perf_counter() - t0 < 2.0
    finally:
        release.set()
        assert runner.shutdown(10000)
