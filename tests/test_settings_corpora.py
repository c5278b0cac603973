"""The app remembers the text files a user read, each tab's corpus and its splitter sizes: a new window lists the
files (unread until chosen or trained on), chooses them where they were chosen, forgets files that are gone, and
puts the panes back as they were; Reset to defaults puts both back."""
from __future__ import annotations

import pytest
from PySide6.QtWidgets import QSplitter

from explorer.app import create_window
from explorer.training.jobs.word2vec_job import Word2VecConfig

pytestmark = pytest.mark.usefixtures("light_theme_afterwards")
TEXT = "the cat sat on the mat and the dog sat on the log . "


def open_window(qtbot):
    _, win = create_window("cpu", None, warm=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def read(qtbot, win, path) -> None:
    with qtbot.waitSignal(win.state.corpusAdded, timeout=10000):
        win.open_corpus(str(path), show_dialogs=False)


def choose(box, spec) -> None:
    """Pick an item as a user does (activated is what a click on an item sends)."""
    index = box.findData(spec)
    assert index >= 0, spec
    box.setCurrentIndex(index)
    box.activated.emit(index)


def test_files_read_come_back_listed_unread_and_chosen_where_they_were(qtbot, tmp_path):
    notes, gone = tmp_path / "notes.txt", tmp_path / "gone.txt"
    notes.write_text(TEXT * 100)
    gone.write_text("a b c d e f " * 100)
    win = open_window(qtbot)
    read(qtbot, win, gone)
    read(qtbot, win, notes)
    assert win.embeddings.corpus_box.spec() == str(notes)  # the last file read is chosen (as before)
    choose(win.attention.corpus_box, "builtin:austen")
    win.close()
    gone.unlink()

    win = open_window(qtbot)
    box = win.embeddings.corpus_box
    assert box.spec() == str(notes) and box.currentText() == "notes.txt (not read yet)"
    assert str(notes) not in win.state.corpora  # nothing is read at start-up
    assert box.findData(str(gone)) < 0  # a file that is gone is forgotten
    assert win.attention.corpus_box.spec() == "builtin:austen"
    assert win.attention.corpus_box.findData(str(notes)) >= 0  # every box lists it
    with qtbot.waitSignal(win.state.corpusAdded, timeout=10000):
        choose(box, str(notes))  # choosing it reads it again, in the background
    assert str(notes) in win.state.corpora and "not read yet" not in box.currentText()
    win.close()


def test_a_job_trains_on_an_unread_remembered_file(qtbot, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text(TEXT * 100)
    win = open_window(qtbot)
    read(qtbot, win, notes)
    win.close()

    win = open_window(qtbot)
    tab = win.embeddings
    assert tab.corpus_box.spec() == str(notes) and str(notes) not in win.state.corpora
    tab.w2v_form.set_value(Word2VecConfig(dim=8, window=2, min_count=1, epochs=1, batch_size=64))
    with qtbot.waitSignal(tab.runner.ended, timeout=60000):
        tab.controls.train_btn.click()
    qtbot.waitUntil(lambda: tab.main_state.snapshot is not None, timeout=10000)
    assert set(tab.main_state.words) <= set(TEXT.split())  # the job read the file itself
    win.close()


def test_splitter_sizes_come_back_and_reset_puts_them_back(qtbot):
    win = open_window(qtbot)
    win.resize(win.width(), 640)  # the offscreen screen is 800 x 800: a size that fits it comes back whole
    splitter = win.embeddings.findChildren(QSplitter)[0]
    qtbot.waitUntil(lambda: sum(splitter.sizes()) > 0)
    default = splitter.sizes()
    total = sum(default)
    wanted = [total * 45 // 100, total - total * 45 // 100]  # the map smaller, the curves taller
    splitter.setSizes(wanted)
    assert splitter.sizes() == wanted
    win.close()

    win = open_window(qtbot)
    splitter = win.embeddings.findChildren(QSplitter)[0]
    qtbot.waitUntil(lambda: _share(splitter.sizes()) == pytest.approx(_share(wanted), abs=0.01), timeout=3000)
    assert win.settings.reset(win, win._built, confirm=False)
    assert _share(splitter.sizes()) == pytest.approx(_share(default), abs=0.01)
    win.close()


def _share(sizes):
    return sizes[0] / sum(sizes)


def test_stored_splitter_garbage_is_ignored(qtbot):
    from explorer.ui.settings import AppSettings

    store = AppSettings()
    store.put("tabs/embeddings/splitters", [[-5, "x"], [1, 2, 3]])
    store.put("tabs/embeddings/corpus", "/no/such/file.txt")
    store.put("corpora/recent", ["/no/such/file.txt", 7, None])
    store.qsettings.sync()
    win = open_window(qtbot)
    assert win.embeddings.corpus_box.spec() == "builtin:synthetic"
    assert win.state.recent_files == []
    assert all(sum(s.sizes()) > 0 for s in win.embeddings.findChildren(QSplitter))
    win.close()
