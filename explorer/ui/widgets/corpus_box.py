"""The corpus chooser the training tabs share: the built-in corpora, every file opened so far, and "Open…"."""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFileDialog, QWidget

from ...data.builtin import BUILTIN_CORPORA
from ..app_state import AppState

OPEN_FILE = "__open__"


class CorpusBox(QComboBox):
    """Items carry corpus specs ("builtin:austen" or a file path). Choosing "Open a text file…" asks the window
    to read the file in the background; once it is read (AppState.corpusAdded) it is added and chosen here.
    Files read in an earlier session (AppState.recent_files) are listed too, unread: choosing one reads it again
    in the background; a job started with one chosen reads it itself."""

    def __init__(self, state: AppState, default: str, builtins: Iterable[str] = tuple(BUILTIN_CORPORA),
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        for key in builtins:
            self.addItem(BUILTIN_CORPORA[key], f"builtin:{key}")
        self.addItem("Open a text file…", OPEN_FILE)
        self.setCurrentIndex(max(0, self.findData(default)))
        self._state = state
        for path in getattr(state, "recent_files", ()):
            if path not in state.corpora:
                self.add_file(path)
        for spec, corpus in state.corpora.items():  # files opened before this tab was built (the last is chosen)
            self.add_corpus(spec, corpus.name)
        self.activated.connect(self._chosen)
        state.corpusAdded.connect(self.add_corpus)

    def spec(self) -> str:
        return self.currentData()

    def add_corpus(self, spec: str, name: str) -> None:
        """List a corpus that has been read (before "Open…") and choose it."""
        if self.findData(spec) < 0:
            self.insertItem(self.count() - 1, name, spec)
        index = self.findData(spec)
        self.setItemText(index, name)
        self.setItemData(index, spec, Qt.ItemDataRole.ToolTipRole)
        self.setCurrentIndex(index)

    def add_file(self, path: str) -> None:
        """List a text file that is not read yet (opened in an earlier session), without choosing it."""
        if self.findData(path) < 0:
            self.insertItem(self.count() - 1, f"{Path(path).name} (not read yet)", path)
            self.setItemData(self.findData(path), f"{path}\nRead when chosen, or by the job that uses it.",
                             Qt.ItemDataRole.ToolTipRole)

    def _chosen(self, _index: int) -> None:
        spec = self.currentData()
        if spec != OPEN_FILE:
            if spec and not spec.startswith("builtin:") and spec not in self._state.corpora \
                    and hasattr(self.window(), "open_corpus"):
                self.window().open_corpus(spec)  # a file from an earlier session: read it now
            return
        self.setCurrentIndex(0)
        path, _ = QFileDialog.getOpenFileName(self, "Open corpus", "", "Text (*.txt *.gz *.md);;All files (*)")
        if path and hasattr(self.window(), "open_corpus"):
            self.window().open_corpus(path)
