"""word2vec's torch engine keeps a GPU busy: a step reads nothing back to the host, and a block of examples, built
for many steps at once, reads back only its size and its pair counts. Checked on the CPU by counting the calls
that would wait for a GPU (a read of a value, a copy to the host, an op whose output size depends on the data)."""
from __future__ import annotations

import math

import pytest
import torch

from explorer.data.builtin import load_builtin
from explorer.training.job import JobContext
from explorer.training.jobs import word2vec_examples
from explorer.training.jobs.word2vec_job import Word2VecConfig, Word2VecJob

# each of these waits for the device before it returns, on a GPU (.numpy() of a GPU tensor raises: .cpu() first)
WAITING = ("item", "tolist", "cpu", "nonzero", "masked_select", "__bool__", "__float__", "__int__",
           "unique", "__index__")


@pytest.fixture
def host_reads(monkeypatch):
    """The number of waiting calls made so far, as a one-item list."""
    count = [0]
    for name in WAITING:
        method = getattr(torch.Tensor, name)

        def counted(self, *args, _method=method, **kwargs):
            count[0] += 1
            return _method(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    for name in ("nonzero", "masked_select", "unique"):
        function = getattr(torch, name)

        def counted_fn(*args, _function=function, **kwargs):
            count[0] += 1
            return _function(*args, **kwargs)

        monkeypatch.setattr(torch, name, counted_fn)
    return count


def _job(method: str, objective: str, block_slots: int) -> Word2VecJob:
    job = Word2VecJob(Word2VecConfig(method=method, objective=objective, engine="torch", batch_size=64, epochs=1,
                                     dim=16), "cpu")
    job.setup(JobContext(corpora={job.config.corpus: load_builtin("synthetic")}))
    job.examples.block_slots = block_slots
    job.loss_every = 10**9  # as on a GPU, where the loss is read every loss_every-th step only
    return job


@pytest.mark.parametrize("method", ["skip-gram", "CBOW"])
@pytest.mark.parametrize("objective", ["negative sampling", "full softmax"])
def test_steps_read_nothing_back_and_a_block_reads_at_most_its_counts(host_reads, method, objective):
    job = _job(method, objective, word2vec_examples.BLOCK_SLOTS_DEVICE)
    job.train_step(0)  # starts the epoch, builds the first block, reads the first loss
    blocks = [job.examples._block[:2]]
    before = host_reads[0]
    steps = min(job.steps_per_epoch, 300)
    for step in range(1, steps):
        job.train_step(step)
        if job.examples._block[:2] != blocks[-1]:
            blocks.append(job.examples._block[:2])
    assert len(blocks) == 1  # one block of a GPU's size holds hundreds of steps of this corpus
    assert host_reads[0] == before  # 299 steps: no call that waits
    assert math.isfinite(job.train_step(steps)["loss"])


@pytest.mark.parametrize("method", ["skip-gram", "CBOW"])
def test_building_a_block_reads_back_three_values_at_most(host_reads, method):
    """Skip-gram: the block's pairs (two selections by the window mask) and the pair counts; CBOW: none."""
    job = _job(method, "negative sampling", 4096)
    job.train_step(0)
    reads, blocks, last = [], 0, job.examples._block[:2]
    for step in range(1, job.steps_per_epoch):
        before = host_reads[0]
        job.train_step(step)
        if job.examples._block[:2] != last:
            blocks, last = blocks + 1, job.examples._block[:2]
            reads.append(host_reads[0] - before)
        else:
            assert host_reads[0] == before
    assert blocks >= 3 and max(reads) == (3 if method == "skip-gram" else 0)

