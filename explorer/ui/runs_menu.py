"""File > Recorded runs…: the menu item, and the browser made on first use. Kept apart from runs_browser so that
start-up does not import the runs index (and with it every job kind) before the window shows."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QWidget


class _CloseWatcher(QObject):
    """Shuts the browser's background work down when the main window closes."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Close:
            browser = getattr(obj, "runs_browser", None)
            if browser is not None:
                browser.shutdown()
                browser.close()
        return False


def show_runs_browser(window, root: str | Path | None = None):
    """The window's runs browser (a RunsBrowser made on first use, on the app's runs folder), shown and
    refreshed."""
    browser = getattr(window, "runs_browser", None)
    if browser is None:
        from ..paths import runs_dir
        from .runs_browser import RunsBrowser

        browser = RunsBrowser(root if root is not None else runs_dir(), window.open_run, window)
        window.runs_browser = browser
    browser.present()
    return browser


def install_runs_browser(window) -> QAction:
    """Add File > Recorded runs… (after Open run…) to the main window; it opens the runs browser."""
    menu = window.menus["file"]
    action = QAction("Recorded r&uns…", window)
    action.setShortcut("Ctrl+Shift+R")
    action.setStatusTip("Every recorded run: open, rename, delete, and the disk they use")
    action.triggered.connect(lambda _c=False: show_runs_browser(window))
    actions = menu.actions()
    after = next((i for i, a in enumerate(actions) if a.text().replace("&", "").startswith("Open run")), None)
    if after is not None and after + 1 < len(actions):
        menu.insertAction(actions[after + 1], action)
    else:
        menu.addAction(action)
    window.runs_browser = None
    window._runs_browser_watcher = _CloseWatcher(window)
    state = getattr(window, "state", None)
    if state is not None:  # a run that ends adds a row: refresh an open browser
        state.runner.ended.connect(lambda _tick: window.runs_browser.refresh()
                                   if window.runs_browser is not None and window.runs_browser.isVisible() else None)
    return action
