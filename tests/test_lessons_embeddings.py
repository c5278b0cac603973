"""Word-embedding lessons: the deciders turn other numbers into other verdicts; the cost measurements, the Zipfian
corpus and the comparison's per-method rates and speeds are checked on tiny sizes."""
from __future__ import annotations

import collections

import numpy as np
import pytest
import scipy.sparse as sp

from explorer.analysis.embedding_cost import (
    FULL_SOFTMAX,
    FULL_SVD,
    NEGATIVE_SAMPLING,
    TRUNCATED_SVD,
    loglog_slope,
    softmax_step_times,
    svd_times,
)
from explorer.data.synthetic import make_synthetic_corpus
from explorer.data.zipf import CLASSES, make_zipf_corpus
from explorer.lessons.embeddings import decide_rare, decide_softmax, decide_svd
from explorer.render.run_export import open_state
from explorer.state.embedding_cost import SoftmaxCostState, SvdCostState
from explorer.training.jobs.embedding_compare_job import EmbeddingCompareConfig, EmbeddingCompareJob, method_lr
from explorer.training.jobs.softmax_cost_job import SoftmaxCostConfig, SoftmaxCostJob
from explorer.training.jobs.svd_cost_job import SvdCostConfig, SvdCostJob, split_corpus
from explorer.training.record import RunRecorder
from explorer.training.runner import run_job

SVD_HOLDS = dict(full_slope=2.9, truncated_slope=1.4, full_smallest_s=0.008, full_largest_s=4.9,
                 truncated_largest_s=0.4, smallest_vocab=250.0, largest_vocab=2000.0, svd_update_s=1.4,
                 w2v_update_s=0.2, update_ratio=7.0, svd_base_s=1.3, w2v_base_s=10.0, w2v_in_class=1.0,
                 svd_in_class=0.8, base_words=960000.0, new_words=945.0, neighbours=5.0)
RARE_HOLDS = dict(sg_rare=0.88, cbow_rare=0.68, sg_frequent=0.99, cbow_frequent=0.99, rare_low=4.0, rare_high=20.0,
                  rare_words=134.0, frequent_low=47.0, frequent_high=1503.0, sg_words_per_s=180000.0,
                  cbow_words_per_s=600000.0, speed_ratio=3.3)
SOFTMAX_HOLDS = dict(full_slope=1.05, ns_slope=0.02, full_largest_s=0.64, ns_largest_s=0.0008, ratio=800.0,
                     largest_vocab=100000.0, negatives=5.0, batch=512.0)


def _run(job, tmp_path=None, corpora=None):
    recorder = RunRecorder(tmp_path / "run") if tmp_path is not None else None
    gen = run_job(job, recorder=recorder, corpora=corpora)
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


@pytest.mark.parametrize(("change", "holds"), [
    ({}, True), ({"full_slope": 1.6}, False), ({"update_ratio": 0.6}, False), ({"w2v_in_class": 0.2}, False)])
def test_svd_slow_is_decided_by_the_slope_the_update_times_and_where_the_word_lands(change, holds):
    verdict = decide_svd({**SVD_HOLDS, **change})
    assert verdict.holds is holds
    assert "|V|^" in verdict.evidence and ("did not" in verdict.evidence or "not clearly" in verdict.evidence) != holds


@pytest.mark.parametrize(("change", "holds"), [
    ({}, True), ({"cbow_rare": 0.86}, False), ({"speed_ratio": 1.1}, False)])
def test_rare_words_are_decided_by_the_rare_band_and_the_speed(change, holds):
    verdict = decide_rare({**RARE_HOLDS, **change})
    assert verdict.holds is holds
    assert "134 rarest words (seen 4–20 times)" in verdict.evidence


@pytest.mark.parametrize(("change", "holds"), [
    ({}, True), ({"full_slope": 0.4}, False), ({"ns_slope": 0.8}, False), ({"ratio": 3.0}, False)])
def test_softmax_cost_is_decided_by_both_slopes_and_the_ratio(change, holds):
    verdict = decide_softmax({**SOFTMAX_HOLDS, **change})
    assert verdict.holds is holds and "|V|^" in verdict.evidence


def test_loglog_slope_is_the_exponent_of_a_power_law():
    n = np.array([10.0, 100.0, 1000.0])
    assert loglog_slope(n, 3 * n**2) == pytest.approx(2.0)
    assert loglog_slope(n, np.full(3, 0.5)) == pytest.approx(0.0, abs=1e-12)
    assert loglog_slope(n, [1.0, 1.0, 10.0], upper=0.5) == pytest.approx(1.0)  # the larger two points only
    assert np.isnan(loglog_slope([10.0], [1.0]))


def test_a_step_is_timed_repeats_times_and_a_bad_objective_is_refused():
    for objective in (FULL_SOFTMAX, NEGATIVE_SAMPLING):
        times = softmax_step_times(50, objective, dim=4, batch=8, negatives=2, repeats=3)
        assert len(times) == 3 and all(t > 0 for t in times)
    with pytest.raises(ValueError, match="objective"):
        softmax_step_times(50, "hierarchical softmax")


def test_both_svds_are_timed_and_a_bad_method_is_refused():
    m = sp.random(40, 40, density=0.2, random_state=0, format="csr")
    for method in (FULL_SVD, TRUNCATED_SVD):
        times = svd_times(m, method, dim=5, repeats=2)
        assert len(times) == 2 and all(t > 0 for t in times)
    with pytest.raises(ValueError, match="method"):
        svd_times(m, "QR")


def test_a_tiny_softmax_measurement_is_recorded_and_drawn_with_its_slopes(tmp_path):
    cfg = SoftmaxCostConfig(vocab_sizes=(50, 200), dim=4, batch=8, repeats=1)
    assert _run(SoftmaxCostJob(cfg, "cpu"), tmp_path).status == "finished"
    state = open_state(tmp_path / "run")
    assert isinstance(state, SoftmaxCostState)
    snap = state.snapshot
    assert list(snap.objectives) == [FULL_SOFTMAX, NEGATIVE_SAMPLING] * 2 and snap.vocab.tolist() == [50, 50, 200, 200]
    fig = state.figure("step_time")
    medians = [s for s in fig.series if s.legend]
    assert [s.name.split(" (")[0] for s in medians] == [FULL_SOFTMAX, NEGATIVE_SAMPLING]
    np.testing.assert_allclose(medians[0].y, snap.seconds[[0, 2]])
    assert f"slope {loglog_slope([50, 200], snap.seconds[[0, 2]]):.2f}" in medians[0].name
    assert fig.x.log and fig.y.log and fig.x.unit == "words" and fig.y.unit == "s"
    assert len(fig.table().rows) == 4


def test_the_lines_with_the_new_word_are_split_off():
    corpus = make_synthetic_corpus(400, seed=1)
    base, new = split_corpus(corpus, "honey")
    assert "honey" not in base.words and new.words.count("honey") == corpus.words.count("honey") > 0
    assert len(base.words) + len(new.words) == len(corpus.words)
    assert base.word_classes["honey"] == "food"


def test_a_tiny_svd_cost_run_times_both_methods_and_places_the_new_word(tmp_path):
    corpus = make_synthetic_corpus(3000, seed=2)
    cfg = SvdCostConfig(scaling_corpus="builtin:synthetic", vocab_sizes=(10, 30), repeats=1, corpus="builtin:synthetic",
                        background="", new_word="honey", epochs=1, new_epochs=2, dim=8)
    final = _run(SvdCostJob(cfg, "cpu"), tmp_path, corpora={"builtin:synthetic": corpus})
    assert final.status == "finished", final.message
    state = open_state(tmp_path / "run")
    assert isinstance(state, SvdCostState)
    s = state.snapshot
    assert s.new_word == "honey" and s.new_class == "food" and s.phase == "done"
    assert s.base_words + s.new_words == len(corpus.words)
    assert len(s.w2v_neighbours) == len(s.svd_neighbours) == 5 and "honey" not in s.w2v_neighbours
    assert np.all(np.diff(s.w2v_cosines) <= 1e-9)  # nearest first
    fig = state.figure("new_word")
    np.testing.assert_allclose(np.concatenate([b.height for b in fig.bars]),
                               [s.svd_base_s, s.svd_update_s, s.w2v_base_s, s.w2v_update_s])
    assert "'honey' (food)" in fig.caption
    time_fig = state.figure("svd_time")
    assert {x.name.split(" (")[0] for x in time_fig.series if x.legend} == {FULL_SVD, TRUNCATED_SVD}


def test_the_zipf_corpus_has_genuinely_rare_members_in_every_class():
    corpus = make_zipf_corpus(20000, members=20, seed=3)
    assert make_zipf_corpus(20000, members=20, seed=3).text == corpus.text
    counts = collections.Counter(corpus.words)
    assert len(corpus.word_classes) == 20 * len(CLASSES) and set(corpus.word_classes.values()) == set(CLASSES)
    for cls in CLASSES:
        members = sorted((counts[w] for w, c in corpus.word_classes.items() if c == cls), reverse=True)
        assert members[0] > 10 * members[-1] and members[-1] < 20


def test_each_method_trains_at_its_own_rate_and_reports_its_speed():
    assert method_lr("skip-gram", 0.0) == 0.025 and method_lr("CBOW", 0.0) == 0.05
    assert method_lr("CBOW, full softmax", 0.0) == 0.05 and method_lr("CBOW", 0.1) == 0.1
    corpus = make_synthetic_corpus(500, seed=4)
    cfg = EmbeddingCompareConfig(corpus="builtin:synthetic", dim=8, epochs=1, lr_b=0.07)
    job = EmbeddingCompareJob(cfg, "cpu")
    assert _run(job, corpora={"builtin:synthetic": corpus}).status == "finished"
    snap = job.snapshot(job.total_steps)
    assert snap.lr_a == 0.025 and snap.lr_b == pytest.approx(0.07)
    assert snap.words_per_s_a > 0 and snap.words_per_s_b > 0
