"""The cost of one word2vec training step against vocabulary size, full softmax against negative sampling, as a
recorded measurement job (explorer.analysis.embedding_cost.softmax_step_times).

One step times one objective at one vocabulary size (the median of `repeats` steps on the same batch); the
snapshot holds every row so far, so the figure grows point by point and a recorded run reopens with all of them.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ...analysis.embedding_cost import OBJECTIVES, median, softmax_step_times
from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param


@dataclasses.dataclass
class SoftmaxCostConfig:
    """Which vocabulary sizes, at which batch and vector size, how often."""

    vocab_sizes: tuple[int, ...] = param((1000, 3000, 10000, 30000, 100000), label="Vocabulary sizes", min=2,
                                         max=2_000_000, help="Vocabulary sizes |V| to time a step at.")
    dim: int = param(50, label="Dimension", min=2, max=1000, help="Length of each word vector.")
    batch: int = param(512, label="Batch", min=1, max=65536,
                       help="(word, context word) pairs per step, the same pairs for both objectives.")
    negatives: int = param(5, label="Negatives", min=1, max=50, help="Noise words per pair (negative sampling).")
    repeats: int = param(5, label="Repeats", min=1, max=100, help="Timed steps per point (the median is kept).")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def check(self) -> dict[str, str]:
        """Problems that involve more than one field."""
        if len(set(self.vocab_sizes)) < 2:
            return {"vocab_sizes": "Give at least two vocabulary sizes: a slope needs two points."}
        if self.batch * max(self.vocab_sizes) > 2**29:
            return {"": "Batch × largest vocabulary is over 2²⁹ scores (2 GiB for one step of the full softmax); "
                        "make either smaller."}
        return {}


@dataclasses.dataclass(frozen=True)
class SoftmaxCostSnapshot(Snapshot):
    """Every row measured so far: objective, vocabulary size, median, fastest and slowest seconds of one step;
    batch, negatives and dim as run; device: where it ran."""

    objectives: tuple[str, ...]
    vocab: np.ndarray
    seconds: np.ndarray
    fastest: np.ndarray
    slowest: np.ndarray
    batch: int
    negatives: int
    dim: int
    device: str


@register_job
class SoftmaxCostJob(Job):
    """One step per (vocabulary size, objective): time a training step."""

    kind = "softmax_cost"
    title = "word2vec step cost against vocabulary size"
    config_cls = SoftmaxCostConfig
    snapshot_cls = SoftmaxCostSnapshot
    throughput_unit = "points/s"

    def setup(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.points = [(int(v), objective) for v in sorted(set(self.config.vocab_sizes)) for objective in OBJECTIVES]
        self.total_steps = len(self.points)
        self.rows: list[tuple[str, int, float, float, float]] = []

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.config
        vocab, objective = self.points[step]
        times = softmax_step_times(vocab, objective, dim=cfg.dim, batch=cfg.batch, negatives=cfg.negatives,
                                   repeats=cfg.repeats, seed=cfg.seed, device=self.device,
                                   cancelled=self.ctx.cancelled)
        if times:
            self.rows.append((objective, vocab, median(times), min(times), max(times)))
        return {"seconds": median(times) if times else float("nan"), "vocab": float(vocab)}

    def snapshot(self, step: int) -> SoftmaxCostSnapshot:
        rows, cfg = self.rows, self.config
        return SoftmaxCostSnapshot(
            step=step, objectives=tuple(r[0] for r in rows), vocab=frozen_array([r[1] for r in rows], np.int64),
            seconds=frozen_array([r[2] for r in rows], np.float64),
            fastest=frozen_array([r[3] for r in rows], np.float64),
            slowest=frozen_array([r[4] for r in rows], np.float64),
            batch=int(cfg.batch), negatives=int(cfg.negatives), dim=int(cfg.dim), device=str(self.device))

    def set_lr(self, lr: float) -> None:
        """A measurement has no learning rate."""
