"""Reads a user's text file in the background with a progress dialog and a Cancel button."""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget
from superqt.utils import FunctionWorker

from ..data.corpus import Corpus, load_corpus_file
from ..data.errors import Cancelled, CorpusError


class _Relay(QObject):
    progress = Signal(int, int)


class CorpusLoad(QObject):
    """One background read of a corpus file; `done(Corpus)` on success, a message box on failure."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, path: str, parent: QWidget, show_dialogs: bool = True) -> None:
        super().__init__(parent)
        self.path = path
        self._cancel = threading.Event()
        self._relay = _Relay()
        self._show = show_dialogs
        self.dialog = QProgressDialog(f"Reading {Path(path).name}…", "Cancel", 0, 1000, parent)
        self.dialog.setWindowTitle("Open corpus")
        self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialog.setMinimumDuration(300)
        self.dialog.canceled.connect(self._cancel.set)
        self._relay.progress.connect(self._on_progress)
        self.worker = FunctionWorker(self._read)
        self.worker.returned.connect(self._on_done)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self.dialog.reset)

    def start(self) -> None:
        self.worker.start()

    def cancel(self) -> None:
        self._cancel.set()

    def _read(self) -> Corpus:
        return load_corpus_file(
            self.path,
            progress=lambda done, total: self._relay.progress.emit(int(done >> 10), int(max(total, 1) >> 10)),
            cancel=self._cancel.is_set,
        )

    def _on_progress(self, done_kib: int, total_kib: int) -> None:
        self.dialog.setMaximum(max(1, total_kib))
        self.dialog.setValue(min(done_kib, total_kib))

    def _on_done(self, corpus: Corpus) -> None:
        self.done.emit(corpus)

    def _on_error(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self.failed.emit("")
            return
        if isinstance(exc, CorpusError):
            text = str(exc)
        else:
            text = f"{Path(self.path).name} could not be read: {type(exc).__name__}: {exc}"
        self.failed.emit(text)
        if self._show:
            QMessageBox.warning(self.parent(), "Open corpus", text)


def load_corpus_in_background(path: str, parent: QWidget, on_done: Callable[[Corpus], None],
                              show_dialogs: bool = True) -> CorpusLoad:
    """Start reading `path`; `on_done(corpus)` runs in the UI thread when it is read."""
    load = CorpusLoad(path, parent, show_dialogs)
    load.done.connect(on_done)
    load.start()
    return load
