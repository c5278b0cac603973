"""The Embeddings tab's methods and views as a user drives them: SVD, projections, negative sampling,
comparison and evaluation."""
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
    qtbot.waitUntil(lambda: tab._snap is not None and tab._snap.step == ended.args[0].step, timeout=10000)
    return ended.args[0]


def test_cooccurrence_svd_trains_from_the_tab_with_heatmap_spectrum_and_map(qtbot, tab):
    tab.family_box.setCurrentIndex(1)
    assert tab.form is tab.svd_form
    tab.svd_form.set_value(SvdConfig(dim=10, window=2, min_count=2, heatmap_words=12))
    _train(qtbot, tab)
    assert tab.pages.currentWidget() is tab.svd_page
    heat = tab.svd_page.heat_panel.heatmaps["counts"].image
    assert heat.shape == (12, 12)
    assert len(tab.svd_page.share_curve) == 10
    assert np.all(np.diff(tab.svd_page.share_curve.y) <= 1e-9)  # a spectrum falls
    assert len(tab.map.positions()) == len(tab._snap.words)
    hits = tab.explorer.look_up("paris")
    assert hits and tab.explorer.words[hits[0][0]] in {"rome", "madrid", "berlin", "tokyo", "cairo", "lisbon",
                                                       "athens"}


def test_slow_projections_say_how_many_words_they_show_and_custom_axes_follow_the_pairs(qtbot, tab):
    tab.w2v_form.set_value(TINY)
    _train(qtbot, tab)
    n_words = len(tab._snap.words)
    tab.sample_box.setValue(60)
    tab.projection_box.setCurrentText("t-SNE")
    qtbot.waitUntil(lambda: len(tab.map.positions()) == 60, timeout=60000)
    assert f"60 most frequent of {n_words:,} words" in tab.projection_note.text()
    assert "t-SNE" in tab.map_panel.plot_item.getAxis("bottom").labelText
    tab.projection_box.setCurrentText("custom axes (word pairs)")
    tab.axis1_edit.setText("man woman")
    tab.axis2_edit.setText("paris rome")
    tab.axis2_edit.returnPressed.emit()
    idx = tab.explorer.index
    expected = pair_axes(np.asarray(tab._snap.vectors), (idx["man"], idx["woman"]), (idx["paris"], idx["rome"]))
    np.testing.assert_allclose(tab.map.positions(), expected, rtol=1e-5, atol=1e-6)
    assert "man → woman" in tab.map_panel.plot_item.getAxis("bottom").labelText
    tab.axis1_edit.setText("man zzzz")
    tab.axis1_edit.returnPressed.emit()
    assert "Not in the vocabulary: zzzz" in tab.projection_note.text()
    tab.projection_box.setCurrentText("PCA")
    assert len(tab.map.positions()) == n_words  # PCA: every word, no cap


def test_trails_follow_a_marked_word_across_snapshots(qtbot, tab):
    tab.w2v_form.set_value(Word2VecConfig(**{**TINY.__dict__, "epochs": 3}))
    tab.trails_box.setChecked(True)
    _train(qtbot, tab)
    tab.explorer.look_up("king")
    i = tab.explorer.index["king"]
    for index in range(tab.timeline.slider.maximum() + 1):  # replay: the map moves snapshot by snapshot
        tab.timeline.set_index(index)
    trail = tab.map.trail(i)
    assert len(trail) >= 3 and np.ptp(trail, axis=0).max() > 0
    x, _ = tab.map.trail_items[0].getData()
    assert x is not None and len(x) == 2 * len(tab.map._marked)  # the newest segment of every marked word


def test_negative_sampling_page_shows_pulls_and_pushes_for_the_searched_word(qtbot, tab):
    tab.w2v_form.set_value(TINY)
    _train(qtbot, tab)
    tab.explorer.look_up("queen")
    tab.pages.setCurrentWidget(tab.ns_page)
    _train(qtbot, tab)  # the searched word is the focus of the next run's snapshots
    page = tab.ns_page
    qtbot.waitUntil(lambda: "'queen'" in page.pull_panel.title, timeout=10000)
    roles = [r[0] for r in page._rows]
    assert "+" in roles and "−" in roles
    assert all(r[3] >= 0 for r in page._rows)
    assert len(page.noise_curve) == len(tab._snap.words)
    # the noise distribution is flatter than the unigram: the top word's share shrinks
    assert page.noise_curve.y[0] < page.unigram_curve.y[0]


def test_two_methods_side_by_side_with_neighbour_quality_by_frequency(qtbot, tab):
    tab.pages.setCurrentWidget(tab.compare_page)
    tab.compare_form.set_value(EmbeddingCompareConfig(method_a="skip-gram", method_b="CBOW", dim=16, window=2,
                                                      min_count=2, epochs=1))
    with qtbot.waitSignal(tab.runner.ended, timeout=120000) as ended:
        tab.compare_page.start_button.click()
    assert ended.args[0].status == "finished", ended.args[0].message
    page = tab.compare_page
    qtbot.waitUntil(lambda: page._last is not None and page._last.step == ended.args[0].step, timeout=10000)
    assert len(page.curve_a) == 3 and len(page.curve_b) == 3  # rare, middle, frequent
    assert all(0 <= v <= 1 for v in np.concatenate([page.curve_a.y, page.curve_b.y]))
    assert "skip-gram" in page.panel_a.title and "CBOW" in page.panel_b.title
    for emap in page.maps:
        assert len(emap.positions()) == len(page._last.words)


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
    qtbot.waitUntil(lambda: any("Spearman" in r[0] for r in getattr(page, "rows", []))
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
    x, y = tab.map.positions()[i]
    view = tab.map_panel.plot_item.getViewBox()
    scene = view.mapViewToScene(QPointF(float(x), float(y)))
    widget_pos = tab.map_panel.plot_widget.mapFromScene(scene)
    qtbot.mouseClick(tab.map_panel.plot_widget.viewport(), Qt.MouseButton.LeftButton, pos=widget_pos)
    qtbot.waitUntil(lambda: tab.explorer.search.text() == "king", timeout=5000)
    assert tab.explorer.neighbours.count() == 10 and tab.map._marked[0] == i
