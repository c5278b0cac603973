"""The main window: tabs, menus (File, View, Help) and a status bar with the device and the running job."""
from __future__ import annotations

import platform
import re
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QTabWidget,
    QWidget,
)

from .. import APP_NAME, __version__
from ..training.record import RunError, open_run
from ..training.runner import Tick
from . import theme
from .app_state import AppState
from .corpus_loader import load_corpus_in_background
from .lessons_menu import LessonsMenu
from .runs_menu import install_runs_browser
from .settings import AppSettings
from .widgets.control_bar import format_rate

TAB_NAMES = ("Embeddings", "Recurrent", "Convolution", "Attention", "Pre-train & fine-tune")
TAB_CLASSES = {"Embeddings": ("embeddings", "EmbeddingsTab"), "Recurrent": ("recurrent", "RecurrentTab"),
               "Convolution": ("convolution", "ConvolutionTab"), "Attention": ("attention", "AttentionTab"),
               "Pre-train & fine-tune": ("gpt", "GptTab")}


class MainWindow(QMainWindow):
    """Sequence Model Explorer's window; closing it stops any running job cleanly."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.setWindowTitle(APP_NAME)
        self.resize(1400, 900)
        self.settings = AppSettings().attach(state)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.setCentralWidget(self.tabs)
        self._build_tabs()
        self._build_menus()
        self.lessons = LessonsMenu(self)
        self.runs_action = install_runs_browser(self)
        self._build_status_bar()
        self._loads = []
        self.settings.restore_window(self)

    # -- construction ------------------------------------------------------------------------------------
    def _build_tabs(self) -> None:
        """The first tab is built now; the others when first shown or first asked for (start-up stays short)."""
        self._built: dict[str, QWidget] = {}
        self._placeholders: dict[str, QWidget] = {}
        for name in TAB_NAMES:
            page = QWidget()
            self._placeholders[name] = page
            self.tabs.addTab(page, name.replace("&", "&&"))
        first = self.settings.initial_tab(TAB_NAMES)  # the tab on show when the app last closed
        self.tabs.setCurrentIndex(TAB_NAMES.index(first))
        self._tab(first)
        self.tabs.currentChanged.connect(lambda i: self._tab(TAB_NAMES[i]) if 0 <= i < len(TAB_NAMES) else None)

    def _tab(self, name: str) -> QWidget:
        """The tab called `name`, built (and put in place of its placeholder) on first use."""
        if name in self._built:
            return self._built[name]
        module, cls = TAB_CLASSES[name]
        import importlib

        factory = getattr(importlib.import_module(f".tabs.{module}", __package__), cls)
        tab = factory(self.state)
        self._built[name] = tab
        placeholder = self._placeholders.pop(name)
        index = self.tabs.indexOf(placeholder)
        current = self.tabs.currentIndex() == index
        self.tabs.blockSignals(True)
        self.tabs.removeTab(index)
        self.tabs.insertTab(index, tab, name.replace("&", "&&"))
        if current:
            self.tabs.setCurrentIndex(index)
        self.tabs.blockSignals(False)
        placeholder.deleteLater()
        self.settings.restore_tab(name, tab)
        return tab

    @property
    def embeddings(self):
        return self._tab("Embeddings")

    @property
    def recurrent(self):
        return self._tab("Recurrent")

    @property
    def convolution(self):
        return self._tab("Convolution")

    @property
    def attention(self):
        return self._tab("Attention")

    @property
    def gpt(self):
        return self._tab("Pre-train & fine-tune")

    def _build_menus(self) -> None:
        bar = self.menuBar()
        self.menus = {name: QMenu(title, self) for name, title in
                      (("file", "&File"), ("view", "&View"), ("theme", "&Theme"), ("help", "&Help"))}
        bar.addMenu(self.menus["file"])
        file_menu = self.menus["file"]
        self.open_corpus_action = self._action(file_menu, "Open &corpus…", self.open_corpus_dialog,
                                               QKeySequence.StandardKey.Open)
        self._action(file_menu, "Open &run…", self.open_run_dialog, "Ctrl+R")
        self._action(file_menu, "&Export figure…", self.export_figure, "Ctrl+E")
        self._action(file_menu, "Export &all figures of this tab…", self.export_all_figures, "Ctrl+Shift+E")
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", self.close, QKeySequence.StandardKey.Quit)
        bar.addMenu(self.menus["view"])
        theme_menu = self.menus["theme"]
        self.menus["view"].addMenu(theme_menu)
        group = QActionGroup(self)
        self.theme_actions = {}
        for name in theme.THEMES:
            act = QAction(name.capitalize(), self, checkable=True)
            act.setChecked(name == theme.current_theme())
            act.triggered.connect(lambda _c=False, n=name: self.set_theme(n))
            group.addAction(act)
            theme_menu.addAction(act)
            self.theme_actions[name] = act
        self.menus["view"].addSeparator()
        self.reset_action = self._action(self.menus["view"], "&Reset to defaults…", self.reset_settings)
        bar.addMenu(self.menus["help"])
        help_menu = self.menus["help"]
        self._action(help_menu, "&About", self.show_about)

    def _action(self, menu, text, slot, shortcut=None) -> QAction:
        act = QAction(text, self)
        if shortcut is not None:
            act.setShortcut(shortcut)
        act.triggered.connect(lambda _c=False: slot())
        menu.addAction(act)
        return act

    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        self.device_label = QLabel(f"Device: {self.state.device_text}")
        self.step_label = QLabel("")
        self.rate_label = QLabel("")
        self.job_progress = QProgressBar()
        self.job_progress.setMaximumWidth(220)
        self.job_progress.setVisible(False)
        for w in (self.step_label, self.rate_label, self.job_progress, self.device_label):
            sb.addPermanentWidget(w)
        self.state.deviceChanged.connect(lambda _d, text: self.device_label.setText(f"Device: {text}"))
        self.state.message.connect(lambda text, ms: sb.showMessage(text, ms))
        runner = self.state.runner
        runner.display.connect(self._on_progress)
        runner.statusChanged.connect(self._on_status)
        runner.ended.connect(self._on_ended)

    # -- status bar ----------------------------------------------------------------------------------------
    def _on_progress(self, tick: Tick) -> None:
        self.job_progress.setVisible(True)
        self.job_progress.setRange(0, max(1, tick.total))
        self.job_progress.setValue(tick.step)
        job = self.state.runner.job
        name = job.title if job else "job"
        owner = self.state.runner.owner
        if owner is not None and owner is not self.tabs.currentWidget() and self.tabs.indexOf(owner) >= 0:
            name += f" (in the {self.tabs.tabText(self.tabs.indexOf(owner))} tab)"  # not the tab on show
        self.step_label.setText(f"{name}: step {tick.step:,} / {tick.total:,}")
        if tick.throughput > 0:
            self.rate_label.setText(format_rate(tick.throughput, tick.unit))

    def _on_status(self, status: str) -> None:
        if status == "running":
            self.stop_following()  # a job of the app's own now owns the tabs' views
        if status in ("running", "paused"):
            self.job_progress.setVisible(True)
            if status == "paused":
                self.rate_label.setText("paused")

    def _on_ended(self, tick: Tick) -> None:
        self.job_progress.setVisible(False)
        self.rate_label.setText("")
        self.statusBar().showMessage(tick.message, 15000)

    # -- File menu -------------------------------------------------------------------------------------------
    def open_corpus_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open corpus", "", "Text (*.txt *.gz *.text *.md);;All files (*)")
        if path:
            self.open_corpus(path)

    def open_corpus(self, path: str, show_dialogs: bool = True):
        """Read a text file in the background; on success it becomes a corpus choice in the tabs."""
        def done(corpus):
            self.state.add_corpus(path, corpus)
            notes = "; ".join(corpus.notes)
            msg = f"Opened {corpus.name}: {corpus.n_words:,} words."
            self.statusBar().showMessage(msg + (f" Note: {notes}" if notes else ""), 15000)
            if notes and show_dialogs:
                QMessageBox.information(self, "Open corpus", f"{msg}\n\n{notes}")

        load = load_corpus_in_background(path, self, done, show_dialogs)
        load.failed.connect(lambda text: self.statusBar().showMessage(text or "Reading cancelled.", 15000))
        self._loads.append(load)
        load.worker.finished.connect(lambda: self._loads.remove(load) if load in self._loads else None)
        return load

    def open_run_dialog(self) -> None:
        from ..paths import runs_dir

        folder = QFileDialog.getExistingDirectory(self, "Open recorded run", str(runs_dir()))
        if folder:
            self.open_run(folder)

    def tab_name_for_kind(self, kind: str) -> str | None:
        """The name of the tab that shows runs of `kind`, or None (a measurement only the Lessons dock draws)."""
        return next((n for n in TAB_NAMES if kind in _tab_kinds(n)), None)

    def open_run(self, folder: str, show_dialogs: bool = True) -> bool:
        """Open a recorded run in the tab that shows its kind of job; a damaged run gets a message. A run that is
        still being written (here or by another machine) is followed: its new snapshots appear as they come."""
        self.stop_following()
        try:
            record = open_run(folder)
            name = self.tab_name_for_kind(record.kind)
            if name is None:
                raise RunError(f"No tab can show a run of kind '{record.kind}' yet.")
            tab = self._tab(name)
            tab.show_run(record)
            if record.status == "interrupted":  # its writer is gone: say what is left, not "running"
                tab.show_banner(f"This recorded run was {record.status_text}.")
        except RunError as exc:
            self.statusBar().showMessage(str(exc), 15000)
            if show_dialogs:
                QMessageBox.warning(self, "Open run", str(exc))
            return False
        self.tabs.setCurrentWidget(tab)
        if record.status in ("running", "paused"):
            from .run_follower import follow_in_window

            self.follower = follow_in_window(self, folder, tab, record)
        return True

    def stop_following(self) -> None:
        """Stop following a run that is being written (another run opened, a job started, the window closing)."""
        if getattr(self, "follower", None) is not None:
            self.follower.stop()
        self.follower = None

    def export_figure(self) -> None:
        tab = self.tabs.currentWidget()
        panel = getattr(tab, "main_panel", None)
        if panel is None:
            QMessageBox.information(self, "Export figure", "This tab has no figure to export yet.")
            return
        self.export_panel(panel)

    def export_all_figures(self, folder: str | None = None, fmt: str | None = None) -> list[str]:
        """Write every figure of the visible tab into a folder, in one format, with progress and cancel."""
        from PySide6.QtWidgets import QInputDialog, QProgressDialog

        from ..render.run_export import export_figures
        from .widgets.plot_panel import PlotPanel

        tab = self.tabs.currentWidget()
        if fmt is None:
            fmt, ok = QInputDialog.getItem(self, "Export all figures", "Format", ["png", "svg", "pdf", "csv"], 0,
                                           False)
            if not ok:
                return []
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self, "Export all figures into", str(Path.home()))
            if not folder:
                return []
        view_state = getattr(tab, "view_state", None)
        names = list(view_state.figure_names) if view_state is not None else []
        panels = [] if view_state is not None else [p for p in tab.findChildren(PlotPanel) if p.title]
        dialog = QProgressDialog("Exporting figures…", "Cancel", 0, len(names) or len(panels), self)
        dialog.setMinimumDuration(300)
        written: list[str] = []
        try:
            for i in range(len(names) or len(panels)):
                if dialog.wasCanceled():
                    break
                dialog.setValue(i)
                if view_state is not None:
                    written += [str(p) for p in export_figures(view_state, folder, fmt, [names[i]])]
                else:
                    stem = re.sub(r"[^\w.-]+", "_", panels[i].title).strip("_")[:60] or f"figure{i}"
                    path = str(Path(folder) / f"{i:02d}-{stem}.{fmt}")
                    panel = panels[i]
                    if fmt == "png":
                        panel.export_png(path, 2.0)
                    else:
                        getattr(panel, f"export_{fmt}")(path)
                    written.append(path)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export all figures", f"Could not export into {folder}:\n{exc}")
        finally:
            dialog.close()
        self.statusBar().showMessage(f"Exported {len(written)} figures into {folder}", 10000)
        return written

    def export_panel(self, panel) -> None:
        """Ask for a file name and export the panel as PNG (2x), SVG, PDF or CSV, chosen by the file type."""
        filters = "PNG image, 2x (*.png);;SVG drawing (*.svg);;PDF document (*.pdf);;Data as CSV (*.csv)"
        path, chosen = QFileDialog.getSaveFileName(self, "Export figure", "figure.png", filters)
        if not path:
            return
        suffix = Path(path).suffix.lower()
        if suffix not in (".png", ".svg", ".pdf", ".csv"):
            suffix = "." + chosen.split("(*.")[1].rstrip(")")
            path += suffix
        try:
            {".png": lambda: panel.export_png(path, 2.0), ".svg": lambda: panel.export_svg(path),
             ".pdf": lambda: panel.export_pdf(path), ".csv": lambda: panel.export_csv(path)}[suffix]()
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export figure", f"Could not export to {path}:\n{exc}")
            return
        self.statusBar().showMessage(f"Exported {path}", 10000)

    # -- View and Help ------------------------------------------------------------------------------------
    def set_theme(self, name: str) -> None:
        theme.apply_theme(QApplication.instance(), name)
        self.theme_actions[name].setChecked(True)

    def reset_settings(self, confirm: bool = True) -> bool:
        """Every form, page and tab, the layout and theme back to their defaults; the remembered settings cleared."""
        return self.settings.reset(self, self._built, confirm)

    def about_text(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        import numpy
        import pyqtgraph
        import PySide6
        from PySide6.QtCore import qVersion

        try:
            torch_version = version("torch")
        except PackageNotFoundError:  # pragma: no cover
            torch_version = "not installed"
        return (
            f"<h3>{APP_NAME} {__version__}</h3>"
            "<p>Train small sequence models live and see why they behave as the textbook says.</p>"
            "<table>"
            f"<tr><td>Python</td><td>{platform.python_version()}</td></tr>"
            f"<tr><td>PyTorch</td><td>{torch_version}</td></tr>"
            f"<tr><td>Qt</td><td>{qVersion()} (PySide6 {PySide6.__version__})</td></tr>"
            f"<tr><td>pyqtgraph</td><td>{pyqtgraph.__version__}</td></tr>"
            f"<tr><td>NumPy</td><td>{numpy.__version__}</td></tr>"
            f"<tr><td>Device</td><td>{self.state.device_text}</td></tr>"
            "</table>"
            "<p>Jane Austen's novels (public domain) from the janeaustenr package by Julia Silge. "
            "DejaVu fonts (Bitstream Vera licence).</p>"
        )

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle(f"About {APP_NAME}")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setText(self.about_text())
        box.open()
        self._about = box

    # -- closing -------------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        self.stop_following()
        self.settings.save(self, self._built)
        for load in list(self._loads):
            load.cancel()
        for tab in self._built.values():  # their background tasks (measurements, projections, probes)
            shutdown = getattr(tab, "shutdown", None)
            if shutdown is not None:
                shutdown()
        if self.lessons.dock is not None:
            self.lessons.dock.shutdown()
        self.state.runner.shutdown(wait_ms=10000)
        super().closeEvent(event)


def _tab_kinds(name: str) -> tuple[str, ...]:
    """The kinds of run a tab shows, read from its class (without building the tab)."""
    import importlib

    module, cls = TAB_CLASSES[name]
    return getattr(getattr(importlib.import_module(f".tabs.{module}", __package__), cls), "kinds", ())
