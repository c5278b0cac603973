"""The co-occurrence + SVD job: counts equal the one-shot matrix, the spectrum is exact, classes separate, runs
reopen."""
from __future__ import annotations

import dataclasses
import itertools
import math

import numpy as np
import pytest

from explorer.analysis.cooccurrence import cooccurrence_matrix, ppmi, top_block
from explorer.analysis.neighbours import class_separation, neighbour_purity
from explorer.data.corpus import Corpus
from explorer.training.job import JobContext
from explorer.training.jobs import svd_job
from explorer.training.jobs.svd_job import SvdConfig, SvdJob, SvdSnapshot
from explorer.training.jobs.word2vec_job import EmbeddingSnapshot
from explorer.training.params import validate_config
from explorer.training.record import RunRecorder, new_run_folder, open_run
from explorer.training.runner import FAILED, FINISHED, run_to_end

TEXT = ("the cat sat on the mat . the dog sat on the log . a cat saw a dog . "
        "the dog saw the cat on a mat . a log lay by the mat .") * 6


def _job(**kw) -> SvdJob:
    """A job on the corpus "tiny", which tiny() puts in memory."""
    return SvdJob(SvdConfig(**{"corpus": "tiny", "min_count": 1, "window": 2, "dim": 4, "heatmap_words": 6, **kw}))


def tiny(text: str = TEXT) -> dict[str, Corpus]:
    return {"tiny": Corpus(name="tiny", text=text, source="test")}


@pytest.fixture
def small_chunks(monkeypatch):
    """Count the tiny text in chunks of 7 words, so that pairs straddle chunk boundaries."""
    monkeypatch.setattr(svd_job, "MIN_CHUNK", 7)
    monkeypatch.setattr(svd_job, "CHUNKS", 1000)


def test_defaults_are_valid_and_choices_are_checked():
    assert validate_config(SvdConfig()) == {}
    assert "Weighting" in validate_config(SvdConfig(weighting="log"))["weighting"]
    assert "SVD solver" in validate_config(SvdConfig(solver="dense"))["solver"]
    assert SvdJob.kind == "cooc_svd" and issubclass(SvdSnapshot, EmbeddingSnapshot)


@pytest.mark.parametrize("weighting", ["uniform", "1/distance"])
def test_counting_in_chunks_gives_the_one_shot_matrix(small_chunks, weighting):
    job = _job(weighting=weighting)
    _ticks, final = run_to_end(job, corpora=tiny(), snapshot_interval=0.0)
    assert final.status == FINISHED
    n_words = len(job.ids)
    assert job.n_chunks == math.ceil(n_words / 7) and job.total_steps == job.n_chunks + 1
    expected = cooccurrence_matrix(job.ids, len(job.vocab), window=2, distance_weighting=weighting == "1/distance")
    got = job.counts_matrix()
    if weighting == "uniform":
        assert abs(got - expected).max() == 0
    else:
        np.testing.assert_allclose(got.toarray(), expected.toarray(), rtol=1e-12)
    last = job.snapshot(final.step)
    np.testing.assert_allclose(last.heatmap, top_block(expected, 6), rtol=1e-6)
    assert last.heatmap_words == tuple(job.vocab.words[:6]) and last.weighting == weighting


def test_the_heatmap_fills_in_while_the_corpus_is_counted(small_chunks):
    job = _job()
    job.setup(JobContext(corpora=tiny()))
    counting = [job.snapshot(0)]
    shares = []
    for step in range(job.n_chunks):
        metrics = job.train_step(step)
        assert "loss" not in metrics  # nothing is optimised while counting: no made-up loss
        shares.append(metrics["counted"])
        counting.append(job.snapshot(step + 1))
    assert np.all(np.diff(shares) > 0) and shares[-1] == 1.0
    totals = [float(s.heatmap.sum()) for s in counting]
    assert totals[0] == 0 and all(b >= a for a, b in itertools.pairwise(totals)) and totals[-1] > totals[1] > 0
    assert [s.counted for s in counting] == [0.0, *shares]
    v = len(job.vocab)
    for s in counting:  # the contract of an intermediate snapshot
        assert not s.ready and s.vectors.shape == (v, 0) and s.coords.shape == (v, 2) and not s.coords.any()
        assert s.singular_values.size == 0 and s.explained_variance.size == 0 and math.isnan(s.loss)
        assert s.words == tuple(job.vocab.words) and s.counts.shape == (v,) and s.explained.shape == (2,)
    metrics = job.train_step(job.n_chunks)
    assert set(metrics) == {"loss", "explained"} and 0 < metrics["loss"] < 1
    assert metrics["loss"] == pytest.approx(math.sqrt(1 - metrics["explained"]))
    assert job.snapshot(job.total_steps).ready


def test_the_runner_reports_progress_and_one_loss():
    ticks, final = run_to_end(_job(), corpora=tiny(), snapshot_interval=0.0)
    assert final.status == FINISHED
    rows = [t.metrics for t in ticks if t.metrics] + [final.metrics]
    losses = np.concatenate([r["loss"] for r in rows if "loss" in r])
    assert np.isfinite(losses).sum() == 1  # one honest loss: the SVD's residual, at the last step


def test_vectors_carry_the_exact_top_singular_values(small_chunks):
    job = _job(dim=4)
    _, final = run_to_end(job, corpora=tiny(), snapshot_interval=0.0)
    snap = job.snapshot(final.step)
    m = ppmi(cooccurrence_matrix(job.ids, len(job.vocab), window=2)).toarray()
    dense = np.linalg.svd(m, compute_uv=False)
    np.testing.assert_allclose(snap.singular_values, dense[:4], rtol=1e-5)
    np.testing.assert_allclose(snap.explained_variance, dense[:4] ** 2 / (dense**2).sum(), rtol=1e-5)
    # vectors are U S^0.5: each column's squared norm is its singular value
    np.testing.assert_allclose(np.square(snap.vectors).sum(axis=0), dense[:4], rtol=1e-5)
    residual = math.sqrt((dense[4:] ** 2).sum() / (dense**2).sum())
    assert snap.loss == pytest.approx(residual, rel=1e-5)
    assert snap.ready and snap.ppmi and snap.lr == 0.0 and snap.counted == 1.0
    assert snap.vectors.shape == (len(job.vocab), 4) and snap.coords.shape == (len(job.vocab), 2)
    assert snap.explained.shape == (2,) and 0 < snap.explained.sum() <= 1
    for f in dataclasses.fields(snap):
        value = getattr(snap, f.name)
        if isinstance(value, np.ndarray):
            assert not value.flags.writeable and value.flags.c_contiguous, f.name


def test_raw_counts_can_be_decomposed_without_ppmi(small_chunks):
    job = _job(ppmi=False, dim=3)
    _, final = run_to_end(job, corpora=tiny(), snapshot_interval=0.0)
    dense = np.linalg.svd(cooccurrence_matrix(job.ids, len(job.vocab), window=2).toarray(), compute_uv=False)
    np.testing.assert_allclose(job.snapshot(final.step).singular_values, dense[:3], rtol=1e-5)


def test_words_of_a_class_end_up_together_on_the_synthetic_corpus():
    job = SvdJob(SvdConfig(corpus="builtin:synthetic"))
    _, final = run_to_end(job, snapshot_interval=1e9)
    assert final.status == FINISHED
    snap = job.snapshot(final.step)
    assert snap.vectors.shape[1] == 50 and any(snap.classes)
    # measured: purity 0.94 (0.96 with 1/distance weighting, 1.0 on raw counts), separation 0.75 (0.79, 0.78)
    assert neighbour_purity(snap.vectors, snap.classes, k=5) > 0.85
    assert class_separation(snap.vectors, snap.classes) > 0.55


def test_a_recorded_run_reopens(tmp_path, small_chunks):
    folder = new_run_folder(tmp_path, "cooc_svd")
    job = _job(weighting="1/distance", solver="randomized")
    _, final = run_to_end(job, corpora=tiny(), recorder=RunRecorder(folder, max_snapshots=5), snapshot_interval=0.0)
    assert final.status == FINISHED
    run = open_run(folder)
    assert run.kind == "cooc_svd" and run.config == job.config
    first, last = run.load_snapshot(0), run.load_snapshot(len(run.snapshot_paths) - 1)
    assert isinstance(last, SvdSnapshot) and last.step == job.total_steps and last.ready
    assert isinstance(first, SvdSnapshot) and not first.ready and first.vectors.shape == (len(job.vocab), 0)
    live = job.snapshot(final.step)
    assert last.vectors.dtype == np.float16
    np.testing.assert_allclose(last.vectors, live.vectors, rtol=1e-3, atol=1e-3)
    np.testing.assert_array_equal(last.heatmap, live.heatmap)
    np.testing.assert_array_equal(last.singular_values, live.singular_values)
    assert last.heatmap_words == live.heatmap_words and last.weighting == "1/distance" and last.ppmi is True
    assert "loss" in run.metrics and np.isfinite(run.metrics["loss"]).sum() == 1


def test_a_corpus_too_small_fails_with_a_message():
    _, final = run_to_end(_job(window=2), corpora=tiny("one two three"))
    assert final.status == FAILED and "window" in final.message
    _, final = run_to_end(_job(window=1), corpora=tiny("same same same same same same"))
    assert final.status == FAILED and "vocabulary" in final.message.lower()


def test_a_solver_that_fails_is_replaced_and_the_snapshot_says_which_solver_gave_the_vectors(monkeypatch):
    from explorer.analysis import cooccurrence as cooc

    real = cooc._solve

    def propack_fails(solver, m, k, seed):
        if solver == "propack":
            raise RuntimeError("no convergence (simulated)")
        return real(solver, m, k, seed)

    monkeypatch.setattr(cooc, "_solve", propack_fails)
    monkeypatch.setattr(cooc, "DENSE_SVD_LIMIT", 1)  # the tiny matrix goes the sparse way, as a real one does
    job = _job(solver="PROPACK (exact)")
    _, final = run_to_end(job, corpora=tiny(), snapshot_interval=0.0)
    assert final.status == FINISHED
    snap = job.snapshot(final.step)
    assert snap.solver.startswith("ARPACK (exact) (fallback:") and "no convergence" in snap.solver
    m = ppmi(cooccurrence_matrix(job.ids, len(job.vocab), window=2)).toarray()
    np.testing.assert_allclose(snap.singular_values, np.linalg.svd(m, compute_uv=False)[:4], rtol=1e-5)
    monkeypatch.setattr(cooc, "_solve", real)
    job = _job(solver="PROPACK (exact)")
    _, final = run_to_end(job, corpora=tiny(), snapshot_interval=0.0)
    assert job.snapshot(final.step).solver == "PROPACK (exact)"  # no failure: the setting as it is
