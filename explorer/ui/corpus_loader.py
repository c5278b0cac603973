"""Reads a user's text file in the background with a progress dialog and a Cancel button.

Everything slow happens in the worker thread: a quick estimate of the file's words, the read, the binary check and
the tokenising (so the corpus arrives with its words counted). When the estimate says the file holds more words
than LARGE_FILE_WORDS, the worker asks the UI how many words to use (MaxWordsDialog) and waits for the answer.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMessageBox,
    QProgressDialog,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)
from superqt.utils import FunctionWorker

from ..data.corpus import (
    BYTES_PER_WORD_IN_MEMORY,
    DEFAULT_MAX_WORDS,
    MAX_WORDS_LIMIT,
    Corpus,
    FileEstimate,
    check_max_words,
    estimate_file_words,
    load_corpus_file,
)
from ..data.errors import Cancelled, CorpusError

LARGE_FILE_WORDS = DEFAULT_MAX_WORDS  # a file estimated to hold more words than this asks how many to use
_ANSWER_POLL_S = 0.05  # how often the waiting worker looks whether the read was cancelled


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e7 else f"{n / 1e6:,.1f} MB"


TRAINING_BYTES_PER_WORD = 25  # word2vec (and torch itself): 760 MB peak RSS at 20 M words against 254 MB to read them


class MaxWordsDialog(QDialog):
    """Asks how many words of a large file to use: a spin box with the default budget, the file's size, an
    estimate of its words, and the memory the chosen number will take."""

    def __init__(self, parent: QWidget | None, name: str, estimate: FileEstimate,
                 default: int = DEFAULT_MAX_WORDS) -> None:
        super().__init__(parent)
        self.setWindowTitle("Open a large corpus")
        self.estimate = estimate
        layout = QVBoxLayout(self)
        layout.setSizeConstraint(QVBoxLayout.SizeConstraint.SetMinimumSize)
        self.info = QLabel(
            f"{name} is {_mb(estimate.size)} and holds about {estimate.words:,} words: more than the "
            f"{DEFAULT_MAX_WORDS:,} read by default.\nHow many words should be read? Reading stops there; "
            "the rest of the file is left out."
        )
        self.info.setWordWrap(True)
        self.info.setMinimumWidth(420)  # a wrapped label in a dialog needs a width to take its height from
        layout.addWidget(self.info)
        self.spin = QSpinBox()
        self.spin.setRange(1, MAX_WORDS_LIMIT)
        self.spin.setSingleStep(1_000_000)
        self.spin.setGroupSeparatorShown(True)
        self.spin.setSuffix(" words")
        self.spin.setValue(min(default, self.spin.maximum()))
        layout.addWidget(self.spin)
        self.memory = QLabel()
        layout.addWidget(self.memory)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.spin.valueChanged.connect(self._show_memory)
        self._show_memory(self.spin.value())

    def _show_memory(self, words: int) -> None:
        share = min(1.0, words / max(1, self.estimate.words))
        self.memory.setText(f"About {share:.0%} of the file (at most {MAX_WORDS_LIMIT:,} words). Reading keeps about "
                            f"{_mb(words * BYTES_PER_WORD_IN_MEMORY)} in memory; training word2vec on all of them "
                            f"takes about {_mb(words * TRAINING_BYTES_PER_WORD)} more.")
        self.memory.setWordWrap(True)

    def value(self) -> int:
        """The number of words chosen."""
        return self.spin.value()


class _Relay(QObject):
    progress = Signal(int, int)
    ask = Signal(object)  # a FileEstimate: the worker waits for answer()


class CorpusLoad(QObject):
    """One background read of a corpus file; `done(Corpus)` on success, a message box on failure.

    `max_words` sets the word budget (no question asked); None asks for a large file when show_dialogs is True and
    uses DEFAULT_MAX_WORDS otherwise. `budget_dialog` is the question while it is asked; `max_words_used` the
    budget the read used.
    """

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, path: str, parent: QWidget, show_dialogs: bool = True, max_words: int | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.name = Path(path).name
        self.max_words = None if max_words is None else check_max_words(max_words)
        self.max_words_used: int | None = None
        self.estimate: FileEstimate | None = None
        self.budget_dialog: MaxWordsDialog | None = None
        self.dialog: QProgressDialog | None = None  # made when the read proper begins
        self._cancel = threading.Event()
        self._answered = threading.Event()
        self._answer: int | None = None
        self._relay = _Relay()
        self._show = show_dialogs
        self._relay.progress.connect(self._on_progress)
        self._relay.ask.connect(self._on_ask)
        self.worker = FunctionWorker(self._read)
        self.worker.returned.connect(self._on_done)
        self.worker.errored.connect(self._on_error)
        self.worker.finished.connect(self._on_finished)
        cancel = self._cancel
        parent.destroyed.connect(lambda *_: cancel.set())  # a window closed while the question waits: stop

    def start(self) -> None:
        self.worker.start()

    def cancel(self) -> None:
        self._cancel.set()
        if self.budget_dialog is not None:
            self.budget_dialog.reject()

    # -- in the worker thread ------------------------------------------------------------------------------
    def _read(self) -> Corpus:
        budget = self.max_words
        if budget is None:
            budget = DEFAULT_MAX_WORDS
            estimate = self.estimate = estimate_file_words(self.path)
            if estimate is not None and not estimate.exact and estimate.words > LARGE_FILE_WORDS:
                budget = self._ask(estimate)
        self.max_words_used = budget
        return load_corpus_file(
            self.path,
            progress=lambda done, total: self._relay.progress.emit(int(done >> 10), int(max(total, 1) >> 10)),
            cancel=self._cancel.is_set,
            max_words=budget,
        )

    def _ask(self, estimate: FileEstimate) -> int:
        """The word budget the UI answers for a large file (waits, and raises Cancelled when the user cancels)."""
        self._relay.ask.emit(estimate)
        while not self._answered.wait(_ANSWER_POLL_S):
            if self._cancel.is_set():
                raise Cancelled(f"Reading {self.name} was cancelled.")
        if self._answer is None:
            raise Cancelled(f"Reading {self.name} was cancelled.")
        return self._answer

    # -- in the UI thread ----------------------------------------------------------------------------------
    def _on_ask(self, estimate: FileEstimate) -> None:
        if not self._show:
            self._set_answer(DEFAULT_MAX_WORDS)
            return
        self.budget_dialog = MaxWordsDialog(self.parent(), self.name, estimate)
        self.budget_dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.budget_dialog.finished.connect(self._on_answer)
        self.budget_dialog.open()

    def _on_answer(self, result: int) -> None:
        dialog, self.budget_dialog = self.budget_dialog, None
        accepted = result == QDialog.DialogCode.Accepted and dialog is not None
        self._set_answer(dialog.value() if accepted else None)
        if dialog is not None:
            dialog.deleteLater()

    def _set_answer(self, value: int | None) -> None:
        self._answer = value
        self._answered.set()

    def _on_progress(self, done_kib: int, total_kib: int) -> None:
        if self.dialog is None:
            self.dialog = QProgressDialog(f"Reading {self.name}…", "Cancel", 0, 1000, self.parent())
            self.dialog.setWindowTitle("Open corpus")
            self.dialog.setWindowModality(Qt.WindowModality.WindowModal)
            self.dialog.setMinimumDuration(300)
            self.dialog.canceled.connect(self._cancel.set)
        self.dialog.setMaximum(max(1, total_kib))
        self.dialog.setValue(min(done_kib, total_kib))

    def _on_finished(self) -> None:
        if self.dialog is not None:
            self.dialog.reset()

    def _on_done(self, corpus: Corpus) -> None:
        self.done.emit(corpus)

    def _on_error(self, exc: BaseException) -> None:
        if isinstance(exc, Cancelled):
            self.failed.emit("")
            return
        if isinstance(exc, CorpusError):
            text = str(exc)
        else:
            text = f"{self.name} could not be read: {type(exc).__name__}: {exc}"
        self.failed.emit(text)
        if self._show:
            QMessageBox.warning(self.parent(), "Open corpus", text)


def load_corpus_in_background(path: str, parent: QWidget, on_done: Callable[[Corpus], None],
                              show_dialogs: bool = True, max_words: int | None = None) -> CorpusLoad:
    """Start reading `path`; `on_done(corpus)` runs in the UI thread when it is read (its words counted)."""
    load = CorpusLoad(path, parent, show_dialogs, max_words)
    load.done.connect(on_done)
    load.start()
    return load
