"""Pick PySide6 for pyqtgraph and superqt (qtpy) before either is imported: the one place this is decided."""
from __future__ import annotations

import os


def choose_pyside6() -> None:
    """Make pyqtgraph and qtpy use PySide6 even when PyQt is installed too."""
    os.environ.setdefault("QT_API", "pyside6")
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
