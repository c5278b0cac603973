"""A QApplication for drawing figures without a window (the command line's export)."""
from __future__ import annotations

import os


def headless_app():
    """The running QApplication, or a new one on the offscreen platform with the bundled fonts registered."""
    os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtGui import QFont, QFontDatabase
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is not None:
        return app
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication(["sequence-model-explorer-export"])
    from ..paths import RESOURCES

    for path in sorted((RESOURCES / "fonts").glob("*.ttf")):
        QFontDatabase.addApplicationFont(str(path))
    font = QFont("DejaVu Sans")
    font.setPointSizeF(9.0)
    QApplication.setFont(font)
    return app
