"""QApplication set-up and main-window assembly; torch is imported only after the window is on screen."""
from __future__ import annotations

import sys

from .qt_binding import choose_pyside6

choose_pyside6()

from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402


def create_window(device_preference: str = "auto", theme_name: str | None = None, warm: bool = True):
    """Build the application (if needed) and the main window; start the background warm-up. The theme is
    `theme_name` when given, else the one the app had when it last closed, else light."""
    from . import APP_NAME
    from .ui import theme
    from .ui.app_state import AppState
    from .ui.main_window import MainWindow
    from .ui.settings import remembered_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    theme.register_fonts()
    theme.apply_theme(app, theme_name or remembered_theme() or "light")
    state = AppState(device_preference)
    window = MainWindow(state)
    if warm:
        QTimer.singleShot(0, lambda: start_warmup(window))
    return app, window


def start_warmup(window) -> None:
    """Import torch and pick the device off the UI thread, then show the device in the status bar."""
    from superqt.utils import FunctionWorker

    from .warmup import warm_up

    worker = FunctionWorker(warm_up, window.state.device_preference)

    def done(info: dict) -> None:
        window.state.set_device(info["device"], info["text"])
        if info["warning"]:
            window.statusBar().showMessage(info["warning"], 20000)
            QMessageBox.warning(window, "Device", info["warning"])

    worker.returned.connect(done)
    worker.errored.connect(lambda exc: window.state.set_device("cpu", f"CPU (torch failed to start: {exc})"))
    window._warmup_worker = worker
    worker.start()


def run_app(device_preference: str = "auto", theme_name: str | None = None) -> int:
    """Open the main window and run the event loop until it closes (theme None: the remembered one)."""
    app, window = create_window(device_preference, theme_name)
    window.show()
    return app.exec()
