"""Training job: two embedding methods on the same corpus and seed, side by side, scored for rare and frequent words.

Each step advances both methods by one of their own steps (the shorter one waits at its end), so both maps
move together. On a corpus whose word classes are known (the generated one), every snapshot scores each
method's neighbour purity separately for the rarest, middle and most frequent third of the labelled words:
the figure that checks the lecture's claim that skip-gram treats rare words better than CBOW.
"""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from ...analysis.neighbours import purity_by_frequency
from ...analysis.projection import procrustes_align
from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param

METHODS = ("skip-gram", "CBOW", "skip-gram, full softmax", "CBOW, full softmax", "co-occurrence + SVD")
FREQUENCY_BINS = 3
USUAL_LR = {"skip-gram": 0.025, "CBOW": 0.05}  # the word2vec C tool's default rate for each method


@dataclasses.dataclass
class EmbeddingCompareConfig:
    """Two methods and the settings they share."""

    corpus: str = "builtin:synthetic"
    method_a: str = param("skip-gram", label="Method A", choices=METHODS)
    method_b: str = param("CBOW", label="Method B", choices=METHODS)
    dim: int = param(50, label="Dimension", min=2, max=1000)
    window: int = param(5, label="Window", min=1, max=50)
    min_count: int = param(5, label="Min count", min=1, max=1000)
    max_vocab: int = param(20000, label="Max vocabulary", min=10, max=1_000_000)
    epochs: int = param(3, label="Epochs", min=1, max=1000, help="Epochs of the word2vec methods.")
    lr_a: float = param(0.0, label="Rate A", min=0.0, max=10.0,
                        help="Initial learning rate of method A; 0: its usual rate (skip-gram 0.025, CBOW 0.05).")
    lr_b: float = param(0.0, label="Rate B", min=0.0, max=10.0,
                        help="Initial learning rate of method B; 0: its usual rate (skip-gram 0.025, CBOW 0.05).")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def check(self) -> dict[str, str]:
        if self.method_a == self.method_b:
            return {"method_b": "Choose two different methods to compare."}
        return {}


def method_lr(method: str, lr: float) -> float:
    """The rate a method trains at: `lr`, or its usual rate when `lr` is 0."""
    return float(lr) if lr > 0 else USUAL_LR.get(method.partition(", ")[0], 0.025)


def sub_job(method: str, cfg: EmbeddingCompareConfig, device: str, lr: float = 0.0) -> Job:
    """The job that trains one method with the shared settings (the other settings at their defaults)."""
    shared = dict(corpus=cfg.corpus, dim=cfg.dim, window=cfg.window, min_count=cfg.min_count,
                  max_vocab=cfg.max_vocab, seed=cfg.seed)
    if method == "co-occurrence + SVD":
        from .svd_job import SvdConfig, SvdJob

        return SvdJob(SvdConfig(**shared), device)
    from .word2vec_job import Word2VecConfig, Word2VecJob

    base, _, objective = method.partition(", ")
    kw = dict(shared, method=base, epochs=cfg.epochs, lr=method_lr(method, lr))
    if objective:
        kw["objective"] = objective
    return Word2VecJob(Word2VecConfig(**kw), device)


@dataclasses.dataclass(frozen=True)
class EmbeddingCompareSnapshot(Snapshot):
    """Both methods' vectors and maps on the shared vocabulary, and their scores by word frequency.

    coords_b is aligned to coords_a (orthogonal Procrustes) so that the two maps can be read side by side.
    bin_low/bin_high: the corpus-count range of each frequency group of labelled words (rarest first);
    purity_a/purity_b: each method's neighbour purity (k = 5) in each group; empty without word classes.
    """

    methods: tuple[str, ...]
    words: tuple[str, ...]
    counts: np.ndarray
    classes: tuple[str, ...]
    vectors_a: np.ndarray
    vectors_b: np.ndarray
    coords_a: np.ndarray
    coords_b: np.ndarray
    loss_a: float
    loss_b: float
    progress_a: float
    progress_b: float
    bin_low: np.ndarray
    bin_high: np.ndarray
    bin_size: np.ndarray
    purity_a: np.ndarray
    purity_b: np.ndarray
    words_per_s_a: float = float("nan")  # corpus words trained per second of each method's own steps
    words_per_s_b: float = float("nan")
    lr_a: float = float("nan")  # the initial rate each method trained at (NaN: none, or an older run)
    lr_b: float = float("nan")


@register_job
class EmbeddingCompareJob(Job):
    """Two embedding jobs stepped together on one corpus."""

    kind = "embedding_compare"
    title = "two embedding methods side by side"
    config_cls = EmbeddingCompareConfig
    snapshot_cls = EmbeddingCompareSnapshot
    throughput_unit = "steps/s"

    def setup(self, ctx: JobContext) -> None:
        cfg = self.config
        ctx = ctx.with_corpus(cfg.corpus, ctx.corpus(cfg.corpus))  # read once, for both methods
        self.jobs = [sub_job(cfg.method_a, cfg, self.device, cfg.lr_a),
                     sub_job(cfg.method_b, cfg, self.device, cfg.lr_b)]
        for job in self.jobs:
            job.setup(ctx)
        self.total_steps = max(job.total_steps for job in self.jobs)
        self.items_per_step = 1.0
        self._losses = [float("nan"), float("nan")]
        self._snaps = [None, None]
        self._seconds = [0.0, 0.0]  # time spent in each method's own steps
        self._items = [0.0, 0.0]  # corpus words those steps trained on

    def train_step(self, step: int) -> dict[str, float]:
        metrics: dict[str, float] = {}
        for n, job in enumerate(self.jobs):
            if step < job.total_steps:
                t0 = time.perf_counter()
                m = job.train_step(step)
                self._seconds[n] += time.perf_counter() - t0
                self._items[n] += job.items_per_step
                self._losses[n] = float(m.get("loss", float("nan")))
                metrics[f"loss:{'ab'[n]}"] = self._losses[n]
        finite = [v for v in self._losses if np.isfinite(v)]
        metrics["loss"] = float(np.mean(finite)) if finite else 0.0
        return metrics

    def set_lr(self, lr: float) -> None:
        for job in self.jobs:
            job.set_lr(lr)

    def snapshot(self, step: int) -> EmbeddingCompareSnapshot:
        for n, job in enumerate(self.jobs):
            self._snaps[n] = job.snapshot(min(step, job.total_steps))
        a, b = self._snaps
        index_b = {w: i for i, w in enumerate(b.words)}
        shared = [i for i, w in enumerate(a.words) if w in index_b]
        rows_b = [index_b[a.words[i]] for i in shared]
        words = tuple(a.words[i] for i in shared)
        classes = tuple(a.classes[i] for i in shared)
        counts = np.asarray(a.counts)[shared]
        va, vb = np.asarray(a.vectors)[shared], np.asarray(b.vectors)[rows_b]
        ca, cb = np.asarray(a.coords)[shared], np.asarray(b.coords)[rows_b]
        if len(ca) and ca.shape == cb.shape and va.shape[1] and vb.shape[1]:
            cb = procrustes_align(cb, ca)
        empty = np.zeros(0)
        low = high = size = pa = pb = empty
        if any(classes) and va.shape[1] and vb.shape[1]:
            try:
                ranges, pa, size = purity_by_frequency(va, classes, counts, FREQUENCY_BINS)
                _, pb, _ = purity_by_frequency(vb, classes, counts, FREQUENCY_BINS)
                low, high = np.array([r[0] for r in ranges]), np.array([r[1] for r in ranges])
            except ValueError:
                pass
        progress = [min(1.0, step / max(1, job.total_steps)) for job in self.jobs]
        speed = [i / s if s > 0 else float("nan") for i, s in zip(self._items, self._seconds, strict=True)]
        rates = [float(getattr(job.config, "lr", float("nan"))) for job in self.jobs]
        return EmbeddingCompareSnapshot(
            step=step, methods=(self.config.method_a, self.config.method_b), words=words,
            counts=frozen_array(counts, np.int64), classes=classes, vectors_a=frozen_array(va),
            vectors_b=frozen_array(vb), coords_a=frozen_array(ca), coords_b=frozen_array(cb),
            loss_a=self._losses[0], loss_b=self._losses[1], progress_a=progress[0], progress_b=progress[1],
            bin_low=frozen_array(low, np.int64), bin_high=frozen_array(high, np.int64),
            bin_size=frozen_array(size, np.int64), purity_a=frozen_array(pa), purity_b=frozen_array(pb),
            words_per_s_a=speed[0], words_per_s_b=speed[1], lr_a=rates[0], lr_b=rates[1],
        )

    def record_snapshot(self, snap: EmbeddingCompareSnapshot) -> EmbeddingCompareSnapshot:
        return dataclasses.replace(snap, vectors_a=frozen_array(snap.vectors_a, np.float16),
                                   vectors_b=frozen_array(snap.vectors_b, np.float16))
