"""word2vec's CPU fast path: skip-gram and CBOW with negative sampling in compiled code (numba, no GIL), one
lock-free (Hogwild) worker thread per core over the shared weight tables, as gensim and the word2vec C tool do.

The tables are the torch model's own parameters (a CPU tensor's .numpy() shares its memory), so whatever reads
the model (snapshots, probes, exports) sees the vectors this code writes. Per (centre, context) pair the update
is plain sequential SGD, each example at the rows' current values (explorer.models.word2vec gives the losses and
gradients), with the C tool's rules:

- frequent-word subsampling drawn word by word with the keep probability of Vocab.keep_probabilities;
- the window shrunk at random to 1..window for each centre;
- k noise words per example drawn from the unigram^0.75 table (a noise word equal to the true word is skipped);
- the rate decays linearly with the corpus position over all words of all epochs, lr (1 - done / total), never
  below 1e-4 lr (as the torch path's step rate);
- the logistic saturates: for a score above 6 σ is taken as 1, below -6 as 0 (no update from a word already
  scored right, a full one from a word scored wrong), as the C tool's table does; elsewhere σ is exact.

As in the torch path (and unlike the C tool and gensim, which give each context word the whole of h's gradient),
the input vector v is the centre word's for skip-gram, and CBOW's h is the mean of the context vectors, each of
which gets 1/m of h's gradient. The full softmax stays on the torch path (its dense O(|V| D) output update per
example gains nothing from per-example code).

numba is imported here only: this module is imported when a job sets up its compiled engine, never at start-up.
The kernels are compiled once and cached on disk (cache=True).
"""
from __future__ import annotations

import itertools
import math
import threading

import numpy as np
from numba import njit

LOSS_EVERY = 4  # the loss the job reports is the mean over every 4th example
MAX_EXP = 6.0  # |score| beyond which the logistic counts as saturated (the C tool's MAX_EXP)
_MULT = np.uint64(25214903917)  # the C tool's linear congruential generator: r = r * 25214903917 + 11
_ADD = np.uint64(11)


# Work units a thread gets through per second (one unit: one multiply-add of one dimension, summed over what an
# example does: the k + 1 dot products, the k + 1 updates of h's gradient and of the output rows, and the input
# rows' update); measured with one thread on a 2-core CPU at dim 100: skip-gram ~1.7e9, CBOW ~1.5e9.
UNITS_PER_SECOND = 1.5e9


def words_per_second(cbow: bool, window: int, negatives: int, dim: int, kept: float) -> float:
    """Corpus words one thread trains per second, estimated from the work per word: `kept` is the share of
    words that subsampling keeps; a kept word is the centre of about window + 1 pairs (skip-gram) or of one
    example with about window + 1 context words (CBOW)."""
    per_example = 3 * (negatives + 1)
    units = (per_example + 2 * (window + 1) + 2) if cbow else (window + 1) * (per_example + 1)
    return UNITS_PER_SECOND / max(1.0, units * dim * max(kept, 1e-3))


@njit(nogil=True, cache=True, fastmath=True)
def _ns_update(v, out, targets, nt, lr, neu1e, share, with_loss):
    """One example's negative-sampling SGD on the output rows targets[:nt] (true word first, -1 = skipped);
    puts the step of the input vectors into neu1e (v itself unchanged) and returns the example's loss (0 unless
    with_loss: the logarithms cost ~5% of the time, and the curve needs only a sample).

    Each step is capped as the torch path's at 1 / (a bound of the loss's curvature along the row), which only
    acts where lr is large for the vectors' lengths (never at the usual rates on a real corpus): an output row
    moves at min(lr, 4 / |v|^2); neu1e = -min(lr, 4 / (share^2 Σ_j |u_j|^2)) dL/dv, for an input row whose
    vector enters v with weight `share` (1 for skip-gram's v, 1/m for each of CBOW's m context vectors).
    """
    dim = v.shape[0]
    vv = np.float32(0.0)
    for d in range(dim):
        neu1e[d] = 0.0
        vv += v[d] * v[d]
    rate_out = min(lr, 4.0 / max(np.float64(vv), 1e-30))
    uu_sum = 0.0
    loss = 0.0
    for t in range(nt):
        w = targets[t]
        if w < 0:
            continue
        u = out[w]
        f32 = np.float32(0.0)
        uu = np.float32(0.0)
        for d in range(dim):
            f32 += v[d] * u[d]
            uu += u[d] * u[d]
        uu_sum += uu
        f = np.float64(f32)
        e = math.exp(-abs(f))
        if f > MAX_EXP:
            sig = 1.0
        elif f < -MAX_EXP:
            sig = 0.0
        elif f >= 0:
            sig = 1.0 / (1.0 + e)
        else:
            sig = e / (1.0 + e)
        g = 1.0 - sig if t == 0 else -sig  # -dL/df
        if with_loss:  # -log σ(f) for the true word, -log σ(-f) for a noise word
            loss += max(-f if t == 0 else f, 0.0) + math.log1p(e)
        g32 = np.float32(g)
        step = np.float32(g * rate_out)
        for d in range(dim):
            neu1e[d] += g32 * u[d]
            u[d] += step * v[d]
    rate_in = np.float32(min(lr, 4.0 / max(share * share * uu_sum, 1e-30)))
    for d in range(dim):
        neu1e[d] *= rate_in
    return loss


@njit(nogil=True, cache=True, fastmath=True)
def _draw(rng, targets, k, table, true_word):
    """Fill targets[1:k+1] with noise words from the table (-1 where one equals the true word); returns rng."""
    size = np.uint64(table.shape[0])
    for t in range(1, k + 1):
        rng = rng * _MULT + _ADD
        w = table[(rng >> np.uint64(16)) % size]
        targets[t] = -1 if w == true_word else w
    return rng


@njit(nogil=True, cache=True, fastmath=True)
def train_chunk(ids, start, stop, keep, table, inp, out, cbow, window, k, base_lr, done, total, seed,
                kept, kept_pos, result):
    """Train on corpus positions start..stop-1 of `ids`: subsample, then every kept word is a centre once.

    done: corpus words of the earlier epochs (position p is word done + p of the total for the rate's decay).
    kept, kept_pos: scratch of at least stop - start entries. result[0], result[1] get the summed loss and the
    number of examples (pairs for skip-gram, centres with a context for CBOW); result[2] the number of them
    whose loss is in result[0] (every LOSS_EVERY-th). Updates inp and out in place.
    """
    dim = inp.shape[1]
    rng = np.uint64(seed)
    n = 0
    for p in range(start, stop):
        w = ids[p]
        rng = rng * _MULT + _ADD
        if keep[w] < 1.0 and keep[w] < np.float64((rng >> np.uint64(16)) & np.uint64(0xFFFFFF)) / 16777216.0:
            continue
        kept[n] = w
        kept_pos[n] = p
        n += 1
    targets = np.empty(k + 1, dtype=np.int64)
    neu1e = np.empty(dim, dtype=inp.dtype)
    h = np.empty(dim, dtype=inp.dtype)
    loss = 0.0
    count = 0
    sampled = 0
    for i in range(n):
        lr = base_lr * max(1e-4, 1.0 - (done + kept_pos[i]) / total)
        rng = rng * _MULT + _ADD
        span = 1 + np.int64(rng % np.uint64(window))
        lo = max(0, i - span)
        hi = min(n, i + span + 1)
        c = kept[i]
        if cbow:
            m = hi - lo - 1
            if m <= 0:
                continue
            for d in range(dim):
                h[d] = 0.0
            for j in range(lo, hi):
                if j != i:
                    x = inp[kept[j]]
                    for d in range(dim):
                        h[d] += x[d]
            for d in range(dim):
                h[d] /= m
            targets[0] = c
            rng = _draw(rng, targets, k, table, c)
            sample = count % LOSS_EVERY == 0
            loss += _ns_update(h, out, targets, k + 1, lr, neu1e, 1.0 / m, sample)
            sampled += sample
            for d in range(dim):
                neu1e[d] /= m
            for j in range(lo, hi):
                if j != i:
                    x = inp[kept[j]]
                    for d in range(dim):
                        x[d] += neu1e[d]
            count += 1
        else:
            v = inp[c]
            for j in range(lo, hi):
                if j == i:
                    continue
                o = kept[j]
                targets[0] = o
                rng = _draw(rng, targets, k, table, o)
                sample = count % LOSS_EVERY == 0
                loss += _ns_update(v, out, targets, k + 1, lr, neu1e, 1.0, sample)
                sampled += sample
                for d in range(dim):
                    v[d] += neu1e[d]
                count += 1
    result[0] = loss
    result[1] = count
    result[2] = sampled


@njit(nogil=True, cache=True, fastmath=True)
def skipgram_examples(inp, out, centre, targets, lr, losses):
    """Sequential SGD over given skip-gram examples: centre (B,), targets (B, 1 + k) (true word first, -1 =
    none); losses (B,) gets each example's loss. For tests and notebooks: the same update as train_chunk."""
    neu1e = np.empty(inp.shape[1], dtype=inp.dtype)
    for b in range(centre.shape[0]):
        v = inp[centre[b]]
        losses[b] = _ns_update(v, out, targets[b], targets.shape[1], lr, neu1e, 1.0, True)
        for d in range(v.shape[0]):
            v[d] += neu1e[d]


@njit(nogil=True, cache=True, fastmath=True)
def cbow_examples(inp, out, contexts, mask, centre, targets, lr, losses):
    """Sequential SGD over given CBOW examples, laid out as Word2Vec.cbow_loss's (contexts, mask (B, 2W)),
    with targets (B, 1 + k) (the centre first); losses (B,) gets each example's loss."""
    dim = inp.shape[1]
    neu1e = np.empty(dim, dtype=inp.dtype)
    h = np.empty(dim, dtype=inp.dtype)
    for b in range(centre.shape[0]):
        m = 0
        for d in range(dim):
            h[d] = 0.0
        for j in range(contexts.shape[1]):
            if mask[b, j]:
                m += 1
                for d in range(dim):
                    h[d] += inp[contexts[b, j], d]
        if m == 0:
            losses[b] = 0.0
            continue
        for d in range(dim):
            h[d] /= m
        losses[b] = _ns_update(h, out, targets[b], targets.shape[1], lr, neu1e, 1.0 / m, True)
        for j in range(contexts.shape[1]):
            if mask[b, j]:
                for d in range(dim):
                    inp[contexts[b, j], d] += neu1e[d] / m


class HogwildTrainer:
    """Runs train_chunk on `threads` threads over a run of corpus positions cut into pieces, which the threads
    take in turn as each finishes one (a busy core slows its thread, not the step), all writing the same tables
    (lock-free). Windows stop at a piece's ends (a piece holds ~1,000 words or more: well under 1% of the pairs).
    Deterministic for a given seed with one thread."""

    PIECES_PER_THREAD = 4
    MIN_PIECE = 1024  # words

    def __init__(self, ids: np.ndarray, keep: np.ndarray, table: np.ndarray, inp: np.ndarray, out: np.ndarray, *,
                 cbow: bool, window: int, negatives: int, threads: int, seed: int, total_words: int) -> None:
        self.ids, self.keep, self.table, self.inp, self.out = ids, keep, table, inp, out
        self.cbow, self.window, self.negatives = bool(cbow), int(window), int(negatives)
        self.threads = max(1, int(threads))
        self.seed = int(seed)
        self.total = float(max(1, total_words))
        self._scratch: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0, np.int64), np.empty(0, np.int64))]

    def warm(self) -> None:
        """Compile train_chunk for these arrays' types, or load it from the disk cache, without training."""
        self._piece(0, 0, 0, 0.0, 0.0, 1, np.zeros(3))

    def _piece(self, t: int, a: int, b: int, lr: float, done: float, seed: int, result: np.ndarray) -> None:
        kept, pos = self._scratch[t]
        if len(kept) < b - a:
            kept, pos = self._scratch[t] = np.empty(b - a, np.int64), np.empty(b - a, np.int64)
        train_chunk(self.ids, a, b, self.keep, self.table, self.inp, self.out, self.cbow, self.window,
                    self.negatives, lr, done, self.total, seed, kept, pos, result)

    def run(self, start: int, stop: int, done: int, lr: float, key: int) -> tuple[float, int]:
        """Train on positions start..stop-1 (corpus words `done` + position of the total, for the rate's decay);
        `key` (e.g. the step) seeds this run's draws. Returns (mean loss of a sample of the examples, examples)."""
        count = max(1, min(self.threads * self.PIECES_PER_THREAD, (stop - start) // self.MIN_PIECE))
        bounds = np.linspace(start, stop, count + 1).astype(np.int64)
        pieces = [(int(a), int(b)) for a, b in itertools.pairwise(bounds) if b > a]
        if not pieces:
            return 0.0, 0
        results = np.zeros((len(pieces), 3))
        taken = itertools.count()  # next() on it is atomic under the GIL: each piece goes to one thread
        errors: list[BaseException] = []
        while len(self._scratch) < self.threads:
            self._scratch.append((np.empty(0, np.int64), np.empty(0, np.int64)))

        def work(t: int) -> None:
            try:
                while (i := next(taken)) < len(pieces):
                    seed = ((self.seed * 1_000_003 + key) * 4096 + i) * 2 + 1
                    self._piece(t, *pieces[i], lr, float(done), seed & 0xFFFF_FFFF_FFFF, results[i])
            except BaseException as exc:  # noqa: BLE001 - re-raised on the calling thread
                errors.append(exc)

        # the calling thread works too; each other one is a thread of its own that ends with the step (starting
        # one costs ~0.1 ms, and none is left running when the job ends or fails)
        helpers = [threading.Thread(target=work, args=(t,), name=f"w2v-hogwild-{t}", daemon=True)
                   for t in range(1, min(self.threads, len(pieces)))]
        for thread in helpers:
            thread.start()
        work(0)
        for thread in helpers:
            thread.join()
        if errors:
            raise errors[0]
        total = results.sum(0)
        return float(total[0] / max(1.0, total[2])), int(total[1])
