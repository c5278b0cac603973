"""word2vec's compiled CPU engine (explorer.models.word2vec_fast): the same loss and single-step update as the
torch path and as the formulas, the C tool's sampling rules, Hogwild quality on the synthetic corpus, and the
job on it (steps of ~50 ms, pause and stop, a recorded run that reopens). The first run compiles the kernels
(a few seconds); later runs load them from numba's cache."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from explorer.analysis.evaluation import analogy_accuracy
from explorer.analysis.neighbours import class_separation, neighbour_purity
from explorer.data.builtin import load_builtin
from explorer.data.corpus import Corpus
from explorer.models import word2vec_fast as fast
from explorer.models.word2vec import Word2Vec
from explorer.training.control import JobControl
from explorer.training.job import JobContext
from explorer.training.jobs.word2vec_job import Word2VecConfig, Word2VecJob
from explorer.training.params import validate_config
from explorer.training.record import RunRecorder, open_run
from explorer.training.runner import FINISHED, STOPPED, run_to_end
from test_word2vec import tiny_model


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


@pytest.fixture(scope="module")
def synthetic():
    return load_builtin("synthetic")


def tables(model: Word2Vec) -> tuple[np.ndarray, np.ndarray]:
    """Copies of the model's tables, float32 as the job's."""
    return model.inp.weight.detach().numpy().copy(), model.out.weight.detach().numpy().copy()


def job_of(corpus: Corpus, threads: int | None = None, **settings) -> Word2VecJob:
    job = Word2VecJob(Word2VecConfig(corpus="c", **settings), "cpu")
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        job.setup(JobContext(corpora={"c": corpus}))
    finally:
        torch.set_num_threads(before)
    return job


# -- one example, by hand ------------------------------------------------------------------------------------
def test_skipgram_pair_has_the_torch_loss_and_the_hand_computed_sgd_step():
    model = tiny_model()
    inp, out = tables(model)
    c, o, neg, lr = 0, 1, [2, 3], 0.1
    v, U = inp[c].astype(np.float64), out.astype(np.float64)
    losses = np.zeros(1)
    fast.skipgram_examples(inp, out, np.array([c]), np.array([[o, *neg]]), lr, losses)
    torch_loss = model.skipgram_loss(torch.tensor([c]), torch.tensor([o]), torch.tensor([neg]))
    assert losses[0] == pytest.approx(float(torch_loss.detach()), abs=1e-6)
    s_o, s_n = U[o] @ v, U[neg] @ v
    grad_v = -(1 - sigmoid(s_o)) * U[o] + (sigmoid(s_n)[:, None] * U[neg]).sum(0)
    np.testing.assert_allclose(inp[c], v - lr * grad_v, atol=1e-6)
    np.testing.assert_allclose(out[o], U[o] + lr * (1 - sigmoid(s_o)) * v, atol=1e-6)
    np.testing.assert_allclose(out[neg], U[neg] - lr * sigmoid(s_n)[:, None] * v, atol=1e-6)
    untouched = [w for w in range(6) if w not in (o, *neg)]
    np.testing.assert_array_equal(out[untouched], model.out.weight.detach().numpy()[untouched])
    model.skipgram_step(torch.tensor([c]), torch.tensor([o]), torch.tensor([neg]), lr)  # the torch path's step
    np.testing.assert_allclose(inp, model.inp.weight.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(out, model.out.weight.detach().numpy(), atol=1e-6)


def test_cbow_example_has_the_torch_loss_and_the_hand_computed_sgd_step():
    model = tiny_model(seed=1)
    inp, out = tables(model)
    contexts, mask = np.array([[1, 2, 4, 0]]), np.array([[True, True, True, False]])
    centre, neg, lr = 0, [3, 5], 0.1
    W, U = inp.astype(np.float64), out.astype(np.float64)
    losses = np.zeros(1)
    fast.cbow_examples(inp, out, contexts, mask, np.array([centre]), np.array([[centre, *neg]]), lr, losses)
    args = torch.tensor(contexts), torch.tensor(mask), torch.tensor([centre])
    assert losses[0] == pytest.approx(float(model.cbow_loss(*args, torch.tensor([neg])).detach()), abs=1e-6)
    h = W[[1, 2, 4]].mean(0)
    s_c, s_n = U[centre] @ h, U[neg] @ h
    grad_h = -(1 - sigmoid(s_c)) * U[centre] + (sigmoid(s_n)[:, None] * U[neg]).sum(0)
    np.testing.assert_allclose(inp[[1, 2, 4]], W[[1, 2, 4]] - lr * grad_h / 3, atol=1e-6)  # 1/m of h's each
    np.testing.assert_allclose(inp[[0, 3, 5]], W[[0, 3, 5]])
    np.testing.assert_allclose(out[centre], U[centre] + lr * (1 - sigmoid(s_c)) * h, atol=1e-6)
    np.testing.assert_allclose(out[neg], U[neg] - lr * sigmoid(s_n)[:, None] * h, atol=1e-6)
    model.cbow_step(*args, torch.tensor([neg]), lr)
    np.testing.assert_allclose(inp, model.inp.weight.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(out, model.out.weight.detach().numpy(), atol=1e-6)


def test_examples_in_sequence_each_see_the_rows_that_the_one_before_left():
    """Unlike a batch's summed step: the second example of the same pair starts from the first one's result."""
    model = tiny_model()
    inp, out = tables(model)
    once_inp, once_out = inp.copy(), out.copy()
    fast.skipgram_examples(once_inp, once_out, np.array([0]), np.array([[1, 2]]), 0.5, np.zeros(1))
    expected_inp, expected_out = once_inp.copy(), once_out.copy()
    fast.skipgram_examples(expected_inp, expected_out, np.array([0]), np.array([[1, 2]]), 0.5, np.zeros(1))
    fast.skipgram_examples(inp, out, np.array([0, 0]), np.array([[1, 2], [1, 2]]), 0.5, np.zeros(2))
    np.testing.assert_allclose(inp, expected_inp, atol=1e-7)
    np.testing.assert_allclose(out, expected_out, atol=1e-7)


def test_a_saturated_score_gives_no_update_when_right_and_a_full_one_when_wrong():
    """The C tool's rule: beyond |score| 6 the logistic is taken as exactly 1 or 0."""
    inp = np.array([[2.0, 2.0], [0.0, 0.0], [0.0, 0.0]], np.float32)
    out = np.array([[0.0, 0.0], [2.0, 2.0], [2.0, 2.0]], np.float32)  # scores 8 for both words
    lr, losses = 0.1, np.zeros(1)
    fast.skipgram_examples(inp, out, np.array([0]), np.array([[1, 2]]), lr, losses)
    np.testing.assert_array_equal(out[1], [2.0, 2.0])  # the true word, scored right: σ = 1, no step
    np.testing.assert_allclose(out[2], [2.0 - lr * 2.0] * 2, atol=1e-6)  # the noise word: σ = 1, a full step
    np.testing.assert_allclose(inp[0], [2.0 - lr * 2.0] * 2, atol=1e-6)
    assert losses[0] == pytest.approx(np.log1p(np.exp(-8.0)) + 8.0 + np.log1p(np.exp(-8.0)), abs=1e-5)


@pytest.mark.parametrize("method", ["skip-gram", "CBOW"])
def test_at_a_large_rate_each_step_is_capped_as_the_torch_paths(method):
    """lr 50 overshoots: each row then moves at 1 / (its curvature bound), as the torch path's batch of one."""
    model = tiny_model(seed=2)
    inp, out = tables(model)
    lr, losses = 50.0, np.zeros(1)
    if method == "skip-gram":
        fast.skipgram_examples(inp, out, np.array([0]), np.array([[1, 2, 3]]), lr, losses)
        model.skipgram_step(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2, 3]]), lr)
    else:
        contexts, mask = np.array([[1, 2, 4, 0]]), np.array([[True, True, True, False]])
        fast.cbow_examples(inp, out, contexts, mask, np.array([0]), np.array([[0, 3, 5]]), lr, losses)
        model.cbow_step(torch.tensor(contexts), torch.tensor(mask), torch.tensor([0]), torch.tensor([[3, 5]]), lr)
    np.testing.assert_allclose(inp, model.inp.weight.detach().numpy(), atol=1e-5)
    np.testing.assert_allclose(out, model.out.weight.detach().numpy(), atol=1e-5)
    moved = np.abs(out - model.out.weight.detach().numpy()).max()
    assert moved < 1e-5 and np.abs(out - tables(tiny_model(seed=2))[1]).max() < 0.1 * lr  # capped, not lr's


# -- the sampling rules ----------------------------------------------------------------------------------------
def trainer(ids, *, window=1, keep=None, vocab=8, dim=4, table=None, threads=1, seed=0, cbow=False):
    rng = np.random.default_rng(seed)
    inp = ((rng.random((vocab, dim)) - 0.5) / dim).astype(np.float32)
    out = np.zeros((vocab, dim), np.float32)
    keep = np.ones(vocab) if keep is None else keep
    table = np.arange(vocab, dtype=np.int64) if table is None else table
    return fast.HogwildTrainer(np.asarray(ids, np.int64), keep, table, inp, out, cbow=cbow, window=window,
                               negatives=2, threads=threads, seed=seed, total_words=len(ids))


def test_every_word_is_a_centre_once_with_its_window_and_subsampling_keeps_its_share():
    ids = np.arange(1000) % 8
    tr = trainer(ids, window=1)
    assert tr.run(0, 1000, 0, 0.025, key=0)[1] == 2 * 1000 - 2  # window 1: both neighbours, one at the ends
    assert trainer(ids, window=1, cbow=True).run(0, 1000, 0, 0.025, key=0)[1] == 1000  # one example per centre
    pairs = trainer(ids, window=3).run(0, 1000, 0, 0.025, key=0)[1]
    assert 2 * 1000 < pairs < 2 * 3 * 1000  # shrunk at random to 1..3: about 2 * 2 per centre
    assert abs(pairs / 1000 - 4.0) < 0.2
    keep = np.full(8, 0.25)
    kept = trainer(ids, window=1, keep=keep, cbow=True).run(0, 1000, 0, 0.025, key=0)[1]
    assert abs(kept - 250) < 45  # binomial(1000, 0.25): sd 14


def test_the_rate_decays_linearly_with_the_position_in_all_epochs():
    ids = np.arange(400) % 8
    moves = []
    for done in (0, 200, 390):  # rate lr (1 - (done + p) / 400) at position p of 0..9; small: moves ~ rate
        tr = trainer(ids, window=1)
        before = tr.out.copy()
        tr.run(0, 10, done, 0.005, key=0)
        moves.append(float(np.abs(tr.out - before).sum()))
    assert moves[0] > moves[1] > moves[2] > 0
    rate = lambda done: sum(1 - (done + p) / 400 for p in range(10))  # noqa: E731
    assert moves[1] / moves[0] == pytest.approx(rate(200) / rate(0), rel=2e-3)  # first order in lr


def test_noise_words_come_from_the_table_and_never_equal_the_true_word():
    ids = np.zeros(200, np.int64)
    ids[1::2] = 1  # pairs (0, 1) and (1, 0) only
    tr = trainer(ids, window=1, table=np.array([0, 1, 5], np.int64))
    tr.run(0, 200, 0, 0.1, key=0)
    moved = np.flatnonzero(np.abs(tr.out).sum(1))
    assert set(moved) == {0, 1, 5}  # 0, 1 as true words; 5 as noise; the rest of the vocabulary untouched


def test_one_thread_is_deterministic_and_two_threads_share_the_tables():
    ids = np.random.default_rng(0).integers(0, 8, 5000)
    a, b = trainer(ids, window=2), trainer(ids, window=2)
    a.run(0, 5000, 0, 0.1, key=3)
    b.run(0, 5000, 0, 0.1, key=3)
    np.testing.assert_array_equal(a.out, b.out)
    c = trainer(ids, window=2, threads=2)
    loss, examples = c.run(0, 5000, 0, 0.1, key=3)
    assert np.isfinite(loss) and 0.8 * 3 * 5000 < examples < 1.2 * 3 * 5000
    assert np.abs(c.out).sum() > 0


# -- the job ---------------------------------------------------------------------------------------------------
def test_auto_is_compiled_on_the_cpu_for_negative_sampling_only(synthetic):
    job = job_of(synthetic, epochs=1)
    assert job.engine == "compiled" and job._hogwild is not None
    assert job._hogwild.inp is not None and np.shares_memory(job._hogwild.inp, job.model.inp.weight.detach().numpy())
    assert np.shares_memory(job._hogwild.out, job.model.out.weight.detach().numpy())
    assert job_of(synthetic, epochs=1, objective="full softmax").engine == "torch"
    assert job_of(synthetic, epochs=1, engine="torch").engine == "torch"
    problems = validate_config(Word2VecConfig(engine="compiled", objective="full softmax"))
    assert "negative sampling" in problems["engine"]
    assert "engine" in validate_config(Word2VecConfig(engine="fast"))
    with pytest.raises(ValueError, match="runs on the CPU"):
        Word2VecJob(Word2VecConfig(engine="compiled"), "cuda").setup(JobContext(corpora={}))


def test_steps_cover_the_corpus_in_about_fifty_milliseconds_each(synthetic):
    job = job_of(synthetic, epochs=2, threads=1)
    n = len(job.ids)
    assert job.total_steps == 2 * job.steps_per_epoch and job.items_per_step == pytest.approx(2 * n / job.total_steps)
    times, losses = [], []
    for step in range(job.total_steps):
        t0 = time.perf_counter()
        losses.append(job.train_step(step)["loss"])
        times.append(time.perf_counter() - t0)
    assert np.isfinite(losses).all() and losses[-1] < losses[0]
    rate = fast.words_per_second(False, 5, 5, job.config.dim, float(job.vocab.keep_probabilities(1e-3)[job.ids].mean()))
    assert job._hogwild.threads == 1
    assert job.steps_per_epoch == int(np.ceil(n / min(round(rate * 0.05), max(256, n // 50))))
    assert np.median(times) < 0.5  # ~50 ms on a quiet core; slack for a shared, busy machine
    assert job._lr_now < 0.2 * job.config.lr  # decayed nearly to 0 by the end


@pytest.mark.parametrize("method", ["skip-gram", "CBOW"])
def test_hogwild_with_two_threads_reaches_the_torch_paths_quality(synthetic, method):
    """Thresholds as tests/test_word2vec.py's QUALITY for the torch path (class separation lower: per-example
    SGD, as gensim's, separates the synthetic classes less than the batched step; gensim measured 0.53)."""
    settings = {} if method == "skip-gram" else dict(lr=0.1, epochs=10)
    job = job_of(synthetic, threads=2, method=method, **settings)
    assert job._hogwild.threads == 2
    for step in range(job.total_steps):
        job.train_step(step)
    vectors = job.model.inp.weight.detach().numpy()
    assert class_separation(vectors, job.classes) > (0.45 if method == "skip-gram" else 0.65)
    assert neighbour_purity(vectors, job.classes) > 0.9
    assert analogy_accuracy(vectors, job.vocab.index, synthetic.analogies)[0] > (0.75 if method == "skip-gram"
                                                                                    else 0.8)


def test_the_job_pauses_and_stops_promptly_and_records_a_run_that_reopens(synthetic, tmp_path):
    job = Word2VecJob(Word2VecConfig(engine="compiled", epochs=50), "cpu")
    control = JobControl()
    folder = tmp_path / "run"
    result, calls = {}, []
    train_step = job.train_step

    def counted(step):
        calls.append(step)
        return train_step(step)

    job.train_step = counted

    def go():
        result["final"] = run_to_end(job, control, corpora={job.config.corpus: synthetic},
                                     recorder=RunRecorder(folder, max_snapshots=5))[1]

    thread = threading.Thread(target=go)
    thread.start()
    deadline = time.monotonic() + 30
    while len(calls) < 3 and time.monotonic() < deadline:  # training, past set-up (and numba's compile)
        time.sleep(0.01)
    control.pause()
    time.sleep(0.3)  # the step under way ends (~50 ms), then none starts
    paused_at = len(calls)
    time.sleep(0.3)
    assert len(calls) == paused_at
    t0 = time.monotonic()
    control.stop()
    thread.join(5)
    assert not thread.is_alive() and time.monotonic() - t0 < 1.0
    final = result["final"]
    assert final.status == STOPPED and 0 < final.step < job.total_steps
    record = open_run(folder)
    assert record.info["status"] == STOPPED and record.config.engine == "compiled"
    snap = record.load_snapshot(len(record.snapshot_steps()) - 1)
    assert snap.vectors.shape == (len(job.words), job.config.dim) and np.isfinite(snap.vectors).all()


def test_a_finished_compiled_run_trains_to_the_end(synthetic):
    job = Word2VecJob(Word2VecConfig(engine="compiled", epochs=1, dim=8), "cpu")
    _, final = run_to_end(job, corpora={job.config.corpus: synthetic})
    assert final.status == FINISHED and final.step == job.total_steps


def test_numba_is_not_imported_with_the_job_module():
    """numba loads with the kernels' module only, when a job sets up its compiled engine: never at start-up."""
    import subprocess
    import sys

    code = "import sys, explorer.training.jobs; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_the_torch_path_on_a_gpu_reads_the_loss_back_every_few_steps_only(synthetic):
    """Reading the loss waits for the device; on a GPU the torch path does it every loss_every-th step."""
    job = job_of(synthetic, epochs=1, engine="torch")
    assert job.loss_every == 1  # on the CPU: every step
    job.loss_every = 4
    losses = [job.train_step(step)["loss"] for step in range(12)]
    assert losses[:4] == [losses[0]] * 4 and losses[4:8] == [losses[4]] * 4 and losses[8] != losses[4]


def test_with_one_thread_training_is_reproducible_and_snapshots_do_not_shift_it(synthetic):
    settings = dict(dim=8, epochs=1, seed=3)
    plain = job_of(synthetic, threads=1, **settings)
    for step in range(plain.total_steps):
        plain.train_step(step)
    probed = job_of(synthetic, threads=1, focus_word="king", **settings)
    probed.snapshot(0)
    for step in range(probed.total_steps):
        probed.train_step(step)
        if step % 10 == 0:
            probed.set_live("focus_word", ["queen", "paris", "zebra"][step % 3])
            assert probed.snapshot(step + 1).vectors.shape == (len(probed.words), 8)
    np.testing.assert_array_equal(plain.model.inp.weight.detach().numpy(), probed.model.inp.weight.detach().numpy())
    np.testing.assert_array_equal(plain.model.out.weight.detach().numpy(), probed.model.out.weight.detach().numpy())
