"""The main window's Lessons menu and dock: choosing a lesson switches to its tab and runs it; when the run ends,
its tab shows the recorded run and the verdict (the dock keeps the lesson's figures and verdict too)."""
from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMainWindow, QMenu

from ..lessons import TOPICS, Lesson, Verdict

DOCK_WIDTH = 440  # px: the dock's width beside the window, or as a window of its own


class LessonsMenu:
    """Builds the menu now (cheap) and the dock on first use (it imports every lesson and state)."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        self.dock = None
        self.menu = QMenu("&Lessons", window)
        self.menu.aboutToShow.connect(self._fill)
        window.menuBar().insertMenu(window.menus["help"].menuAction(), self.menu)
        self.show_action = QAction("Show the lessons", window)
        self.show_action.setShortcut("Ctrl+L")
        self.show_action.triggered.connect(lambda _c=False: self.show_dock())
        window.addAction(self.show_action)
        self._filled = False

    def _fill(self) -> None:
        if self._filled:
            return
        from ..lessons import all_lessons

        self._filled = True
        self.menu.addAction(self.show_action)
        self.menu.addSeparator()
        for topic in TOPICS:
            sub = self.menu.addMenu(topic)
            for lesson in (x for x in all_lessons() if x.topic == topic):
                act = sub.addAction(lesson.name)
                act.setToolTip(lesson.claim)
                act.setStatusTip(lesson.claim)
                act.triggered.connect(lambda _c=False, name=lesson.name: self.run(name))
            sub.setToolTipsVisible(True)

    def show_dock(self):
        """The Lessons dock, built and shown."""
        if self.dock is None:
            from .lessons_dock import LessonsDock

            self.dock = LessonsDock(self.window.state, self.window)
            self.dock.lessonStarted.connect(self._started)
            self.dock.verdictReady.connect(self._decided)
            self.window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
            self.window.resizeDocks([self.dock], [DOCK_WIDTH], Qt.Orientation.Horizontal)
            self._float_if_narrow()
        self.dock.show()
        self.dock.raise_()
        return self.dock

    def _screen_room(self) -> QRect | None:
        """The free area of the window's screen; None without a real screen (the offscreen platform)."""
        if QGuiApplication.platformName() == "offscreen":
            return None
        screen = self.window.screen()
        return screen.availableGeometry() if screen is not None else None

    def _float_if_narrow(self) -> None:
        """On a screen too narrow for the window and the dock side by side (a 1280 or 1366 px laptop or
        projector), the dock opens as a window of its own at the screen's right edge: the main window keeps
        fitting the screen. Dragging it back onto the window docks it again."""
        room = self._screen_room()
        if room is None or self.window.minimumSizeHint().width() + self.dock.minimumWidth() <= room.width():
            return
        self.dock.setFloating(True)
        height = min(room.height(), max(self.window.height(), 480))
        self.dock.setGeometry(room.x() + room.width() - DOCK_WIDTH, room.y(), DOCK_WIDTH, height)

    def run(self, name: str, quick: bool = False) -> bool:
        """Run the lesson called `name` (as its menu entry does; `quick`: its seconds-long size)."""
        from ..lessons.runner import find_lesson

        return self.show_dock().run_lesson(find_lesson(name), quick)

    def _started(self, lesson: Lesson) -> None:
        tab = self.window._tab(lesson.tab)
        self.window.tabs.setCurrentWidget(tab)
        if hasattr(tab, "show_banner"):
            tab.show_banner("")

    def _decided(self, lesson: Lesson, verdict: Verdict) -> None:
        from .lessons_dock import verdict_html
        folder = self.dock.folder / "run"
        has_tab = self.window.tab_name_for_kind(lesson.kind) is not None  # measurements live in the dock
        shown = self.window.open_run(str(folder), show_dialogs=False) if has_tab else False
        tab = self.window.tabs.currentWidget() if shown else self.window._tab(lesson.tab)
        if not shown:
            self.window.tabs.setCurrentWidget(tab)
        if hasattr(tab, "show_verdict"):
            tab.show_verdict(verdict_html(lesson, verdict), verdict.holds)
        self.window.statusBar().showMessage(f"Lesson {lesson.name}: {verdict.line}", 20000)
