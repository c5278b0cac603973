"""What every training tab shares: one job at a time through the app's runner, a message banner, replay."""
from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QTabWidget, QVBoxLayout, QWidget

from ...paths import runs_dir
from ...state.base import RunSource
from ...training.job import Job
from ...training.record import RunError, RunRecord, RunRecorder, new_run_folder, open_run
from ...training.runner import Tick
from ..app_state import AppState
from ..widgets.param_form import ParamForm

BANNER_STYLE = ("QLabel#banner { background: #fde2e1; color: #7a1010; padding: 6px; border: 1px solid #e0a0a0; "
                "border-radius: 4px; }")


class JobTab(QWidget):
    """Base of a tab that trains jobs: subclasses set `kinds`, `form`, and implement `show_run`."""

    kinds: tuple[str, ...] = ()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.runner = state, state.runner
        self.form: ParamForm | None = None
        self._live_folder = None
        self._record: RunRecord | None = None
        self.banner = QLabel("")
        self.banner.setWordWrap(True)
        self.banner.setObjectName("banner")
        self.banner.setVisible(False)
        self.banner.setStyleSheet(BANNER_STYLE)
        self.runner.ended.connect(self._job_ended)

    def handles(self, kind: str) -> bool:
        """True if this tab can show a run of this kind of job."""
        return kind in self.kinds

    def _mine(self) -> bool:
        """True when the runner's current job was started from this tab."""
        return self.runner.owner is self

    def show_banner(self, text: str) -> None:
        """Show a message above the plots (empty text hides it)."""
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def show_verdict(self, html: str, holds: bool) -> None:
        """Show a lesson's verdict above the plots: green when the claim holds, amber when it does not."""
        colours = ("#e3f4e1", "#14521a", "#9fd19a") if holds else ("#fdf0d8", "#6b4500", "#e5c07b")
        self.banner.setStyleSheet("QLabel#banner {{ background: {}; color: {}; padding: 6px; border: 1px solid {}; "
                                  "border-radius: 4px; }}".format(*colours))
        self.banner.setText(html)
        self.banner.setVisible(True)

    def form_is_ready(self) -> bool:
        """True if the form holds valid settings; otherwise say why in the banner."""
        if self.form.is_valid():
            return True
        self.show_banner("Fix the settings first: " + "; ".join(self.form.errors().values()))
        return False

    def start_job(self, job: Job) -> None:
        """Run `job` (stopping any other), recording it in a new run folder."""
        self._live_folder = new_run_folder(runs_dir(), job.kind)
        self.show_banner("")
        self.runner.start(job, recorder=RunRecorder(self._live_folder), owner=self, corpora=self.state.corpora)
        self.form.set_running(True)

    def on_live_value(self, name: str, value) -> None:
        """Pass a live setting (the learning rate, or any field marked live) to the running job."""
        if self._mine() and self.runner.is_active():
            self.runner.set_live(name, value)

    def _job_ended(self, tick: Tick) -> None:
        if not self._mine():
            return
        self.form.set_running(False)
        if tick.status in ("diverged", "failed"):
            self.show_banner(tick.message)
        else:
            self.state.message.emit(tick.message, 10000)
        self.job_ended(tick)
        if self._live_folder is not None and tick.status != "failed":
            with contextlib.suppress(RunError):  # what the run drew is on screen already: only its timeline is new
                self.show_run(open_run(self._live_folder, with_metrics=False), keep_curve=True)

    def job_ended(self, tick: Tick) -> None:
        """Hook: a job of this tab ended (before its run is offered for replay)."""

    def recorded_snapshot(self, index: int):
        """Snapshot `index` of the run on the timeline, or None (a damaged file is reported in the banner)."""
        if self._record is None or not self._record.snapshot_paths:
            return None
        try:
            return self._record.load_snapshot(index)
        except RunError as exc:
            self.show_banner(str(exc))
            return None

    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        raise NotImplementedError


def run_source(record: RunRecord) -> RunSource:
    """A recorded run as a tab's state reads it (config, metrics, snapshot steps, a loader)."""
    return RunSource(record.config, record.metrics, record.snapshot_steps(), record.load_snapshot, record.kind,
                     dict(record.info))


def side_panel(content: QWidget, min_width: int, max_width: int, frame: bool = True) -> QScrollArea:
    """The settings column on the left of a tab: scrolls vertically, never sideways, keeps its width."""
    scroll = QScrollArea()
    scroll.setWidget(content)
    scroll.setWidgetResizable(True)
    if not frame:
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setMinimumWidth(min_width)
    scroll.setMaximumWidth(max_width)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return scroll


class _Fitted(QWidget):
    """Holds a figure area in a scroll area: as tall as the viewport, or its minimum height when that is more.
    (A scroll area gives content with wrapped labels its preferred height for the width, and a layout's
    preferred height is its plots' preferred heights: far more than the room, every panel scrolled.)"""

    def __init__(self, content: QWidget) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(content)

    def heightForWidth(self, width: int) -> int:
        return -1


def fit_area(content: QWidget) -> QScrollArea:
    """A tab's figure area: fills the room it is given and scrolls, instead of growing the window past the
    screen, when that room is below what its panels need (a 1280x720 projector, a 1366x768 laptop)."""
    scroll = QScrollArea()
    scroll.setWidget(_Fitted(content))
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    return scroll


class FitPages(QTabWidget):
    """A tab's pages, each in a `fit_area`: a page scrolls instead of growing the window on a small screen.
    `widget`, `currentWidget`, `setCurrentWidget` and `indexOf` speak of the pages themselves."""

    def addTab(self, page: QWidget, title: str) -> int:
        area = fit_area(page)
        area.setProperty("page", page)
        return super().addTab(area, title)

    def widget(self, index: int) -> QWidget | None:
        area = super().widget(index)
        return area.property("page") if area is not None else None

    def currentWidget(self) -> QWidget | None:
        return self.widget(self.currentIndex())

    def indexOf(self, page: QWidget) -> int:
        return next((i for i in range(self.count()) if self.widget(i) is page), -1)

    def setCurrentWidget(self, page: QWidget) -> None:
        index = self.indexOf(page)
        if index >= 0:
            self.setCurrentIndex(index)
