"""Training job: count-based word vectors, the windowed co-occurrence matrix of a corpus reduced by truncated SVD.

The corpus is counted in chunks, one per step, so that a progress bar moves and the heatmap of the most frequent
words fills in; the last step weights the counts (PPMI) and decomposes them. There is no learning rate.
"""
from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scipy.sparse is imported where it is used: it costs ~0.2 s at start-up
    import scipy.sparse as sp

from ...analysis import cooccurrence as cooc
from ...analysis.projection import pca_2d, procrustes_align
from ...data.errors import CorpusError
from ...data.vocab import Vocab, check_vocab_fits, check_window_fits
from ..job import Job, JobContext, frozen_array, register_job
from ..params import param
from .word2vec_job import EmbeddingSnapshot

WEIGHTINGS = ("uniform", "1/distance")
SOLVERS = {"PROPACK (exact)": "propack", "ARPACK (exact)": "arpack", "randomized": "randomized"}
CHUNKS = 20  # a corpus is counted in about this many steps ...
MIN_CHUNK, MAX_CHUNK = 5_000, 100_000  # ... of this many words each (a step of ~5-60 ms on one core)
VECTOR_POWER = 0.5  # vectors are U S^0.5 (see truncated_svd)


@dataclasses.dataclass
class SvdConfig:
    """Settings of a co-occurrence + SVD run."""

    corpus: str = "builtin:synthetic"
    window: int = param(5, label="Window", min=1, max=50,
                        help="Words at most this many positions apart, on either side, co-occur.")
    weighting: str = param("uniform", label="Weighting", choices=WEIGHTINGS,
                           help="A pair at distance d counts 1 (uniform) or 1/d (as GloVe counts).")
    ppmi: bool = param(True, label="PPMI",
                       help="Decompose positive pointwise mutual information (contexts smoothed with power 0.75) "
                            "rather than the raw counts, which the most frequent words dominate.")
    dim: int = param(50, label="Dimension", min=1, max=1000,
                     help="Singular vectors kept: the length of each word vector.")
    min_count: int = param(5, label="Min count", min=1, max=1000, help="Rarer words are dropped.")
    max_vocab: int = param(20000, label="Max vocabulary", min=10, max=1_000_000,
                           help="Keep at most this many of the most frequent words.")
    solver: str = param("PROPACK (exact)", label="SVD solver", choices=tuple(SOLVERS),
                        help="PROPACK and ARPACK find the exact top singular triplets (PROPACK ~10x faster); the "
                             "randomized solver is fast too but its smaller singular values come out a few per "
                             "cent low.")
    heatmap_words: int = param(40, label="Heatmap words", min=2, max=200,
                               help="How many of the most frequent words the co-occurrence heatmap shows.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)


@dataclasses.dataclass(frozen=True)
class SvdSnapshot(EmbeddingSnapshot):
    """An EmbeddingSnapshot of count-based vectors, with the co-occurrence heatmap and the singular spectrum.

    While the corpus is being counted (vectors of shape (V, 0)) it holds the vocabulary, the heatmap so far
    and `counted`; coords are zeros (V, 2), explained zeros (2,), loss NaN, and the spectrum is empty. After
    the last step: vectors = U_k S_k^0.5 (V, k) of the truncated SVD M ~ U S V^T of the weighted matrix M
    (PPMI or raw counts), k = dim unless the vocabulary is smaller; coords the PCA of the unit-length vectors;
    loss the relative residual ||M - U_k S_k V_k^T||_F / ||M||_F. lr is always 0.0 (there is no learning rate).
    heatmap holds the co-occurrence counts among heatmap_words, before any PPMI (weighted 1/d under the
    1/distance weighting), symmetric, a word next to itself counting 2 on the diagonal: draw it on a log scale.
    """

    singular_values: np.ndarray = dataclasses.field(default_factory=lambda: _empty((0,)))  # (k,) descending
    explained_variance: np.ndarray = dataclasses.field(default_factory=lambda: _empty((0,)))  # (k,) s_i^2/||M||_F^2
    heatmap_words: tuple[str, ...] = ()  # the N most frequent words (ids 0..N-1)
    heatmap: np.ndarray = dataclasses.field(default_factory=lambda: _empty((0, 0)))  # (N, N) float32, see below
    weighting: str = "uniform"
    ppmi: bool = True
    solver: str = ""
    window: int = 0
    counted: float = 0.0  # share of the corpus's words counted so far (1.0 once counting is done)

    @property
    def ready(self) -> bool:
        """Whether the SVD has run (vectors, coords and spectrum are filled in)."""
        return self.vectors.ndim == 2 and self.vectors.shape[1] > 0


def _empty(shape: tuple[int, ...]) -> np.ndarray:
    arr = np.zeros(shape, dtype=np.float32)
    arr.setflags(write=False)
    return arr


def chunk_size(n_tokens: int) -> int:
    """Words counted per step: about CHUNKS steps, each between MIN_CHUNK and MAX_CHUNK words."""
    return int(min(MAX_CHUNK, max(MIN_CHUNK, math.ceil(n_tokens / CHUNKS))))


def count_chunk(ids: np.ndarray, start: int, stop: int, vocab_size: int, window: int,
                distance_weighting: bool) -> sp.csr_matrix:
    """One-way counts C1[w_p, w_q] of the pairs p < q <= p + window whose first position p is in [start, stop).

    Summed over consecutive chunks, C1 + C1^T is cooccurrence_matrix(ids, ...) (the pairs that straddle two
    chunks belong to the chunk of their first word).
    """
    import scipy.sparse as sp
    n = ids.size
    rows, cols, data = [], [], []
    for offset in range(1, window + 1):
        end = min(stop, n - offset)
        if end <= start:
            break
        left, right = ids[start:end], ids[start + offset:end + offset]
        rows.append(left)
        cols.append(right)
        data.append(np.full(left.size, 1.0 / offset if distance_weighting else 1.0))
    if not rows:
        return sp.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    coo = sp.coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                        shape=(vocab_size, vocab_size))
    return coo.tocsr()  # sums duplicate pairs


@register_job
class SvdJob(Job):
    """Co-occurrence counts in chunks, then PPMI and truncated SVD: word vectors without training."""

    kind = "cooc_svd"
    title = "co-occurrence + SVD"
    config_cls = SvdConfig
    snapshot_cls = SvdSnapshot
    throughput_unit = "words/s"

    def setup(self, ctx: JobContext) -> None:
        import scipy.sparse as sp
        cfg = self.config
        corpus = ctx.corpus(cfg.corpus)
        # rarer words are dropped before windowing, as word2vec drops them: the two see the same neighbours
        vocab, ids = Vocab.from_ids(corpus.word_ids, corpus.vocabulary, min_count=cfg.min_count,
                                    max_size=cfg.max_vocab)
        check_vocab_fits(len(vocab), min_count=cfg.min_count, max_size=cfg.max_vocab, distinct=len(corpus.vocabulary))
        check_window_fits(len(ids), cfg.window)
        if ctx.cancelled():
            raise CorpusError("Cancelled while reading the corpus.")
        self.vocab, self.ids = vocab, ids
        self.corpus_name = corpus.name
        classes = corpus.word_classes or {}
        self.words = tuple(vocab.words)
        self.classes = tuple(classes.get(w, "") for w in vocab.words)
        self.counts = frozen_array(vocab.counts, np.int64)
        self.chunk = chunk_size(len(ids))
        self.n_chunks = max(1, math.ceil(len(ids) / self.chunk))
        self.total_steps = self.n_chunks + 1  # the last step is PPMI + SVD
        self.items_per_step = len(ids) / self.total_steps
        v = len(vocab)
        self.n_heat = min(cfg.heatmap_words, v)
        self.heatmap_words = self.words[: self.n_heat]
        self._one_way = sp.csr_matrix((v, v), dtype=np.float64)
        self._heat = np.zeros((self.n_heat, self.n_heat), dtype=np.float64)
        self._counts: sp.csr_matrix | None = None
        self._counted_tokens = 0
        self._svd: cooc.SvdResult | None = None
        self._coords: np.ndarray | None = None
        self._explained2 = _empty((2,))
        self._prev_coords: np.ndarray | None = None
        self._loss = float("nan")

    def train_step(self, step: int) -> dict[str, float]:
        if step < self.n_chunks:
            return self._count(step)
        return self._decompose()

    def _count(self, step: int) -> dict[str, float]:
        """Count chunk `step`; its metric is the share of the corpus counted so far."""
        cfg = self.config
        start = step * self.chunk
        stop = min(len(self.ids), start + self.chunk)
        part = count_chunk(self.ids, start, stop, len(self.vocab), cfg.window, cfg.weighting == "1/distance")
        self._one_way = self._one_way + part
        block = part[: self.n_heat, : self.n_heat].toarray()
        self._heat += block + block.T
        self._counted_tokens = stop
        return {"counted": stop / len(self.ids)}

    def counts_matrix(self) -> sp.csr_matrix:
        """The symmetric co-occurrence counts so far (float64 CSR), as cooccurrence_matrix gives them."""
        if self._counts is not None:
            return self._counts
        both = (self._one_way + self._one_way.T).tocsr()
        both.sort_indices()
        return both

    def _decompose(self) -> dict[str, float]:
        """PPMI (when asked) and truncated SVD. loss: the relative Frobenius residual of the rank-k approximation,
        sqrt(1 - sum_i s_i^2 / ||M||_F^2), exact for both solvers (their U_k S_k V_k^T is U_k U_k^T M)."""
        cfg = self.config
        counts = self._counts = self.counts_matrix()
        self._one_way = None  # the one-way half is no longer needed: keep one matrix, not two
        weighted = cooc.ppmi(counts) if cfg.ppmi else counts
        self._svd = cooc.truncated_svd(weighted, cfg.dim, seed=cfg.seed, power=VECTOR_POWER,
                                       method=SOLVERS[cfg.solver])
        shared = min(1.0, self._svd.total_explained)
        self._loss = math.sqrt(max(0.0, 1.0 - shared))
        coords, explained = pca_2d(self._svd.vectors, normalise=True)
        if self._prev_coords is not None:
            coords = procrustes_align(coords, self._prev_coords)
        coords.setflags(write=False)
        self._coords, self._explained2 = coords, frozen_array(explained)
        self._prev_coords = coords
        self._counted_tokens = len(self.ids)
        return {"loss": self._loss, "explained": shared}

    def set_lr(self, lr: float) -> None:
        """Nothing to change: counting and SVD have no learning rate."""

    def snapshot(self, step: int) -> SvdSnapshot:
        cfg = self.config
        v = len(self.words)
        if self._svd is None:
            vectors, coords, explained2 = _empty((v, 0)), _empty((v, 2)), _empty((2,))
            singular, ratios = _empty((0,)), _empty((0,))
        else:
            vectors, coords, explained2 = frozen_array(self._svd.vectors), self._coords, self._explained2
            singular = frozen_array(self._svd.singular_values)
            ratios = frozen_array(self._svd.explained_ratio)
        return SvdSnapshot(
            step=step, loss=self._loss, lr=0.0, words=self.words, counts=self.counts, classes=self.classes,
            vectors=vectors, coords=coords, explained=explained2, singular_values=singular,
            explained_variance=ratios, heatmap_words=self.heatmap_words, heatmap=frozen_array(self._heat),
            weighting=cfg.weighting, ppmi=bool(cfg.ppmi), solver=self._solver_used(), window=int(cfg.window),
            counted=self._counted_tokens / len(self.ids),
        )

    def _solver_used(self) -> str:
        """The solver setting, or (where it failed and another took over) which one gave the vectors, and why."""
        asked = self.config.solver
        if self._svd is None or not self._svd.note:
            return asked
        used = next((label for label, key in SOLVERS.items() if key == self._svd.solver), self._svd.solver)
        return f"{used} (fallback: {self._svd.note})"

    def record_snapshot(self, snap: SvdSnapshot) -> SvdSnapshot:
        return dataclasses.replace(snap, vectors=frozen_array(snap.vectors, np.float16))
