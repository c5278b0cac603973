"""The Embeddings tab's methods and views as a user drives them: SVD, projections, negative sampling,
comparison and evaluation; every panel shows the figure its state built."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.neighbours import pair_axes
from explorer.training.jobs.embedding_compare_job import EmbeddingCompareConfig
from explorer.training.jobs.svd_job import SvdConfig
from explorer.training.jobs.word2vec_job import Word2VecConfig

TINY = Word2VecConfig(dim=16, window=2, negatives=2, epochs=1, batch_size=512, min_count=2)


@pytest.fixture
def tab(app_window):
    tab = app_window.embeddings
    tab.corpus_box.setCurrentIndex(tab.corpus_box.findData("builtin:synthetic"))
    return tab


def _train(qtbot, tab, timeout=60000):
    with qtbot.waitSignal(tab.runner.ended, timeout=timeout) as ended:
        tab.controls.train_btn.click()
    assert ended.args[0].status == "finished", ended.args[0].message
    snap = lambda: tab.main_state.snapshot  # noqa: E731
    qtbot.waitUntil(lambda: snap() is not None and snap().step == ended.args[0].step, timeout=10000)
    return ended.args[0]


def _shown(panel, name):
    """The points of that name on the panel (what the user sees)."""
    return next(p for p in panel.figure.points if p.name == name)


def test_cooccurrence_svd_trains_from_the_tab_with_heatmap_spectrum_and_map(qtbot, tab):
    tab.family_box.setCurrentIndex(1)
    assert tab.form is tab.svd_form
    tab.svd_form.set_value(SvdConfig(dim=10, window=2, min_count=2, heatmap_words=12))
    _train(qtbot, tab)
    assert tab.pages.currentWidget() is tab.svd_page
    snap = tab.main_state.snapshot
    qtbot.waitUntil(lambda: bool(tab.svd_page.heat_panel.figure.heatmaps), timeout=5000)
    heat = tab.svd_page.heat_panel.figure.heatmaps[0]
    assert heat.values.shape == (12, 12) and "log" in heat.scale_label
    np.testing.assert_allclose(heat.values, np.log10(1 + snap.heatmap), rtol=1e-6)
    share = tab.svd_page.spec_panel.figure.series[0].y
    assert len(share) == 10 and np.all(np.diff(share) <= 1e-9)  # a spectrum falls
    tab.pages.setCurrentIndex(0)
    qtbot.waitUntil(lambda: len(tab.cloud.positions()) == len(snap.words), timeout=5000)
    hits = tab.explorer.look_up("paris")
    assert hits and tab.explorer.words[hits[0][0]] in {"rome", "madrid", "berlin", "tokyo", "cairo", "lisbon",
                                                       "athens"}


def test_slow_projections_say_how_many_words_they_show_and_custom_axes_follow_the_pairs(qtbot, tab):
    tab.w2v_form.set_value(TINY)
    _train(qtbot, tab)
    snap = tab.main_state.snapshot
    n_words = len(snap.words)
    tab.sample_box.setValue(60)
    tab.projection_box.setCurrentText("t-SNE")
    qtbot.waitUntil(lambda: len(tab.cloud.positions()) == 60, timeout=60000)
    assert f"60 most frequent of {n_words:,} words" in tab.projection_note.text()
    assert tab.map_panel.figure.x.label == "t-SNE 1" and "t-SNE" in tab.map_panel.figure.title
    tab.projection_box.setCurrentText("custom axes (word pairs)")
    tab.axis1_edit.setText("man woman")
    tab.axis2_edit.setText("paris rome")
    tab.axis2_edit.returnPressed.emit()
    idx = tab.explorer.index
    expected = pair_axes(np.asarray(snap.vectors), (idx["man"], idx["woman"]), (idx["paris"], idx["rome"]))
    qtbot.waitUntil(lambda: tab.map_panel.figure.x.label == "man → woman", timeout=5000)
    np.testing.assert_allclose(tab.cloud.positions(), expected, rtol=1e-5, atol=1e-6)
    tab.axis1_edit.setText("man zzzz")
    tab.axis1_edit.returnPressed.emit()
    assert "Not in the vocabulary: zzzz" in tab.projection_note.text()
    tab.projection_box.setCurrentText("PCA")
    qtbot.waitUntil(lambda: len(tab.cloud.positions()) == n_words, timeout=5000)  # PCA: every word, no cap


def test_trails_follow_a_marked_word_across_snapshots(qtbot, tab):
    tab.w2v_form.set_value(Word2VecConfig(**{**TINY.__dict__, "epochs": 3}))
    tab.trails_box.setChecked(True)
    _train(qtbot, tab)
    tab.explorer.look_up("king")
    i = tab.explorer.index["king"]
    for index in range(tab.timeline.slider.maximum() + 1):  # replay: the map moves snapshot by snapshot
        tab.timeline.set_index(index)
    trail = tab.main_state.trail(i)
    assert len(trail) >= 3 and np.ptp(trail, axis=0).max() > 0
    qtbot.waitUntil(lambda: bool(tab.map_panel.figure.segments), timeout=5000)
    newest = tab.map_panel.figure.segments[0]
    assert len(newest.xy) == 11  # the newest segment of every marked word (the word and its 10 neighbours)


def test_negative_sampling_page_shows_pulls_and_pushes_for_the_searched_word(qtbot, tab):
    tab.w2v_form.set_value(TINY)
    _train(qtbot, tab)
    tab.explorer.look_up("queen")
    tab.pages.setCurrentWidget(tab.ns_page)
    _train(qtbot, tab)  # the searched word is the focus of the next run's snapshots
    page = tab.ns_page
    qtbot.waitUntil(lambda: "'queen'" in page.pull_panel.title, timeout=10000)
    rows = page.pull_panel.figure.data.rows
    roles = [r[0] for r in rows]
    assert "positive" in roles and "negative" in roles and all(r[3] >= 0 for r in rows)
    unigram, noise = page.noise_panel.figure.series
    assert len(noise.y) == len(tab.main_state.snapshot.words)
    assert noise.y[0] < unigram.y[0]  # the noise distribution is flatter: the top word's share shrinks


def test_two_methods_side_by_side_with_neighbour_quality_by_frequency(qtbot, app_window, tab, tmp_path):
    tab.pages.setCurrentWidget(tab.compare_page)
    tab.compare_form.set_value(EmbeddingCompareConfig(method_a="skip-gram", method_b="CBOW", dim=16, window=2,
                                                      min_count=2, epochs=1))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        tab.compare_page.start_button.click()
    assert ended.args[0].status == "finished", ended.args[0].message
    page, state = tab.compare_page, tab.compare_state
    qtbot.waitUntil(lambda: state.snapshot is not None and state.snapshot.step == ended.args[0].step
                    and "skip-gram" in page.quality_panel.title, timeout=10000)
    purity = page.quality_panel.figure.series
    assert [len(s.y) for s in purity] == [3, 3]  # rare, middle, frequent
    assert all(0 <= v <= 1 for s in purity for v in s.y)
    assert "skip-gram" in page.panel_a.title and "CBOW" in page.panel_b.title
    for cloud in page.clouds:
        assert len(cloud.positions()) == len(state.snapshot.words)
    qtbot.waitUntil(lambda: state.source is not None, timeout=5000)  # the recorded run is on the timeline
    assert tab.timeline.slider.maximum() + 1 == len(state.source.steps) >= 2
    tab.timeline.set_index(0)
    assert state.snapshot.step == 0 and len(state.metrics.column("loss:a")) > 0  # the curves stay
    written = app_window.export_all_figures(str(tmp_path), "csv")  # File > Export all figures: the run on show
    assert sorted(p.rsplit("/", 1)[1] for p in written) == sorted(f"{n}.csv" for n in state.figure_names)


def test_evaluation_files_and_the_builtin_score(qtbot, tab, tmp_path):
    tab.w2v_form.set_value(TINY)
    _train(qtbot, tab)
    sim = tmp_path / "sim.tsv"
    sim.write_text("king\tqueen\t9.0\nparis\trome\t8.0\nking\tbread\t1.0\ndog\tsoup\t0.5\nunknownword\tking\t3\n")
    ana = tmp_path / "questions-words.txt"
    ana.write_text(": capital\nparis france rome italy\nrome italy madrid spain\n: broken\nnot four\n")
    tab.pages.setCurrentWidget(tab.eval_page)
    page = tab.eval_page
    assert page.load_similarity(str(sim)) and page.load_analogies(str(ana))
    qtbot.waitUntil(lambda: any("Spearman" in r[0] for r in page.rows)
                    and any(r[0].startswith("analogy file") for r in page.rows), timeout=20000)
    rows = {r[0]: r for r in page.rows}
    assert rows["similarity file: Spearman ρ"][2] == "4 of 5 pairs"
    assert rows["analogy file: accuracy"][2] == "2 of 2"
    assert "built-in: neighbour purity" in rows and "built-in analogies: accuracy" in rows
    bad = tmp_path / "empty.txt"
    bad.write_text("nothing useful here\n")
    assert not page.load_analogies(str(bad))
    assert "Could not read" in page.message.text()


def test_clicking_a_point_searches_its_word(qtbot, tab):
    from PySide6.QtCore import QPointF, Qt

    tab.w2v_form.set_value(TINY)
    _train(qtbot, tab)
    i = tab.explorer.index["king"]
    qtbot.waitUntil(lambda: len(tab.cloud.positions()) > i, timeout=5000)
    x, y = tab.cloud.positions()[i]
    view = tab.map_panel.plot_item.getViewBox()
    scene = view.mapViewToScene(QPointF(float(x), float(y)))
    widget_pos = tab.map_panel.plot_widget.mapFromScene(scene)
    qtbot.mouseClick(tab.map_panel.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=widget_pos)
    qtbot.waitUntil(lambda: tab.explorer.search.text() == "king", timeout=5000)
    assert tab.explorer.neighbours.count() == 10
    qtbot.waitUntil(lambda: _shown(tab.map_panel, "searched word").x.size == 1, timeout=5000)
    assert _shown(tab.map_panel, "searched word").labels == ((0, "king"),)


def test_the_panels_show_the_figures_the_state_builds_and_a_new_corpus_clears_the_search(qtbot, app_window, tab,
                                                                                          tmp_path):
    tab.w2v_form.set_value(TINY)
    _train(qtbot, tab)
    tab.explorer.look_up("king")
    qtbot.waitUntil(lambda: _shown(tab.map_panel, "nearest neighbours").x.size == 10, timeout=5000)
    built = tab.main_state.figure("map")
    shown = tab.map_panel.figure
    assert shown.title == built.title and shown.caption == built.caption
    for name in ("words", "searched word", "nearest neighbours"):
        np.testing.assert_array_equal(_shown(tab.map_panel, name).x, next(p for p in built.points if p.name == name).x)
    np.testing.assert_array_equal(tab.cloud.positions()[:, 0], _shown(tab.map_panel, "words").x)
    np.testing.assert_array_equal(tab.loss_panel.figure.series[0].y, tab.main_state.figure("loss").series[0].y)
    path = tmp_path / "other.txt"
    path.write_text("the cat sat on the mat and the dog sat on the log . " * 200)
    with qtbot.waitSignal(app_window.state.corpusAdded, timeout=10000):
        app_window.open_corpus(str(path), show_dialogs=False)
    tab.corpus_box.setCurrentIndex(tab.corpus_box.findData(str(path)))
    tab.w2v_form.set_value(Word2VecConfig(**{**TINY.__dict__, "min_count": 1}))
    with qtbot.waitSignal(tab.runner.ended, timeout=60000):
        tab.controls.train_btn.click()
    qtbot.waitUntil(lambda: "king" in tab.explorer.message.text() and tab.explorer.neighbours.count() == 0,
                    timeout=10000)
    assert "not in the vocabulary" in tab.explorer.message.text()
    qtbot.waitUntil(lambda: _shown(tab.map_panel, "nearest neighbours").x.size == 0, timeout=5000)
    assert set(tab.main_state.words) <= {"the", "cat", "sat", "on", "mat", "and", "dog", "log", "."}


def test_open_run_replaces_the_map_the_curves_and_the_timeline(qtbot, app_window, tab, tmp_path):
    from explorer.training.jobs.svd_job import SvdJob
    from explorer.training.record import RunRecorder, open_run
    from explorer.training.runner import run_to_end

    tab.w2v_form.set_value(TINY)
    _train(qtbot, tab)
    tab.explorer.look_up("king")
    folder = tmp_path / "svd-run"
    run_to_end(SvdJob(SvdConfig(dim=6, window=2, min_count=2, heatmap_words=8), "cpu"),
               recorder=RunRecorder(folder, max_snapshots=4))
    assert app_window.open_run(str(folder), show_dialogs=False)
    state = tab.main_state
    n = len(open_run(folder).snapshot_paths)
    assert state.source is not None and tab.timeline.slider.maximum() + 1 == len(state.source.steps) == n
    assert tab.family_box.currentIndex() == 1  # the form shows the run's method
    tab.pages.setCurrentIndex(0)
    qtbot.waitUntil(lambda: "Counting co-occurrences" in tab.loss_panel.figure.title, timeout=5000)
    qtbot.waitUntil(lambda: f"at step {state.snapshot.step:,} " in tab.map_panel.figure.title, timeout=5000)
    np.testing.assert_allclose(tab.cloud.positions(), state.snapshot.coords, rtol=1e-6)
    hits = tab.explorer.look_up("king")  # the search now runs on the opened run's vectors
    assert [w.split()[0] for w in (tab.explorer.neighbours.item(i).text() for i in range(3))] == \
        [state.words[i] for i, _ in hits[:3]]
    tab.timeline.set_index(0)  # the first snapshot of a co-occurrence run has no vectors yet
    qtbot.waitUntil(lambda: tab.map_panel.figure.is_empty, timeout=5000)
    assert tab.explorer.neighbours.count() == 0 and not tab.explorer.isEnabled()
    tab.animate("main", "cooccurrence", str(tmp_path / "counts.gif"))  # the panel's Export > Animation
    from PIL import Image

    assert Image.open(tmp_path / "counts.gif").n_frames == n and state.index == 0  # back where the user was
