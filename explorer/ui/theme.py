"""Light and dark themes: fonts, the Qt palette, pyqtgraph's colours and the curve palette."""
from __future__ import annotations

import weakref
from typing import Protocol

import pyqtgraph as pg
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import QApplication, QStyleFactory

from explorer.export.figures import EXPORT_STYLE, FigureStyle
from explorer.figures.palette import CURVE_COLORS, curve_color  # noqa: F401 (re-exported for the tabs)
from explorer.paths import RESOURCES

THEMES = ("light", "dark")
FONT_FAMILY = "DejaVu Sans"


STYLES: dict[str, FigureStyle] = {
    "light": FigureStyle(background="#ffffff", foreground="#202020",
                         legend_background="#ffffffd0", legend_border="#b0b0b0"),
    "dark": FigureStyle(background="#1e1e1e", foreground="#dcdcdc",
                        legend_background="#2a2a2ad0", legend_border="#606060"),
}
EXPORT: FigureStyle = EXPORT_STYLE  # figures are exported light whatever the UI theme

_current = "light"
_themed: weakref.WeakSet[Themed] = weakref.WeakSet()


class Themed(Protocol):
    """Anything that restyles itself when the theme changes."""

    def apply_style(self, style: FigureStyle) -> None: ...


def register_fonts() -> str:
    """Register every bundled .ttf with Qt and make DejaVu Sans the application font; return its family."""
    families: list[str] = []
    for path in sorted((RESOURCES / "fonts").glob("*.ttf")):
        font_id = QFontDatabase.addApplicationFont(str(path))
        if font_id >= 0:
            families.extend(QFontDatabase.applicationFontFamilies(font_id))
    family = FONT_FAMILY if FONT_FAMILY in families else (families[0] if families else QApplication.font().family())
    app = QApplication.instance()
    if app is not None:
        font = QFont(family)
        font.setPointSizeF(max(QApplication.font().pointSizeF(), 9.0))
        QApplication.setFont(font)
    return family


def current_theme() -> str:
    """The name of the theme applied last ("light" before any)."""
    return _current


def current_style() -> FigureStyle:
    """The plot colours of the current theme."""
    return STYLES[_current]


def foreground_color() -> str:
    """The text and axis colour of the current theme."""
    return current_style().foreground


def background_color() -> str:
    """The plot background colour of the current theme."""
    return current_style().background


def register_themed(obj: Themed) -> None:
    """Keep `obj` (weakly) and restyle it now and on every theme switch."""
    _themed.add(obj)
    obj.apply_style(current_style())


def _palette(name: str) -> QPalette:
    """The Fusion palette of a theme."""
    if name == "light":
        return QStyleFactory.create("Fusion").standardPalette()
    p = QPalette()
    window, base, text = QColor("#2b2b2b"), QColor("#1e1e1e"), QColor("#dcdcdc")
    disabled = QColor("#7f7f7f")
    for role, color in (
        (QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
        (QPalette.AlternateBase, QColor("#262626")), (QPalette.ToolTipBase, QColor("#3a3a3a")),
        (QPalette.ToolTipText, text), (QPalette.PlaceholderText, disabled), (QPalette.Text, text),
        (QPalette.Button, QColor("#353535")), (QPalette.ButtonText, text), (QPalette.BrightText, QColor("#ff5555")),
        (QPalette.Light, QColor("#454545")), (QPalette.Midlight, QColor("#3a3a3a")), (QPalette.Mid, QColor("#303030")),
        (QPalette.Dark, QColor("#1a1a1a")), (QPalette.Shadow, QColor("#000000")),
        (QPalette.Link, QColor("#56B4E9")), (QPalette.Highlight, QColor("#2f6ea5")),
        (QPalette.HighlightedText, QColor("#ffffff")),
    ):
        p.setColor(role, color)
    for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
        p.setColor(QPalette.Disabled, role, disabled)
    return p


def apply_theme(app: QApplication, name: str) -> None:
    """Switch the whole app (widgets, pyqtgraph defaults, live plot panels) to the light or dark theme."""
    global _current
    if name not in THEMES:
        raise ValueError(f"unknown theme {name!r}; expected one of {THEMES}")
    _current = name
    app.setStyle("Fusion")
    app.setPalette(_palette(name))
    style = STYLES[name]
    pg.setConfigOptions(background=style.background, foreground=style.foreground, antialias=True)
    for obj in list(_themed):
        try:
            obj.apply_style(style)
        except RuntimeError:  # its Qt object was deleted while Python still held the wrapper
            _themed.discard(obj)
