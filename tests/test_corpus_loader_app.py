"""Opening a corpus in the app: read and counted off the UI thread, and a large file asks how many words to use."""
from __future__ import annotations

import threading

import pytest
from PySide6.QtWidgets import QWidget

from explorer.data.corpus import DEFAULT_MAX_WORDS
from explorer.ui import corpus_loader
from explorer.ui.corpus_loader import load_corpus_in_background

LINE = "It is a truth universally acknowledged that a single man must be in want of a wife.\n"  # 17 words


@pytest.fixture
def parent(qtbot):
    widget = QWidget()
    qtbot.addWidget(widget)
    return widget


@pytest.fixture
def big_file(tmp_path):
    path = tmp_path / "long novel.txt"
    path.write_text(LINE * 6000)  # 500 kB, 102,000 words: more than the sample the estimate reads
    return path


def test_the_file_is_read_and_counted_off_the_ui_thread(qtbot, parent, big_file, monkeypatch):
    threads = []
    real = corpus_loader.load_corpus_file

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(corpus_loader, "load_corpus_file", spy)
    got = []
    load = load_corpus_in_background(str(big_file), parent, got.append, show_dialogs=False)
    with qtbot.waitSignal(load.worker.finished, timeout=20000):
        pass
    qtbot.waitUntil(lambda: bool(got), timeout=5000)
    corpus = got[0]
    assert threads and threads[0] is not threading.main_thread()
    assert "word_ids" in corpus.__dict__  # counted by the read: n_words costs nothing in the UI thread
    assert corpus.n_words == 17 * 6000 and corpus.complete and load.budget_dialog is None
    assert load.max_words_used == DEFAULT_MAX_WORDS


def test_a_large_file_asks_how_many_words_and_uses_the_answer(qtbot, parent, big_file, monkeypatch):
    monkeypatch.setattr(corpus_loader, "LARGE_FILE_WORDS", 1000)
    got = []
    load = load_corpus_in_background(str(big_file), parent, got.append, show_dialogs=True)
    qtbot.waitUntil(lambda: load.budget_dialog is not None and load.budget_dialog.isVisible(), timeout=10000)
    dialog = load.budget_dialog
    text = dialog.info.text()
    assert "long novel.txt is 0.5 MB and holds about" in text and "How many words" in text
    assert dialog.spin.value() == DEFAULT_MAX_WORDS and "MB in memory" in dialog.memory.text()
    dialog.spin.setValue(2500)
    assert "About 2% of the file" in dialog.memory.text()
    dialog.accept()
    qtbot.waitUntil(lambda: bool(got), timeout=20000)
    corpus = got[0]
    assert corpus.n_words == 2500 and not corpus.complete and load.max_words_used == 2500
    assert "used the first 2,500 words" in corpus.notes[-1]


def test_cancelling_the_question_cancels_the_read(qtbot, parent, big_file, monkeypatch):
    monkeypatch.setattr(corpus_loader, "LARGE_FILE_WORDS", 1000)
    got = []
    load = load_corpus_in_background(str(big_file), parent, got.append, show_dialogs=True)
    qtbot.waitUntil(lambda: load.budget_dialog is not None and load.budget_dialog.isVisible(), timeout=10000)
    with qtbot.waitSignal(load.failed, timeout=10000) as failed:
        load.budget_dialog.reject()
    assert failed.args[0] == "" and not got  # cancelled: no message, no corpus


def test_without_dialogs_a_large_file_uses_the_default_budget(qtbot, parent, big_file, monkeypatch):
    monkeypatch.setattr(corpus_loader, "LARGE_FILE_WORDS", 1000)
    monkeypatch.setattr(corpus_loader, "DEFAULT_MAX_WORDS", 4000)
    got = []
    load = load_corpus_in_background(str(big_file), parent, got.append, show_dialogs=False)
    qtbot.waitUntil(lambda: bool(got), timeout=20000)
    assert load.budget_dialog is None and got[0].n_words == 4000 and load.max_words_used == 4000


def test_closing_while_the_question_is_open_ends_the_worker(qtbot, parent, big_file, monkeypatch):
    monkeypatch.setattr(corpus_loader, "LARGE_FILE_WORDS", 1000)
    load = load_corpus_in_background(str(big_file), parent, lambda corpus: None, show_dialogs=True)
    qtbot.waitUntil(lambda: load.budget_dialog is not None, timeout=10000)
    with qtbot.waitSignal(load.worker.finished, timeout=10000):
        load.cancel()
    assert load.budget_dialog is None


def test_a_window_destroyed_while_the_question_waits_ends_the_worker(qtbot, big_file, monkeypatch):
    monkeypatch.setattr(corpus_loader, "LARGE_FILE_WORDS", 1000)
    window = QWidget()
    load = load_corpus_in_background(str(big_file), window, lambda corpus: None, show_dialogs=True)
    worker = load.worker
    qtbot.waitUntil(lambda: load.budget_dialog is not None, timeout=10000)
    with qtbot.waitSignal(worker.finished, timeout=10000):
        window.deleteLater()
