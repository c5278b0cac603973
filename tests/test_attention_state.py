"""The Attention tab's state without any widget: a recorded tiny-GPT run's snapshots become figures whose data are
the snapshots' own arrays; the selection, a typed text, positions and sampling; headless export."""
from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest

from explorer.render.run_export import open_state
from explorer.state.attention import AttentionState, text_view
from explorer.state.attention_view import head_hit_rates
from explorer.training.jobs.gpt_job import GptConfig, GptJob, attention_for_text
from explorer.training.record import RunRecorder, open_run
from explorer.training.runner import run_to_end

SMALL = dict(task="repeat", layers=2, heads=2, width=16, context=16, batch_size=16, steps=30, lr=1e-2)
T = 15  # repeat with context 16: 8 letters, then the first 7 again


def _record(folder, **kw):
    job = GptJob(GptConfig(**{**SMALL, **kw}))
    _, final = run_to_end(job, recorder=RunRecorder(folder), snapshot_interval=0.0, snapshot_share=0.5)
    assert final.status == "finished", final.message
    return folder


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    return _record(tmp_path_factory.mktemp("gpt"))


@pytest.fixture
def state(run_dir):
    return open_state(run_dir)


def _heat(fig, name):
    return next(h for h in fig.heatmaps if h.name == name)


def _series(fig, name):
    return next(s for s in fig.series if s.name == name)


def test_the_heatmaps_are_the_snapshots_attention_with_the_future_masked(state, run_dir):
    assert isinstance(state, AttentionState)
    run = open_run(run_dir)
    snap = run.load_snapshot(len(run.snapshot_paths) - 1)
    assert state.snapshot.step == snap.step == SMALL["steps"]
    grid = state.figure("grid")
    assert len(grid.heatmaps) == SMALL["layers"] * SMALL["heads"]
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    for layer in range(2):
        for head in range(2):
            tile = _heat(grid, f"layer {layer + 1}, head {head + 1}")
            assert tile.values.shape == (T, T) and tile.nan_color and tile.scale_label.startswith("attention weight")
            assert np.all(np.isnan(tile.values[future]))  # masked keys: NaN, drawn in the grey nan_color
            np.testing.assert_array_equal(tile.values[~future], snap.attention[layer, head][~future])
    assert "step 30" in grid.title and "Grey: masked" in grid.caption
    state.set_head(1, 0)
    head = state.figure("head")
    assert head.title.startswith("Layer 2 · head 1")
    np.testing.assert_array_equal(_heat(head, "layer 2, head 1").values[~future], snap.attention[1, 0][~future])
    needed = next(p for p in head.points if p.ring)  # the keys the task needs, circled
    rows = np.flatnonzero(snap.expected_keys >= 0)
    np.testing.assert_array_equal(needed.y, rows)
    np.testing.assert_array_equal(needed.x, snap.expected_keys[rows])
    assert [t for _, t in head.y.ticks] == list(snap.tokens)  # the enlarged head names its tokens
    # the raw scaled scores: NaN where masked, finite elsewhere
    state.set_mode("scores")
    scores = _heat(state.figure("grid"), "layer 1, head 2")
    np.testing.assert_array_equal(scores.values, snap.scores[0, 1])
    assert "score" in scores.scale_label


def test_the_training_figures_are_the_runs_metrics_and_snapshots(state, run_dir):
    run = open_run(run_dir)
    loss = state.figure("loss")
    steps, values = run.metrics["step"], run.metrics["loss"]
    np.testing.assert_array_equal(_series(loss, "training loss").y, values[np.isfinite(values)])
    val = _series(loss, "validation loss")
    assert list(val.x) == [25, 30] and f"{val.y[-1]:.3f}" in loss.caption
    acc = state.figure("accuracy")
    snaps = [run.load_snapshot(i) for i in range(len(run.snapshot_paths))]
    hits = _series(acc, "best head on the needed key (probe)")
    expected_hits = [head_hit_rates(s.attention, s.expected_keys).max() for s in snaps]
    np.testing.assert_allclose(hits.y, expected_hits)
    accuracy = _series(acc, "validation accuracy")
    assert accuracy.y[-1] == snaps[-1].accuracy and accuracy.x[0] == 0 and accuracy.x[-1] == 30
    assert acc.lines[0].value == snaps[-1].chance and "chance" in acc.lines[0].label
    # the timeline: the first snapshot's heatmaps, the history up to it
    state.select(0)
    assert state.snapshot.step == 0 and "step 0" in state.figure("grid").title
    assert _series(state.figure("loss"), "training loss").x.size == 0 and list(
        _series(state.figure("accuracy"), "validation accuracy").x) == [0]
    assert len(steps) == 30


def test_choosing_a_head_and_a_query_drives_the_token_view_and_the_hover(state):
    snap = state.snapshot
    grid, layout = state.figure("grid"), state.layout("grid")
    side = layout.side * 1.2  # tiles one tile side plus the gap apart
    assert state.hit("grid", side + 3, side + 10) == (1, 1, 10, 3)  # layer 2, head 2, query 10, key 3
    state.set_head(1, 1)
    assert any(s.name == "shown enlarged" for s in state.figure("grid").series)
    state.figure("head")  # hover and clicks answer for the figure last built (the one on screen)
    head_hit = state.hit("head", 1.2, 6.1)
    assert head_hit == (1, 1, 6, 1)
    state.set_query(head_hit[2])
    tokens = state.figure("tokens")
    assert "query 6" in tokens.title and "layer 2, head 2" in tokens.title
    drawn = sum(s.xy.shape[0] for s in tokens.segments)
    assert 1 <= drawn <= 7 and all(s.xy[:, 0].tolist() == [6] * s.xy.shape[0] for s in tokens.segments)
    weights = [row[3] for row in tokens.data.rows]
    np.testing.assert_allclose(weights[:7], snap.attention[1, 1, 6, :7])
    assert sum(weights) == pytest.approx(1.0, abs=1e-4) and len(tokens.data.rows) == T
    text = state.readout("head", 2.0, 5.0)
    assert "query 5" in text and "key 2" in text and f"{snap.attention[1, 1, 5, 2]:.4g}" in text
    assert "masked" in state.readout("head", 9.0, 5.0)
    assert state.readout("tokens", 3.0, 0.0).endswith(f"weight {snap.attention[1, 1, 6, 3]:.4g}")
    assert state.query_at(4.0, 1.0) == 4 and state.query_at(4.0, 0.0) is None
    del grid


def test_a_typed_text_replaces_the_probe_and_a_long_one_is_pooled(state):
    snap = state.snapshot
    assert state.wanted_text() is None
    state.set_text("abcabcab")
    wanted_snap, text = state.wanted_text()
    assert wanted_snap is snap and text == "abcabcab"
    state.set_typed(snap, text_view(snap.step, text, *attention_for_text(snap, snap.alphabet, snap.param_vector,
                                                                           text)))
    assert state.view.tokens == tuple("abcabcab") and state.wanted_text() is None
    assert [t for _, t in state.figure("grid").x.ticks[:8]] == list("abcabcab")
    state.set_text("abcZ")
    state.text_failed("abcZ")  # the model could not read it: the text read before stays
    assert state.text == "abcabcab" and state.view.tokens == tuple("abcabcab")
    long = "abcdefghijklmnop" * 40  # 640 characters, 40 times the context
    state.set_text(long)
    view = text_view(snap.step, long, *attention_for_text(snap, snap.alphabet, snap.param_vector, long))
    state.set_text("something else")
    state.set_typed(snap, view)  # a reading of a text no longer asked for is dropped
    assert state.view.length == 8
    state.set_text(long)
    state.set_typed(snap, view)
    grid, layout = state.figure("grid"), state.layout("grid")
    assert layout.k == 3 and layout.values.shape == (2, 2, 214, 214)  # 1/3 resolution: block maxima
    assert "1/3 resolution" in grid.caption
    full = view.attention[0, 0]
    assert np.isclose(layout.values[0, 0, 100, 10], full[300:303, 30:33].max())
    assert "queries 300–302 → keys 30–32" in state.readout("grid", 31, 301)
    tokens = state.figure("tokens")
    assert state.shown_query == 639 and tokens.x.range[1] - tokens.x.range[0] <= 49
    state.set_text("")
    assert state.view.tokens == snap.tokens
    assert "GB" in state.text_problem("a" * 40000)
    state.reset()
    assert state.view is None and state.typed is None


def test_positions_are_the_models_encoding(tmp_path):
    import torch

    from explorer.models.transformer import position_similarity, positional_encoding_matrix, sinusoidal_encoding
    from explorer.training.jobs.gpt_job import load_model

    state = open_state(_record(tmp_path / "learned", positional="learned", steps=5))
    snap = state.snapshot
    pe, sim = state.figure("positions"), state.figure("similarity")
    model = load_model(snap, snap.alphabet, snap.param_vector)
    table = positional_encoding_matrix("learned", snap.context, snap.width, model)
    np.testing.assert_array_equal(_heat(pe, "encoding").values, table)
    np.testing.assert_allclose(_heat(sim, "cosine").values, position_similarity(table), atol=1e-5)
    assert "step 5" in pe.title and pe.heatmaps[0].scale_label and sim.heatmaps[0].scale_label
    state.reset()
    state.set_form_config(GptConfig(**{**SMALL, "width": 32}))
    pe = state.figure("positions")
    np.testing.assert_allclose(_heat(pe, "encoding").values, sinusoidal_encoding(16, 32).numpy(), atol=1e-5)
    assert np.allclose(np.diag(_heat(state.figure("similarity"), "cosine").values), 1.0, atol=1e-5)
    state.set_form_config(GptConfig(**{**SMALL, "positional": "learned"}))
    assert state.figure("positions").is_empty and "trained" in state.figure("positions").hint
    state.set_form_config(GptConfig(**{**SMALL, "positional": "none"}))
    assert state.figure("positions").title == "No positional encoding"
    del torch


def test_sampling_draws_the_next_characters_odds_and_a_new_run_forgets_them(state):
    from explorer.training.jobs.gpt_job import next_token_probs

    snap = state.snapshot
    labels, probs = next_token_probs(snap, snap.alphabet, snap.param_vector, "abcdabcd", 0.8, 5)
    epoch = state.generation.epoch
    state.generation.set_result(snap.step, "abcdabcd", 0.8, 5, "efgh", labels, probs, epoch)
    bars = state.figure("next")
    keep = int((probs > 0).sum())
    assert 1 <= keep <= 5 and "top-k 5" in bars.title
    np.testing.assert_allclose(bars.bars[0].height, probs[:keep])
    assert [t for _, t in bars.x.ticks] == list(labels[:keep]) and len(bars.data.rows) == keep
    state.reset()
    assert state.figure("next").is_empty
    state.generation.set_result(snap.step, "abcdabcd", 0.8, 5, "efgh", labels, probs, epoch)  # too late: dropped
    assert state.generation.sample is None


def test_every_figure_exports_headless_and_the_grid_animates_over_the_snapshots(state, run_dir, tmp_path, qapp):
    from PIL import Image

    from explorer.render.run_export import animate_figure, export_figures

    for fmt in ("png", "svg", "pdf", "csv"):
        paths = export_figures(state, tmp_path / fmt, fmt)
        assert sorted(p.stem for p in paths) == sorted(state.figure_names)
        assert all(p.stat().st_size > 300 for p in paths)
    with open(tmp_path / "csv" / "grid.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * T * T and {"layer", "head", "query", "key", "weight", "masked"} <= set(rows[0])
    masked = [r for r in rows if int(r["key"]) > int(r["query"])]
    assert masked and all(r["masked"] == "True" and float(r["weight"]) == 0.0 for r in masked)
    with open(tmp_path / "csv" / "accuracy.csv", encoding="utf-8") as fh:
        assert any(r["element"] == "reference line" for r in csv.DictReader(fh))  # chance is in the CSV
    gif = tmp_path / "grid.gif"
    assert animate_figure(state, "grid", gif) == len(state.source.steps)
    assert Image.open(gif).n_frames == len(open_run(run_dir).snapshot_paths)


def test_the_state_imports_neither_qt_nor_torch():
    code = ("import sys, explorer.state.attention; "
            "print(sorted(m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
