"""Adaptive frame pacing: a live view draws as often as it can while spending at most a share of the UI's time."""
from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


class FrameBudget(QObject):
    """Calls `draw()` for the newest data at most `max_fps` times a second and so that drawing (measured up to
    the end of the paint it causes) takes at most `share` of wall time; data that arrives meanwhile is coalesced."""

    def __init__(self, draw: Callable[[], float | None], max_fps: float = 30.0, share: float = 0.12,
                 min_fps: float = 2.0, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._draw = draw
        self.min_interval = 1.0 / max_fps
        self.max_interval = 1.0 / min_fps  # a live view never freezes, however costly its frames
        self.share = share
        self.cost = 0.0
        self._last = -1e9
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.request)
        self.frames = 0

    def interval(self) -> float:
        """Seconds between frames at the current measured cost."""
        wanted = self.cost / self.share if self.share > 0 else 0.0
        return min(self.max_interval, max(self.min_interval, wanted))

    def request(self) -> None:
        """New data is waiting: draw now if the budget allows, else once, when it does."""
        wait = self._last + self.interval() - time.perf_counter()
        if wait <= 0:
            self._fire()
        elif not self._timer.isActive():
            self._timer.start(int(wait * 1000) + 1)

    def stop(self) -> None:
        self._timer.stop()

    def _fire(self) -> None:
        self._timer.stop()
        t0 = time.perf_counter()
        self._last = t0
        self._draw()
        # the paint that the draw scheduled runs before a zero timer started now: time up to it
        QTimer.singleShot(0, self, lambda: self._measured(time.perf_counter() - t0))

    def _measured(self, spent: float) -> None:
        if self.frames > 0:  # the first frame builds the items once: not a measure of the frames to come
            self.cost = spent if self.frames == 1 else 0.7 * self.cost + 0.3 * spent
        self.frames += 1
