"""The app as a user sees it: the window, its tabs and menus, a real training run, bad input, closing mid-run."""
from __future__ import annotations

import gzip

import pytest
from PySide6.QtCore import Qt, QThreadPool
from PySide6.QtWidgets import QApplication

from explorer.app import create_window
from explorer.training.jobs.word2vec_job import Word2VecConfig

TINY = Word2VecConfig(dim=8, window=2, negatives=2, epochs=1, batch_size=256, min_count=2)


@pytest.fixture
def window(app_window):
    return app_window


def _train(qtbot, win, config=TINY, corpus="builtin:synthetic", timeout=60000):
    tab = win.embeddings
    tab.form.set_value(config)
    tab.corpus_box.setCurrentIndex(tab.corpus_box.findData(corpus))
    with qtbot.waitSignal(win.state.runner.ended, timeout=timeout) as ended:
        qtbot.mouseClick(tab.controls.train_btn, __import__("PySide6.QtCore").QtCore.Qt.MouseButton.LeftButton)
    return ended.args[0]


def test_the_window_has_its_title_tabs_and_menus(window):
    assert window.windowTitle() == "Sequence Model Explorer"
    tabs = [window.tabs.tabText(i).replace("&&", "&") for i in range(window.tabs.count())]
    assert tabs == ["Embeddings", "Recurrent", "Convolution", "Attention", "Pre-train & fine-tune"]
    assert [a.text().replace("&", "") for a in window.menuBar().actions()] == ["File", "View", "Lessons", "Help"]
    file_items = [a.text().replace("&", "") for a in window.menus["file"].actions() if not a.isSeparator()]
    assert file_items == ["Open corpus…", "Open run…", "Recorded runs…", "Export figure…",
                          "Export all figures of this tab…", "Quit"]
    assert "Device: CPU (test)" in window.device_label.text()


def test_every_tab_fits_a_1280x720_screen(qtbot, window):
    """A lecture-hall projector: the window must not grow past 1280 x 660 (720 less a title bar and a taskbar);
    figure areas scroll instead, and the panels on show keep readable plots."""
    window.resize(1280, 660)
    window.show()
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        qtbot.wait(50)
        hint = window.minimumSizeHint()
        assert hint.width() <= 1280 and hint.height() <= 660, (window.tabs.tabText(i), hint)
        assert window.width() <= 1280 and window.height() <= 660, (window.tabs.tabText(i), window.size())
    window.tabs.setCurrentIndex(0)
    assert _train(qtbot, window).status == "finished"  # captions and legends appear: still no taller
    qtbot.wait(100)
    assert window.minimumSizeHint().height() <= 660 and window.height() <= 660, window.minimumSizeHint()
    gates = window.recurrent.state_panels["h"]
    assert gates.minimumWidth() >= 200 and gates.minimumHeight() >= 200  # a heatmap is never a sliver


@pytest.mark.parametrize(("screen_width", "floats"), [(1280, True), (1366, True), (1920, False)])
def test_the_lessons_dock_opens_beside_the_window_only_where_both_fit(window, monkeypatch, screen_width, floats):
    from PySide6.QtCore import QRect

    from explorer.ui.lessons_menu import LessonsMenu

    room = QRect(0, 0, screen_width, 680)
    monkeypatch.setattr(LessonsMenu, "_screen_room", lambda self: room)
    dock = window.lessons.show_dock()
    assert dock.isVisible() and dock.isFloating() == floats
    if floats:  # a window of its own at the screen's right edge; the main window still fits the screen
        assert room.contains(dock.geometry()) and dock.geometry().right() == room.right()
        assert window.minimumSizeHint().width() <= screen_width
    else:
        assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
        assert window.minimumSizeHint().width() <= screen_width


def test_about_names_the_versions_and_the_device(window):
    import torch

    text = window.about_text()
    for needle in ("Python", "PyTorch", torch.__version__, "Qt", "CPU (test)"):
        assert needle in text


def test_warm_up_finds_the_device_without_blocking_the_window(qtbot):
    _, win = create_window("cpu", warm=True)
    qtbot.addWidget(win)
    win.show()
    assert "detecting" in win.device_label.text()  # the window is up before torch is
    qtbot.waitUntil(lambda: "CPU" in win.device_label.text(), timeout=30000)
    win.close()
    assert QThreadPool.globalInstance().waitForDone(10000)


def test_training_from_the_ui_draws_the_loss_and_the_map(qtbot, window):
    final = _train(qtbot, window)
    tab = window.embeddings
    assert final.status == "finished"
    assert len(tab.loss_panel.figure.series[0].y) == final.step  # every step's loss reached the curve
    snap = tab.main_state.snapshot
    assert snap is not None and snap.coords.shape == (len(snap.words), 2)
    assert tab.cloud.point_words() == list(snap.words)  # every word is a point
    words = next(p for p in tab.map_panel.figure.points if p.name == "words")
    assert [w for _, w in words.labels[:3]] == list(snap.words[:3])  # the most frequent are labelled
    assert "finished" in tab.controls.progress.format()
    # the finished run was recorded and is now on the timeline
    assert tab.timeline.slider.isEnabled() and tab.timeline.slider.maximum() >= 1
    tab.timeline.set_index(0)
    assert tab.main_state.snapshot.step == 0
    qtbot.waitUntil(lambda: "at step 0 " in tab.map_panel.figure.title, timeout=5000)  # drawn at the next frame


def test_hidden_tab_catches_up_when_shown(qtbot, window):
    tab = window.embeddings
    window.tabs.setCurrentIndex(1)
    final = _train(qtbot, window)
    assert final.status == "finished"
    window.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: tab.map_panel.figure is not None and f"at step {final.step:,} " in
                    tab.map_panel.figure.title, timeout=5000)


def test_invalid_settings_are_refused_in_the_form(qtbot, window):
    tab = window.embeddings
    field = tab.form.widget_for("lr")
    field.clear()
    qtbot.keyClicks(field, "-1")
    assert not tab.form.is_valid()
    qtbot.mouseClick(tab.controls.train_btn, __import__("PySide6.QtCore").QtCore.Qt.MouseButton.LeftButton)
    assert not window.state.runner.is_active()
    assert tab.banner.isVisible() and "Learning rate" in tab.banner.text()


def test_a_corpus_too_small_for_the_window_says_so(qtbot, window, tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("one two three one two three")
    with qtbot.waitSignal(window.state.corpusAdded, timeout=10000):
        window.open_corpus(str(path), show_dialogs=False)
    final = _train(qtbot, window, Word2VecConfig(min_count=1, window=10, epochs=1), corpus=str(path))
    assert final.status == "failed"
    assert window.embeddings.banner.isVisible() and "window" in window.embeddings.banner.text()


def test_diverging_training_stops_with_a_message_and_the_app_goes_on(qtbot, window, monkeypatch):
    # word2vec's capped step no longer diverges at any allowed rate (lr 10 trains: tests/test_word2vec_stability.py),
    # so a step that goes non-finite after a few steps stands in for a run that blows up.
    from explorer.models.word2vec import Word2Vec

    real_step, calls = Word2Vec.skipgram_ns_step, []

    def blowing_up(self, *args, **kwargs):
        calls.append(1)
        losses = real_step(self, *args, **kwargs)
        return losses * float("inf") if len(calls) > 20 else losses

    with monkeypatch.context() as patch:  # undoes this patch only (monkeypatch.undo() would also undo conftest's)
        patch.setattr(Word2Vec, "skipgram_ns_step", blowing_up)
        final = _train(qtbot, window, Word2VecConfig(dim=8, window=2, epochs=1, batch_size=256, min_count=2,
                                                     lr=10.0, engine="torch"))  # the patched step is the torch path's
    tab = window.embeddings
    assert final.status == "diverged"
    assert tab.banner.isVisible() and "diverged" in tab.banner.text()
    assert tab.main_state.snapshot is not None and not tab.map_panel.figure.is_empty  # the last good map stays
    assert _train(qtbot, window).status == "finished"  # and the app still trains


@pytest.mark.parametrize(
    "content, expected",
    [(b"", "empty"), (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary")],
)
def test_bad_corpus_files_get_a_clear_message(qtbot, window, tmp_path, content, expected):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    load = window.open_corpus(str(path), show_dialogs=False)
    with qtbot.waitSignal(load.failed, timeout=10000) as failed:
        pass
    assert expected in failed.args[0]
    assert expected in window.statusBar().currentMessage()
    assert window.embeddings.corpus_box.findData(str(path)) < 0


def test_a_latin1_file_opens_with_a_note(qtbot, window, tmp_path):
    path = tmp_path / "café.txt.gz"
    path.write_bytes(gzip.compress(("Le café est très bon. " * 50).encode("latin-1")))
    with qtbot.waitSignal(window.state.corpusAdded, timeout=10000):
        window.open_corpus(str(path), show_dialogs=False)
    assert window.embeddings.corpus_spec() == str(path)
    assert "replaced" in window.statusBar().currentMessage()


def test_open_run_replays_and_a_damaged_run_gets_a_message(qtbot, window, tmp_path):
    _train(qtbot, window)
    folder = window.embeddings._live_folder
    assert window.open_run(str(folder), show_dialogs=False)
    assert window.embeddings.timeline.slider.maximum() >= 1
    (folder / "config.json").write_text("{broken")
    assert not window.open_run(str(folder), show_dialogs=False)
    assert "damaged" in window.statusBar().currentMessage()
    assert not window.open_run(str(tmp_path / "missing"), show_dialogs=False)


def test_theme_switch_changes_the_palette(window):
    app = QApplication.instance()
    light = app.palette().window().color().lightness()
    window.set_theme("dark")
    assert app.palette().window().color().lightness() < light
    window.set_theme("light")


def test_closing_the_window_mid_training_leaves_no_thread(qtbot):
    _, win = create_window("cpu", warm=False)
    win.state.set_device("cpu", "CPU")
    win.show()
    tab = win.embeddings
    tab.form.set_value(Word2VecConfig(dim=8, epochs=50, batch_size=64))
    tab.corpus_box.setCurrentIndex(tab.corpus_box.findData("builtin:synthetic"))
    tab.start_training()
    qtbot.waitUntil(lambda: win.state.runner.snapshots_received > 2, timeout=30000)
    assert win.state.runner.is_active()
    win.close()
    assert QThreadPool.globalInstance().waitForDone(5000)
    assert not win.state.runner.is_active() or win.state.runner.status in ("stopped", "running")


def test_reading_a_large_file_can_be_cancelled(qtbot, window, tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("the quick brown fox jumps over the lazy dog\n" * 600_000)  # ~26 MB
    load = window.open_corpus(str(path), show_dialogs=False)
    load.cancel()
    with qtbot.waitSignal(load.failed, timeout=20000) as failed:
        pass
    assert failed.args[0] == ""  # cancelled, not an error
    assert "cancelled" in window.statusBar().currentMessage()
    assert window.embeddings.corpus_box.findData(str(path)) < 0


def test_search_analogy_and_vector_export_from_the_tab(qtbot, window, tmp_path):
    from explorer.export.vectors import read_word2vec_text

    _train(qtbot, window)
    explorer = window.embeddings.explorer
    assert explorer.isEnabled()
    explorer.search.clear()
    qtbot.keyClicks(explorer.search, "king")
    qtbot.keyClick(explorer.search, __import__("PySide6.QtCore").QtCore.Qt.Key.Key_Return)
    assert explorer.neighbours.count() == 10
    assert "king" not in explorer.neighbours.item(0).text()  # the word itself is not its own neighbour
    window.embeddings._draw_dirty()
    rings = {p.name: p for p in window.embeddings.map_panel.figure.points if p.ring}
    assert rings["searched word"].labels == ((0, "king"),)  # query and neighbours ringed on the map
    assert rings["nearest neighbours"].x.size == 10
    explorer.search.setText("notaword")
    assert explorer.look_up("notaword") == [] and "not in the vocabulary" in explorer.message.text()
    explorer.a.setText("paris")
    explorer.b.setText("france")
    explorer.c.setText("italy")
    qtbot.mouseClick(explorer.solve, __import__("PySide6.QtCore").QtCore.Qt.MouseButton.LeftButton)
    assert explorer.answers.count() == 5
    assert all(w not in explorer.answers.item(0).text().split()[0] for w in ("paris", "france", "italy"))
    window.embeddings._draw_dirty()
    assert len(window.embeddings.map_panel.figure.arrows) == 2
    explorer.export_vectors("w2v", str(tmp_path / "v.txt"))
    words, vectors = read_word2vec_text(tmp_path / "v.txt")
    snap = window.embeddings.main_state.snapshot
    assert words == list(snap.words) and vectors.shape == snap.vectors.shape
    explorer.export_vectors("tsv", str(tmp_path / "v.tsv"), str(tmp_path / "meta.tsv"))
    meta = (tmp_path / "meta.tsv").read_text().splitlines()
    assert meta[0].split("\t")[:2] == ["word", "count"] and len(meta) == len(words) + 1


def test_later_tabs_are_built_when_first_shown_and_open_their_own_runs(qtbot, window, tmp_path):
    """Only the first tab is built at start-up; a recorded run of another tab's kind opens (and builds) that tab."""
    from explorer.training.jobs.gpt_job import GptConfig, GptJob
    from explorer.training.record import RunRecorder
    from explorer.training.runner import run_to_end

    assert "Attention" not in window._built
    folder = tmp_path / "gpt-run"
    job = GptJob(GptConfig(task="copy", layers=1, heads=1, width=8, context=8, batch_size=4, steps=3))
    recorder = RunRecorder(folder)
    run_to_end(job, recorder=recorder)
    assert window.open_run(str(folder), show_dialogs=False)
    assert window.tabs.currentWidget() is window.attention and "Attention" in window._built
    assert window.attention.timeline.slider.maximum() >= 1
    window.tabs.setCurrentIndex(1)  # a click on a tab that was never shown builds it
    assert window.tabs.currentWidget() is window.recurrent and type(window.recurrent).__name__ == "RecurrentTab"


def test_a_file_opened_before_a_tab_is_built_is_in_that_tabs_corpus_list(qtbot, window, tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text("The cat sat on the mat and the dog sat on the log. " * 100)
    with qtbot.waitSignal(window.state.corpusAdded, timeout=10000):
        window.open_corpus(str(path), show_dialogs=False)
    assert "Attention" not in window._built
    box = window.attention.corpus_box
    assert box.spec() == str(path) and box.findData("builtin:austen") >= 0
    assert window.embeddings.corpus_box.spec() == str(path)  # a tab built earlier chose it when it was read
