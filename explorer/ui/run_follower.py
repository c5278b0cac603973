"""Following a recorded run that is still being written (by a process here, or by another machine on a shared
folder): a timer looks at its files every second and shows what is new in its tab; the status bar says how far it
is, and when the run ends or its writer stops."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from ..training.record import RunError, RunRecord, open_run
from ..training.run_follow import FollowState, RunWatch

REDRAW_S = 1.0  # at most one re-read of the whole run (metrics and snapshots) this often
LOOK_S = 0.5  # a look at run.json and the snapshot names: a new snapshot shows within LOOK_S + REDRAW_S


class RunFollower(QObject):
    """Polls one run folder; `show(record)` is called with the re-read run when it has news (new snapshots or a
    new status), at most every REDRAW_S; `changed(str)` carries a one-line progress text, `ended(state)` fires once
    when the run is no longer written."""

    changed = Signal(str)
    ended = Signal(object)  # FollowState

    def __init__(self, folder: str, show: Callable[[RunRecord], None], parent: QObject | None = None,
                 every_s: float = LOOK_S) -> None:
        super().__init__(parent)
        self.folder = folder
        self._show = show
        self.watch = RunWatch(folder)
        self._shown: tuple[int, str] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(int(every_s * 1000))
        self._timer.timeout.connect(self.poll)
        self._redraw = QTimer(self)
        self._redraw.setSingleShot(True)
        self._redraw.setInterval(int(REDRAW_S * 1000))
        self._pending = False
        self._redraw.timeout.connect(self._redraw_due)

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def start(self, shown: RunRecord) -> None:
        """Follow from `shown`, the run as it was opened."""
        self._shown = (len(shown.snapshot_paths), shown.status)
        self.watch.poll()
        self._timer.start()
        self._redraw.start()

    def stop(self) -> None:
        self._timer.stop()
        self._redraw.stop()

    def poll(self) -> None:
        try:
            state, changed = self.watch.poll()
        except RunError as exc:  # e.g. the folder was deleted or a file was damaged while written
            self.stop()
            self.changed.emit(f"Stopped following {self.folder}: {exc}")
            return
        if changed:
            self.changed.emit(self._line(state))
        news = (state.snapshots, state.status) != self._shown
        if news and not state.live:
            self._update()  # the run has ended: show it whole now, then stop
            self.stop()
            self.ended.emit(state)
        elif news:
            self._pending = True
            if not self._redraw.isActive():
                self._redraw_due()

    def _redraw_due(self) -> None:
        if self._pending:
            self._update()
            self._redraw.start()

    def _update(self) -> None:
        self._pending = False
        try:
            record = open_run(self.folder)
        except RunError as exc:
            self.changed.emit(str(exc))
            return
        self._shown = (len(record.snapshot_paths), record.status)
        self._show(record)

    def _line(self, state: FollowState) -> str:
        name = self.watch.folder.name
        if state.live:
            return f"Following {name}: {state.line()}"
        return f"{name}: {state.status_text}"


def follow_in_window(window, folder: str, tab, record: RunRecord) -> RunFollower:
    """Follow `folder` (opened as `record` in `tab`) in the main window: the tab shows each news, the status bar
    says how far it is and when the run ends or its writer stops."""
    def show(rec: RunRecord) -> None:
        tab.show_run(rec)
        if rec.status == "interrupted":
            tab.show_banner(f"This run's writer has stopped: {rec.status_text}.")

    def ended(state: FollowState) -> None:
        what = "its writer has stopped" if state.status == "interrupted" else "it has ended"
        window.statusBar().showMessage(f"No longer following {Path(folder).name}: {what} ({state.status_text}).",
                                       30000)

    follower = RunFollower(folder, show, window)
    follower.changed.connect(lambda text: window.statusBar().showMessage(text, 5000))
    follower.ended.connect(ended)
    follower.start(record)
    window.statusBar().showMessage(f"Following {Path(folder).name}, which is still being written: "
                                   f"{record.status_text}", 5000)
    return follower
