"""The Lessons dock: every claim of the lecture, grouped by topic; one click runs its experiment, draws the lesson's
figures live and states the verdict that the run's own numbers give (in the dock and in the lesson's tab)."""
from __future__ import annotations

import contextlib
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..lessons import TOPICS, Lesson, Verdict, all_lessons
from ..lessons.runner import RUN_FOLDER, LessonError, LessonOutcome, lesson_job, verdict_of_run, write_verdict
from ..paths import runs_dir
from ..state import state_for_kind
from ..training.record import RunRecorder, new_run_folder
from ..training.runner import Tick
from .app_state import AppState
from .widgets.plot_panel import PlotPanel

VERDICT_STYLE = {
    True: "background: #e3f4e1; color: #14521a; border: 1px solid #9fd19a;",
    False: "background: #fdf0d8; color: #6b4500; border: 1px solid #e5c07b;",
}


def verdict_html(lesson: Lesson, verdict: Verdict) -> str:
    """The verdict as the dock and the tabs show it: the lesson, holds or not (bold), the deciding numbers."""
    head = "Holds" if verdict.holds else "Does not hold"
    return f"<b>Lesson “{lesson.name}”: {head}.</b> {verdict.evidence}"


class LessonsDock(QDockWidget):
    """Lists the lessons; runs one through the app's runner and shows its figures and verdict."""

    lessonStarted = Signal(object)  # the Lesson
    verdictReady = Signal(object, object)  # the Lesson, its Verdict

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Lessons", parent)
        self.setObjectName("lessons_dock")
        self.app_state, self.runner = state, state.runner
        self.lesson: Lesson | None = None
        self.folder: Path | None = None
        self.verdict: Verdict | None = None
        self.view = None  # the state of the running lesson's kind (its figures)
        self._names: list[str] = []
        self._dirty = False
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.items: dict[str, QTreeWidgetItem] = {}
        for topic in TOPICS:
            top = QTreeWidgetItem([topic])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.tree.addTopLevelItem(top)
            for lesson in (x for x in all_lessons() if x.topic == topic):
                item = QTreeWidgetItem([lesson.name])
                item.setToolTip(0, lesson.claim)
                item.setData(0, Qt.ItemDataRole.UserRole, lesson.name)
                top.addChild(item)
                self.items[lesson.name] = item
            top.setExpanded(True)
        self.tree.currentItemChanged.connect(self._chosen)
        self.tree.itemDoubleClicked.connect(lambda item, _c: self.run_lesson(self._lesson_of(item)))
        self.claim = QLabel("Choose a lesson: its claim, in the lecture's words, appears here.")
        self.claim.setWordWrap(True)
        self.run_button = QPushButton("Run lesson")
        self.run_button.setToolTip("Run the experiment that decides the claim (its tab shows the run when it ends)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.verdict_label = QLabel("")
        self.verdict_label.setWordWrap(True)
        self.verdict_label.setObjectName("verdict")
        self.verdict_label.setVisible(False)
        self.panels = [PlotPanel("Lesson figure")]  # one of the lesson's figures, live; the deciding one first
        self.figure_box = QComboBox()
        self.figure_box.setToolTip("Which of the lesson's figures the dock shows")
        self.figure_box.setVisible(False)
        self.figure_box.currentIndexChanged.connect(self._figure_chosen)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.stop_button)
        buttons.addWidget(self.progress, 1)
        self.tree.setMinimumHeight(190)
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tree, 2)
        lay.addWidget(self.claim)
        lay.addLayout(buttons)
        lay.addWidget(self.verdict_label)
        lay.addWidget(self.figure_box)
        for panel in self.panels:
            panel.setMinimumHeight(220)
            panel.setVisible(False)
            lay.addWidget(panel, 3)
        self.setWidget(box)
        self.setMinimumWidth(380)
        self.run_button.clicked.connect(lambda: self.run_lesson(self.current_lesson()))
        self.stop_button.clicked.connect(self.stop)
        self.runner.progress.connect(self._progress)
        self.runner.snapshotReady.connect(self._snapshot)
        self.runner.ended.connect(self._ended)
        self._timer = QTimer(self)
        self._timer.setInterval(150)
        self._timer.timeout.connect(self._redraw)

    # -- choosing ------------------------------------------------------------------------------------------
    def _lesson_of(self, item: QTreeWidgetItem | None) -> Lesson | None:
        name = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return next((x for x in all_lessons() if x.name == name), None) if name else None

    def current_lesson(self) -> Lesson | None:
        """The lesson chosen in the list."""
        return self._lesson_of(self.tree.currentItem())

    def choose(self, name: str) -> None:
        """Select a lesson in the list (shows its claim)."""
        self.tree.setCurrentItem(self.items[name])

    def _chosen(self, item, _previous=None) -> None:
        lesson = self._lesson_of(item)
        self.run_button.setEnabled(lesson is not None)
        if lesson is not None:
            self.claim.setText(f"<b>{lesson.topic} — {lesson.name}</b> (tab: {lesson.tab})<br>{lesson.claim}")

    # -- running -------------------------------------------------------------------------------------------
    def _mine(self) -> bool:
        return self.runner.owner is self

    def run_lesson(self, lesson: Lesson | None, quick: bool = False) -> bool:
        """Run `lesson`'s experiment in a new lesson folder; False (and a message) if it cannot start."""
        if lesson is None:
            return False
        self.choose(lesson.name)
        try:
            job = lesson_job(lesson, self.app_state.device, quick)
        except LessonError as exc:
            self._say(str(exc), None)
            return False
        self.lesson, self.verdict = lesson, None
        self.folder = new_run_folder(runs_dir() / "lessons", lesson.name)
        self.view = state_for_kind(lesson.kind)
        self.view.reset(job.config)
        self.view.changed.connect(self._changed)
        figures = [n for n in lesson.figures if n in self.view.figure_names]
        self.figure_box.blockSignals(True)
        self.figure_box.clear()
        for name in figures:
            self.figure_box.addItem(name, name)
        self.figure_box.blockSignals(False)
        self.figure_box.setVisible(len(figures) > 1)
        self._names = figures[: len(self.panels)]
        for i, panel in enumerate(self.panels):
            panel.setVisible(i < len(self._names))
        self._say("Running… the verdict comes from this run's numbers when it ends.", None)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self.stop_button.setEnabled(True)
        self.run_button.setEnabled(False)
        self.lessonStarted.emit(lesson)
        self.runner.start(job, recorder=RunRecorder(self.folder / RUN_FOLDER), owner=self,
                          corpora=self.app_state.corpora)
        self._timer.start()
        self._redraw(force=True)
        return True

    def stop(self) -> None:
        if self._mine():
            self.runner.stop()

    def _progress(self, tick: Tick) -> None:
        if self._mine() and self.view is not None:
            if tick.metrics:
                self.view.take_metrics(tick.metrics)
            self.progress.setRange(0, max(1, tick.total))
            self.progress.setValue(tick.step)

    def _snapshot(self, snap) -> None:
        if self._mine() and self.view is not None:
            self.view.take_snapshot(snap)

    def _figure_chosen(self, index: int) -> None:
        name = self.figure_box.itemData(index)
        if name:
            self._names = [name]
            self._redraw(force=True)

    def _changed(self, _names=()) -> None:
        self._dirty = True

    def _redraw(self, force: bool = False) -> None:
        if self.view is None or not (self._dirty or force) or not self.isVisible():
            return
        self._dirty = False
        for name, panel in zip(self._names, self.panels, strict=False):
            panel.show_figure(self.view.figure(name))

    def _ended(self, tick: Tick) -> None:
        if not self._mine() or self.lesson is None:
            return
        self._timer.stop()
        self._redraw(force=True)
        self.progress.setVisible(False)
        self.stop_button.setEnabled(False)
        self.run_button.setEnabled(True)
        lesson = self.lesson
        if tick.status == "failed":
            verdict = Verdict(False, f"undecided: {tick.message}")
        else:
            verdict = verdict_of_run(lesson, self.folder / RUN_FOLDER)
        self.verdict = verdict
        with contextlib.suppress(OSError):
            write_verdict(LessonOutcome(lesson, verdict, self.folder, tick.elapsed, tick),
                          device=self.app_state.device)
        self._say(verdict_html(lesson, verdict), verdict.holds)
        self.verdictReady.emit(lesson, verdict)

    def _say(self, html: str, holds: bool | None) -> None:
        self.verdict_label.setText(html)
        self.verdict_label.setVisible(bool(html))
        style = VERDICT_STYLE.get(holds, "border: 1px solid #b0b0b0;") if holds is not None else \
            "border: 1px solid #b0b0b0;"
        self.verdict_label.setStyleSheet(f"QLabel#verdict {{ {style} padding: 6px; border-radius: 4px; }}")

    def shutdown(self) -> None:
        self._timer.stop()
