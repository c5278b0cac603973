"""The Embeddings tab's states without a window: recorded runs of word2vec, co-occurrence + SVD and the comparison
become figures with the snapshots' own numbers; search, analogies, projections and trails follow the snapshot on
show; every figure exports headless."""
from __future__ import annotations

import csv
import types

import numpy as np
import pytest

from explorer.analysis import neighbours as nb
from explorer.render.run_export import animate_figure, export_figures, open_state
from explorer.state.embedding_compare import EmbeddingCompareState
from explorer.state.embeddings import EmbeddingsState
from explorer.training.jobs.embedding_compare_job import EmbeddingCompareConfig, EmbeddingCompareJob
from explorer.training.jobs.svd_job import SvdConfig, SvdJob
from explorer.training.jobs.word2vec_job import Word2VecConfig, Word2VecJob
from explorer.training.record import RunRecorder, open_run
from explorer.training.runner import run_to_end

W2V = Word2VecConfig(dim=8, window=2, negatives=2, epochs=2, batch_size=256, min_count=2, focus_word="king")
SVD = SvdConfig(dim=6, window=2, min_count=2, heatmap_words=10)
COMPARE = EmbeddingCompareConfig(method_a="skip-gram", method_b="co-occurrence + SVD", dim=8, window=2,
                                 min_count=2, epochs=1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """One small recorded run of each kind the tab shows."""
    root = tmp_path_factory.mktemp("embedding-runs")
    folders = {}
    for kind, job in (("word2vec", Word2VecJob(W2V, "cpu")), ("cooc_svd", SvdJob(SVD, "cpu")),
                      ("embedding_compare", EmbeddingCompareJob(COMPARE, "cpu"))):
        folders[kind] = root / kind
        _, final = run_to_end(job, recorder=RunRecorder(folders[kind], max_snapshots=5))
        assert final.status == "finished", final.message
    return folders


def _snaps(folder):
    run = open_run(folder)
    return run, [run.load_snapshot(i) for i in range(len(run.snapshot_paths))]


def _points(fig, name):
    return next(p for p in fig.points if p.name == name)


def test_word2vec_figures_carry_the_snapshots_numbers(runs):
    state = open_state(runs["word2vec"])
    run, snaps = _snaps(runs["word2vec"])
    assert isinstance(state, EmbeddingsState) and state.figure_names == ("loss", "map", "noise", "pulls")
    last = snaps[-1]
    loss = state.figure("loss")
    np.testing.assert_allclose(loss.series[0].y, run.metrics["loss"])
    assert loss.lines[0].value == pytest.approx(3 * np.log(2))  # k = 2 noise words: (k + 1) ln 2 at the start
    words = _points(state.figure("map"), "words")
    np.testing.assert_allclose(np.column_stack([words.x, words.y]), last.coords, rtol=1e-6)
    assert words.color.shape == (len(last.words), 4) and words.clickable
    assert [w for _, w in words.labels[:3]] == list(last.words[:3])  # the most frequent words are labelled
    noise = state.figure("noise")
    counts = np.sort(np.asarray(last.counts, float))[::-1]
    np.testing.assert_allclose(noise.series[0].y, counts / counts.sum(), rtol=1e-9)
    assert noise.x.log and noise.y.log
    assert noise.series[1].y[0] < noise.series[0].y[0]  # the most frequent word is rarer as noise than as data
    pulls = state.figure("pulls")
    assert "'king'" in pulls.title
    steps = sorted(np.concatenate([last.ns_positive_step, last.ns_negative_step]).tolist())
    drawn = sorted(np.concatenate([s.xy[:, 2] for s in pulls.segments]).tolist())
    np.testing.assert_allclose(drawn, steps, rtol=1e-6)
    assert len(pulls.data.rows) == len(last.ns_positive) + len(last.ns_negative)


def test_search_and_analogy_are_computed_from_the_snapshot_on_show(runs):
    state = open_state(runs["word2vec"])
    snap = state.snapshot
    hits = state.set_query("King ")
    assert [i for i, _ in hits] == [i for i, _ in nb.nearest(np.asarray(snap.vectors, np.float32),
                                                              state.index_of["king"], 10)]
    fig = state.figure("map")
    ring = _points(fig, "nearest neighbours")
    np.testing.assert_allclose(ring.x, np.asarray(snap.coords)[[i for i, _ in hits], 0], rtol=1e-6)
    assert "'king'" in fig.caption and ring.ring
    answers = state.set_analogy("paris", "france", "italy")
    fig = state.figure("map")
    assert len(fig.arrows) == 2 and state.words[answers[0][0]] in fig.caption
    assert state.set_query("notaword") == [] and "not in the vocabulary" in state.search_message
    state.select(0)  # the timeline: answers now come from the first snapshot's vectors
    first = nb.analogy(np.asarray(state.snapshot.vectors, np.float32),
                       *(state.index_of[w] for w in ("paris", "france", "italy")), k=5)
    assert state.analogy_answers() == first


def test_a_new_run_leaves_nothing_of_the_old_one(runs):
    state = open_state(runs["word2vec"])
    state.set_query("king")
    assert state.neighbours()
    state.reset(SVD)  # a new run starts: nothing is on show until its first snapshot
    assert state.neighbours() == [] and state.words == () and state.figure("map").is_empty
    assert state.figure("loss").is_empty
    state.load_run(open_state(runs["cooc_svd"]).source)
    assert state.figure_names == ("loss", "map", "cooccurrence", "spectrum")
    hits = state.neighbours()
    assert hits and all(state.words[i] in state.snapshot.words for i, _ in hits)


def test_svd_figures_show_the_counts_on_a_log_scale_and_the_spectrum(runs):
    state = open_state(runs["cooc_svd"])
    _, snaps = _snaps(runs["cooc_svd"])
    heat = state.figure("cooccurrence").heatmaps[0]
    np.testing.assert_allclose(heat.values, np.log10(1 + snaps[-1].heatmap), rtol=1e-6)
    assert "log" in heat.scale_label and "count" in heat.scale_label
    spectrum = state.figure("spectrum")
    np.testing.assert_allclose(spectrum.series[0].y, snaps[-1].explained_variance, rtol=1e-6)
    np.testing.assert_allclose(spectrum.series[1].y, np.cumsum(snaps[-1].explained_variance), rtol=1e-6)
    state.select(0)  # still counting: no spectrum yet, and the figure says so
    assert state.figure("spectrum").is_empty and "SVD" in state.figure("spectrum").hint
    assert state.figure("map").is_empty


def test_the_comparison_shows_both_maps_losses_and_purity_by_frequency(runs):
    state = open_state(runs["embedding_compare"])
    run, snaps = _snaps(runs["embedding_compare"])
    last = snaps[-1]
    assert isinstance(state, EmbeddingCompareState)
    for name, coords in (("compare_a", last.coords_a), ("compare_b", last.coords_b)):
        pts = _points(state.figure(name), "words")
        np.testing.assert_allclose(np.column_stack([pts.x, pts.y]), coords, rtol=1e-6)
    purity = state.figure("purity")
    np.testing.assert_allclose(purity.series[0].y, last.purity_a)
    np.testing.assert_allclose(purity.series[1].y, last.purity_b)
    assert f"{int(last.bin_size[0])} words" in purity.caption  # the counts behind each band
    loss = state.figure("loss")
    np.testing.assert_allclose(loss.series[0].y, run.metrics["loss:a"][np.isfinite(run.metrics["loss:a"])])


def test_projections_custom_axes_and_stale_results(runs):
    state = open_state(runs["word2vec"])
    snap = state.snapshot
    state.set_projection("custom axes (word pairs)")
    state.set_axes("man woman", "paris rome")
    idx = state.index_of
    expected = nb.pair_axes(np.asarray(snap.vectors), (idx["man"], idx["woman"]), (idx["paris"], idx["rome"]))
    pts = _points(state.figure("map"), "words")
    np.testing.assert_allclose(np.column_stack([pts.x, pts.y]), expected, rtol=1e-5, atol=1e-6)
    assert state.figure("map").x.label == "man → woman"
    state.set_axes("man zzzz", "paris rome")
    assert "zzzz" in state.projection_note and state.figure("map").is_empty
    state.set_projection("t-SNE", 30)
    request = state.projection_request()
    assert request.n == 30 and state.figure("map").is_empty  # placed in the background, then shown
    coords = np.arange(60, dtype=float).reshape(30, 2)
    state.set_projection_result(request.key, types.SimpleNamespace(coords=coords, note="t-SNE of 30 words"))
    np.testing.assert_allclose(_points(state.figure("map"), "words").x, coords[:, 0])
    assert state.projection_request() is None  # this snapshot is placed
    state.reset()
    state.set_projection_result(request.key, types.SimpleNamespace(coords=coords * 0, note=""))  # too late
    assert state.layout() is None


def test_trails_follow_the_marked_words_over_the_snapshots(runs):
    state = open_state(runs["word2vec"])
    _, snaps = _snaps(runs["word2vec"])
    state.set_query("king")
    state.set_trails(True)
    i = state.index_of["king"]
    np.testing.assert_allclose(state.trail(i), [np.asarray(s.coords)[i] for s in snaps], rtol=1e-6)
    newest = state.figure("map").segments[0]
    assert len(newest.xy) == 11  # one segment per marked word: the word and its 10 neighbours
    state.select(1)
    assert len(state.trail(i)) == 2


def test_every_figure_exports_in_every_format_and_an_animation_over_the_run(runs, tmp_path):
    for kind, folder in runs.items():
        state = open_state(folder)
        for fmt in ("png", "svg", "pdf", "csv"):
            paths = export_figures(state, tmp_path / kind, fmt, scale=1.0, size=(480, 360))
            assert len(paths) == len(state.figure_names) and all(p.stat().st_size > 200 for p in paths)
        with open(tmp_path / kind / "map.csv" if kind != "embedding_compare" else tmp_path / kind / "compare_a.csv",
                  newline="", encoding="utf-8") as f:
            header = next(csv.reader(f))
        assert header[0] == "word" and header[3].startswith("x (")
    from PIL import Image

    state = open_state(runs["word2vec"])
    frames = animate_figure(state, "map", tmp_path / "map.gif", size=(320, 240))
    assert frames == len(state.source.steps) == Image.open(tmp_path / "map.gif").n_frames
