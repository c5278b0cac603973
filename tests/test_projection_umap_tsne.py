"""UMAP (umap-learn) and t-SNE (openTSNE) on the map: finite pictures that keep clusters apart, a map continued
from the previous one stays where it was (a fresh one does not), the exact neighbour search, the libraries load
only when chosen, and the tab's choice runs the projection in the background and draws it."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from explorer.analysis import projection as pj
from explorer.analysis.neighbour_maps import cosine_knn
from explorer.analysis.projection import procrustes_align, project

NEW_METHODS = ("t-SNE", "UMAP")


def _blobs(n: int = 240, k: int = 3, seed: int = 0, spread: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """k well-separated Gaussian blobs in 20-d (directions apart, so cosines separate them too)."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(k), n // k)
    centres = np.zeros((k, 20))
    centres[np.arange(k), np.arange(k)] = 8.0
    return (centres[labels] + spread * rng.normal(size=(n, 20))).astype(np.float32), labels


def _knn_purity(coords: np.ndarray, labels: np.ndarray, k: int = 10) -> float:
    """Share of each point's k nearest 2-D neighbours that are of its blob."""
    d = np.linalg.norm(coords[:, None] - coords[None], axis=2)
    np.fill_diagonal(d, np.inf)
    return float((labels[np.argsort(d, axis=1)[:, :k]] == labels[:, None]).mean())


def _shift(coords: np.ndarray, reference: np.ndarray) -> float:
    """Median distance a point moved, relative to the reference map's rms radius."""
    radius = np.sqrt(np.square(reference - reference.mean(axis=0)).sum(axis=1).mean())
    return float(np.median(np.linalg.norm(coords - reference, axis=1)) / radius)


def test_the_exact_neighbour_search_puts_each_row_first_and_ranks_by_cosine():
    x = np.random.default_rng(0).normal(size=(50, 6)).astype(np.float32)
    x[7] = x[3]  # two words with the same vector: each is still its own first neighbour
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    ids, cos = cosine_knn(unit, 5)
    assert ids.shape == cos.shape == (50, 5) and ids.dtype == np.int64
    np.testing.assert_array_equal(ids[:, 0], np.arange(50))
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    np.testing.assert_allclose(cos[:, 1:], -np.sort(-sims, axis=1)[:, :4], atol=1e-5)
    assert ids[3, 1] == 7 and ids[7, 1] == 3


@pytest.mark.parametrize("method", NEW_METHODS)
def test_each_new_method_gives_finite_coordinates_that_keep_the_blobs_apart(method):
    x, labels = _blobs()
    result = project(method, x)
    assert result.method == method and result.note == f"{method} of all 240 words"
    assert result.coords.shape == (240, 2) and result.coords.dtype == np.float32
    assert np.isfinite(result.coords).all()
    assert _knn_purity(result.coords, labels) >= 0.9


@pytest.mark.parametrize("method", NEW_METHODS)
@pytest.mark.parametrize("n", [5, 12])
def test_a_handful_of_words_still_gets_a_map_and_a_continued_one(method, n):
    x = np.random.default_rng(n).normal(size=(n, 8)).astype(np.float32)
    first = project(method, x)
    again = project(method, x, previous=first.coords)
    assert first.method == again.method == method
    assert first.coords.shape == again.coords.shape == (n, 2)
    assert np.isfinite(first.coords).all() and np.isfinite(again.coords).all()


@pytest.mark.parametrize("method", NEW_METHODS)
def test_a_map_continued_from_the_previous_one_stays_aligned_and_a_fresh_one_does_not(method):
    x, labels = _blobs(n=300, k=6, spread=2.5)  # six blobs: a fresh map may arrange them otherwise
    first = project(method, x, seed=0).coords
    moved = x + 0.6 * np.random.default_rng(5).normal(size=x.shape).astype(np.float32)  # the next snapshot
    continued = project(method, moved, previous=first, seed=1).coords
    fresh = procrustes_align(project(method, moved, seed=1).coords, first)  # aligned as well as it can be
    assert _shift(continued, first) < 0.2  # measured: UMAP 0.13, t-SNE 0.08
    assert _shift(fresh, first) > 2 * _shift(continued, first)  # measured: UMAP 0.46, t-SNE 0.58
    assert _knn_purity(continued, labels) >= 0.8  # and it is still a map of the new vectors (first map: 0.9)


@pytest.mark.parametrize("method", NEW_METHODS)
def test_new_words_land_among_their_neighbours_when_the_sample_grows(method):
    x, labels = _blobs(n=300)
    first = project(method, x, sample=np.arange(0, 300, 2))
    grown = project(method, x, sample=np.arange(300), previous=first.full_coords())
    new = np.arange(1, 300, 2)
    d = np.linalg.norm(grown.coords[new, None] - grown.coords[None, ::2], axis=2)
    assert (labels[::2][d.argmin(axis=1)] == labels[new]).mean() > 0.9
    assert _shift(grown.coords[::2], first.coords) < 0.35


def test_a_missing_library_is_a_one_line_message(monkeypatch):
    monkeypatch.setitem(pj._LIBRARY, "UMAP", ("no_such_module_for_umap", "umap-learn"))
    with pytest.raises(RuntimeError, match=r"^UMAP needs the package umap-learn: pip install umap-learn$"):
        project("UMAP", np.ones((10, 3), dtype=np.float32))
    assert pj.first_use_seconds("UMAP") > 0 and pj.first_use_seconds("PCA") == 0.0


def test_the_window_does_not_load_umap_or_opentsne():
    """They load when chosen (umap's numba code takes seconds): never at start-up."""
    code = ("import sys; import explorer.ui.main_window, explorer.ui.tabs.embeddings, explorer.analysis.projection; "
            "print(sorted(m for m in ('umap', 'openTSNE', 'pynndescent') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- the tab
@pytest.fixture
def tab(app_window):
    tab = app_window.embeddings
    tab.corpus_box.setCurrentIndex(tab.corpus_box.findData("builtin:synthetic"))
    return tab


def test_the_tab_offers_umap_and_opentsne_and_draws_them_from_the_background(qtbot, tab):
    from explorer.training.jobs.word2vec_job import Word2VecConfig

    items = [tab.projection_box.itemText(i) for i in range(tab.projection_box.count())]
    assert {"t-SNE", "UMAP"} <= set(items)
    tab.w2v_form.set_value(Word2VecConfig(dim=16, window=2, negatives=2, epochs=1, batch_size=512, min_count=2))
    with qtbot.waitSignal(tab.runner.ended, timeout=60000):
        tab.controls.train_btn.click()
    qtbot.waitUntil(lambda: tab.main_state.snapshot is not None and tab.main_state.layout() is not None, timeout=10000)
    n_words = len(tab.main_state.snapshot.words)
    tab.sample_box.setValue(80)
    for method in NEW_METHODS:
        tab.projection_box.setCurrentText(method)
        assert tab.tasks.busy("projection")  # submitted to the worker pool: the UI thread goes on
        assert "Placing them" in tab.projection_note.text()
        qtbot.waitUntil(lambda m=method: m in tab.map_panel.figure.title and len(tab.cloud.positions()) == 80,
                        timeout=60000)
        assert tab.map_panel.figure.x.label == f"{method} 1"
        assert f"{method} of the 80 most frequent of {n_words:,} words" in tab.projection_note.text()
        coords = tab.cloud.positions()
        placed = tab.main_state.layout()[1]
        np.testing.assert_allclose(coords, placed, rtol=1e-5, atol=1e-5)
        assert np.isfinite(coords).all() and np.ptp(coords, axis=0).min() > 0
