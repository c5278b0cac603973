"""What word vectors cost: one word2vec training step against vocabulary size (full softmax against negative
sampling), and the SVD of a co-occurrence matrix against vocabulary size (full against truncated).

Timings are medians of `repeats` timed runs after one untimed warm-up run, taken with one torch thread: on a
shared machine two threads wait on each other at every parallel region and single timings wander by 10-100x;
one thread is what the growth with size needs (the exponent, not the absolute speed).
"""
from __future__ import annotations

import contextlib
import math
import statistics
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

FULL_SOFTMAX, NEGATIVE_SAMPLING = "full softmax", "negative sampling"
OBJECTIVES = (FULL_SOFTMAX, NEGATIVE_SAMPLING)
FULL_SVD, TRUNCATED_SVD = "full SVD", "truncated SVD"
NOISE_TABLE = 1_000_000  # entries of the unigram table negatives are drawn from (as the word2vec job does)


@contextlib.contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run the block with torch on one thread, then restore the thread count it had."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def timed(run: Callable[[], object], repeats: int, cancelled: Callable[[], bool] | None = None) -> list[float]:
    """Seconds of `repeats` calls of `run` after one untimed warm-up call (fewer if cancelled)."""
    run()
    times = []
    for _ in range(repeats):
        if cancelled is not None and cancelled():
            break
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def softmax_step_times(vocab_size: int, objective: str, dim: int = 50, batch: int = 512, negatives: int = 5,
                       repeats: int = 5, seed: int = 0, device: str = "cpu",
                       cancelled: Callable[[], bool] | None = None) -> list[float]:
    """Seconds of one skip-gram SGD step (scores, gradients, update of both tables) on the same batch of
    `batch` (word, context word) pairs, for a vocabulary of `vocab_size` words.

    The full softmax scores every word of the vocabulary for every pair (explorer.models.word2vec's
    skipgram_step without negatives); negative sampling draws `negatives` noise words per pair from a unigram
    table and scores those and the true word only (with them).
    """
    import torch

    from ..models.word2vec import Word2Vec

    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(OBJECTIVES)}, not {objective!r}")
    if vocab_size < 2 or batch < 1 or repeats < 1:
        raise ValueError("Give a vocabulary of 2 words or more, a batch of 1 or more and at least one repeat.")
    dev = torch.device(device)
    gen = torch.Generator(device=dev).manual_seed(seed)
    model = Word2Vec(vocab_size, dim).to(dev)
    with torch.no_grad():
        model.out.weight.normal_(0.0, 0.1, generator=gen)  # a trained table: not all zeros
    centre = torch.randint(0, vocab_size, (batch,), generator=gen, device=dev)
    context = torch.randint(0, vocab_size, (batch,), generator=gen, device=dev)
    table = torch.randint(0, vocab_size, (NOISE_TABLE,), generator=gen, device=dev)
    cuda = dev.type == "cuda"

    def step() -> None:
        if objective == FULL_SOFTMAX:
            model.skipgram_step(centre, context, None, 0.025)
        else:
            draw = torch.randint(0, NOISE_TABLE, (batch * negatives,), generator=gen, device=dev)
            model.skipgram_step(centre, context, table.index_select(0, draw).view(batch, negatives), 0.025)
        if cuda:
            torch.cuda.synchronize(dev)

    with one_torch_thread():
        return timed(step, repeats, cancelled)


def svd_times(matrix, method: str, dim: int = 50, repeats: int = 3, seed: int = 0,
              cancelled: Callable[[], bool] | None = None) -> list[float]:
    """Seconds of decomposing `matrix` (a scipy sparse matrix): the full SVD of the dense matrix (numpy's LAPACK
    gesdd, every singular triplet), or the top-`dim` triplets of the sparse one (PROPACK)."""
    if method == FULL_SVD:
        dense = np.asarray(matrix.toarray(), dtype=np.float64)

        def run() -> object:
            return np.linalg.svd(dense, full_matrices=False)
    elif method == TRUNCATED_SVD:
        from .cooccurrence import sparse_svd

        k = min(dim, min(matrix.shape) - 1)
        m = matrix.tocsr().astype(np.float64)

        def run() -> object:  # PROPACK, or the solver that takes over where it fails (sparse_svd)
            return sparse_svd(m, k, seed, "propack")
    else:
        raise ValueError(f"method must be {FULL_SVD!r} or {TRUNCATED_SVD!r}, not {method!r}")
    with _blas_threads(1):
        return timed(run, repeats, cancelled)


@contextlib.contextmanager
def _blas_threads(n: int) -> Iterator[None]:
    """numpy's BLAS on n threads inside the block, where threadpoolctl is installed (else unchanged)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=n, user_api="blas"):
        yield


def median(times: Sequence[float]) -> float:
    """The median of some timings (NaN for none)."""
    return float(statistics.median(times)) if len(times) else float("nan")


def loglog_slope(sizes: Sequence[float], values: Sequence[float], upper: float = 1.0) -> float:
    """Least-squares slope of log(value) on log(size) over the largest `upper` share of the sizes (at least two
    points): the exponent of the growth, ~1 linear, ~2 quadratic, ~3 cubic, ~0 flat. NaN without two points."""
    n = np.asarray(sizes, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    ok = (n > 0) & (v > 0) & np.isfinite(v)
    n, v = n[ok], v[ok]
    order = np.argsort(n)
    n, v = n[order], v[order]
    keep = max(2, math.ceil(len(n) * upper))
    if len(n) < 2:
        return float("nan")
    return float(np.polyfit(np.log(n[-keep:]), np.log(v[-keep:]), 1)[0])
