"""What the app remembers between sessions: window geometry and docks, the last tab and page, every form's values,
each tab's corpus and splitter sizes, the text files opened lately (listed in every corpus box, read again when
chosen or by the job that uses them) and the theme, in an INI file through QSettings (SME_SETTINGS names the
file; tests point it at a tmp folder).

Every value is stored as JSON text (geometry and dock state as base64) and checked when read back: a value of
the wrong type, out of range, or for a field or tab that no longer exists is ignored and the default kept.
Forms remember only what differs from a fresh tab's defaults, so later versions' new defaults still apply.
"""
from __future__ import annotations

import json
import os
import re
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QSettings, QSize, Qt, QTimer, Slot
from PySide6.QtWidgets import QComboBox, QMainWindow, QMessageBox, QSplitter, QTabWidget, QWidget

from .. import APP_NAME
from . import theme
from .widgets.corpus_box import CorpusBox
from .widgets.param_form import ParamForm
from .widgets.param_form_values import restore_values, stored_values

ENV_VAR = "SME_SETTINGS"
FORMAT_VERSION = 1
CHOOSERS = ("pages", "family_box")  # a tab's pages (QTabWidget) and the Embeddings tab's method (QComboBox)
RECENT_FILES = 8  # text files remembered for the corpus boxes


def slug(name: str) -> str:
    """A tab's name as a settings key: 'Pre-train & fine-tune' -> 'pre_train_fine_tune'."""
    return re.sub(r"\W+", "_", name.lower()).strip("_")


def _forms(tab: QWidget) -> dict[str, ParamForm]:
    """A tab's parameter forms by config class name (one form per kind of job)."""
    forms: dict[str, ParamForm] = {}
    for form in tab.findChildren(ParamForm):
        forms.setdefault(form.config_cls.__name__, form)
    return forms


def _corpus_box(tab: QWidget) -> CorpusBox | None:
    box = getattr(tab, "corpus_box", None)
    return box if isinstance(box, CorpusBox) else None


def _splitter_sizes(tab: QWidget) -> list[list[int]]:
    """The sizes of a tab's splitters, in the order Qt lists them (every tab builds its splitters at once)."""
    return [splitter.sizes() for splitter in tab.findChildren(QSplitter)]


def _set_splitter_sizes(tab: QWidget, stored: Any) -> None:
    """Put back splitter sizes where the stored list matches the tab's splitters (count and panes)."""
    splitters = tab.findChildren(QSplitter)
    if not isinstance(stored, list) or len(stored) != len(splitters):
        return
    for splitter, sizes in zip(splitters, stored, strict=True):
        if isinstance(sizes, list) and len(sizes) == splitter.count() and \
                all(type(v) is int and 0 <= v < 100_000 for v in sizes) and sum(sizes) > 0:
            splitter.setSizes(sizes)


class _SplitterRestore(QObject):
    """Once a tab is laid out (the window at its size), notes its splitters' sizes as the defaults and puts back
    the remembered ones (setSizes keeps their proportions at any window size). A child of the tab, so that the
    timer's receiver goes with it: no Python callable holds the tab."""

    def __init__(self, tab: QWidget, defaults: dict, stored: Any) -> None:
        super().__init__(tab)
        self._defaults, self._stored = defaults, stored
        QTimer.singleShot(0, self.apply)

    @Slot()
    def apply(self) -> None:
        tab = self.parent()
        if isinstance(tab, QWidget):
            self._defaults["splitters"] = _splitter_sizes(tab)
            _set_splitter_sizes(tab, self._stored)
        self.deleteLater()


def _choosers(tab: QWidget) -> dict[str, QTabWidget | QComboBox]:
    """The widgets that choose a tab's page (and, where there is one, its method)."""
    return {attr: w for attr in CHOOSERS if isinstance(w := getattr(tab, attr, None), (QTabWidget, QComboBox))}


class AppSettings:
    """The app's settings file: `path`, else $SME_SETTINGS, else settings.ini in the user's config folder."""

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        path = path or os.environ.get(ENV_VAR)
        if path:
            self.qsettings = QSettings(str(path), QSettings.Format.IniFormat)
        else:
            self.qsettings = QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, APP_NAME, "settings")
        self._defaults: dict[str, dict[str, dict]] = {}  # tab key -> its choosers' and forms' values when built
        self._default_size: QSize | None = None

    def file_name(self) -> str:
        return self.qsettings.fileName()

    def attach(self, state) -> AppSettings:
        """Give the app's state the text files opened lately (for the corpus boxes) and remember each file read
        from now on."""
        state.recent_files = self.recent_files()
        state.corpusAdded.connect(self._corpus_added)
        return self

    def recent_files(self) -> list[str]:
        """The text files read lately that still exist, newest first."""
        paths = self.get("corpora/recent", [])
        if not isinstance(paths, list):
            return []
        return [p for p in paths if isinstance(p, str) and os.path.isfile(p)][:RECENT_FILES]

    def _corpus_added(self, spec: str, _name: str = "") -> None:
        if spec.startswith("builtin:") or not os.path.isfile(spec):
            return
        self.put("corpora/recent", [spec, *(p for p in self.recent_files() if p != spec)][:RECENT_FILES])
        self.qsettings.sync()  # now: a file read is remembered even if the app is killed later

    def get(self, key: str, default: Any = None) -> Any:
        """The JSON value stored under `key`, or `default` when there is none or it is not JSON."""
        raw = self.qsettings.value(key)
        if not isinstance(raw, str):
            return default
        try:
            return json.loads(raw)
        except ValueError:
            return default

    def put(self, key: str, value: Any) -> None:
        self.qsettings.setValue(key, json.dumps(value))

    def clear(self) -> None:
        """Forget every stored setting (the file is emptied now)."""
        self.qsettings.clear()
        self.qsettings.sync()

    # -- start-up ------------------------------------------------------------------------------------------------
    def theme(self) -> str | None:
        """The remembered theme, or None."""
        name = self.get("theme")
        return name if name in theme.THEMES else None

    def initial_tab(self, names: tuple[str, ...]) -> str:
        """The tab to open with: the remembered one, else the first."""
        key = self.get("tab")
        return next((n for n in names if slug(n) == key), names[0])

    def restore_window(self, window: QMainWindow) -> None:
        """Size and place the window as it was; reopen the Lessons dock where it was once the window is up."""
        self._default_size = window.size()
        geometry = self.get("window/geometry")
        if isinstance(geometry, str):
            window.restoreGeometry(QByteArray.fromBase64(geometry.encode("ascii", "replace")))
        state = self.get("window/state")
        if self.get("window/lessons_dock") is True and isinstance(state, str) and hasattr(window, "lessons"):
            QTimer.singleShot(0, window, lambda: self._reopen_dock(window, state))

    @staticmethod
    def _reopen_dock(window: QMainWindow, state: str) -> None:
        window.lessons.show_dock()
        window.restoreState(QByteArray.fromBase64(state.encode("ascii", "replace")))

    def restore_tab(self, name: str, tab: QWidget) -> None:
        """A tab just built: note its defaults, then put back its remembered form values and page."""
        key = slug(name)
        forms, choosers, box = _forms(tab), _choosers(tab), _corpus_box(tab)
        self._defaults[key] = {"forms": {c: f.typed_values() for c, f in forms.items()},
                               "choosers": {a: w.currentIndex() for a, w in choosers.items()},
                               "corpus": box.spec() if box is not None else None,
                               "splitters": _splitter_sizes(tab)}  # replaced by the sizes once laid out
        for cls_name, form in forms.items():
            restore_values(form, self.get(f"forms/{key}/{cls_name}"))
        for attr, widget in choosers.items():
            index = self.get(f"tabs/{key}/{attr}")
            if type(index) is int and 0 <= index < widget.count():
                widget.setCurrentIndex(index)
        spec = self.get(f"tabs/{key}/corpus")
        if box is not None and isinstance(spec, str) and (spec.startswith("builtin:") or os.path.isfile(spec)):
            if not spec.startswith("builtin:"):
                box.add_file(spec)  # listed (it is read when chosen again, or by the job that uses it)
            if box.findData(spec) >= 0:
                box.setCurrentIndex(box.findData(spec))
        _SplitterRestore(tab, self._defaults[key], self.get(f"tabs/{key}/splitters"))

    # -- closing -------------------------------------------------------------------------------------------------
    def save(self, window: QMainWindow, built: dict[str, QWidget]) -> None:
        """Remember the window, the tab on show, the theme and every built tab's page and form values (tabs never
        built this session keep what was stored)."""
        self.put("version", FORMAT_VERSION)
        self.put("theme", theme.current_theme())
        current = next((n for n, t in built.items() if t is window.tabs.currentWidget()), None)
        if current is not None:
            self.put("tab", slug(current))
        self.put("window/geometry", _base64(window.saveGeometry()))
        dock = getattr(getattr(window, "lessons", None), "dock", None)
        self.put("window/lessons_dock", dock is not None and dock.isVisible())
        self.put("window/state", _base64(window.saveState()))
        for name, tab in built.items():
            key = slug(name)
            defaults = self._defaults.get(key, {"forms": {}, "choosers": {}})
            for attr, widget in _choosers(tab).items():
                self._put_or_remove(f"tabs/{key}/{attr}", widget.currentIndex(),
                                    widget.currentIndex() != defaults["choosers"].get(attr))
            box, sizes = _corpus_box(tab), _splitter_sizes(tab)
            if box is not None:
                self._put_or_remove(f"tabs/{key}/corpus", box.spec(), box.spec() != defaults.get("corpus"))
            self._put_or_remove(f"tabs/{key}/splitters", sizes, sizes != defaults.get("splitters"))
            for cls_name, form in _forms(tab).items():
                values = stored_values(form, defaults["forms"].get(cls_name))
                self._put_or_remove(f"forms/{key}/{cls_name}", values, bool(values))
        self.qsettings.sync()

    def _put_or_remove(self, key: str, value: Any, keep: bool) -> None:
        if keep:
            self.put(key, value)
        else:
            self.qsettings.remove(key)

    # -- Reset to defaults ---------------------------------------------------------------------------------------
    def reset(self, window: QMainWindow, built: dict[str, QWidget], confirm: bool = True) -> bool:
        """Every form and page back to a fresh tab's, the first tab, the default size and layout, the light theme;
        the settings file emptied. Asks first when `confirm`; refused while a job runs."""
        runner = getattr(getattr(window, "state", None), "runner", None)
        if runner is not None and runner.is_active():
            QMessageBox.information(window, "Reset to defaults", "Stop the running job first.")
            return False
        if confirm:
            answer = QMessageBox.question(
                window, "Reset to defaults",
                "Put every form, page and tab, the window's size and layout and the theme back to their defaults, "
                "and forget the remembered settings?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
            if answer != QMessageBox.StandardButton.Yes:
                return False
        self.clear()  # first: a tab built below (the first) must not read the old settings
        for name, tab in list(built.items()):
            defaults = self._defaults.get(slug(name))
            if defaults is None:
                continue
            for cls_name, form in _forms(tab).items():
                restore_values(form, defaults["forms"].get(cls_name, {}))
            for attr, widget in _choosers(tab).items():
                widget.setCurrentIndex(defaults["choosers"].get(attr, 0))
            box = _corpus_box(tab)
            if box is not None and box.findData(defaults.get("corpus")) >= 0:
                box.setCurrentIndex(box.findData(defaults.get("corpus")))
            _set_splitter_sizes(tab, defaults.get("splitters"))
        window.tabs.setCurrentIndex(0)
        dock = getattr(getattr(window, "lessons", None), "dock", None)
        if dock is not None:
            dock.setFloating(False)
            window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
            dock.hide()
        if window.isMaximized() or window.isFullScreen():
            window.showNormal()
        if self._default_size is not None:
            window.resize(self._default_size)
        if theme.current_theme() != theme.THEMES[0]:
            window.set_theme(theme.THEMES[0])
        return True


def _base64(data: QByteArray) -> str:
    return bytes(data.toBase64()).decode("ascii")


def remembered_theme() -> str | None:
    """The theme the app had when it last closed (None when none is remembered)."""
    return AppSettings().theme()
