"""Training against generation as a job: recorded, replayable, runnable from the command line and as a lesson.

One step per sequence length T: explorer.analysis.generation_cost times one training step over (batch, T)
positions (forward, backward, AdamW update) against generating T tokens one after another (with the key/value
cache and without), medians of `repeats` runs, and counts the model passes each takes (a forward hook on the
output head). The model is a tiny GPT of the chosen shape, freshly initialised (the cost does not depend on the
weights), or the model of a finished pre-training run when `pretrained` names one. On the CPU the timings run on
one torch thread: the growth with T and the ratio are what is measured, and two threads on a shared machine wait
on each other at every parallel region.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param


@dataclasses.dataclass
class GenerationCostConfig:
    """The model measured, the lengths, the training batch and how often each timing is repeated."""

    pretrained: str = ""  # a finished pre-training run's folder; "" = a fresh tiny GPT of the shape below
    lengths: tuple[int, ...] = param((16, 32, 64, 128, 256), label="Lengths", min=1, max=4096,
                                     help="Sequence lengths T: a training step over T positions against generating "
                                          "T tokens, e.g. 16, 32, 64, 128, 256.")
    batch: int = param(1, label="Batch", min=1, max=256,
                       help="Sequences in the training step (generation writes one sequence).")
    repeats: int = param(5, label="Repeats", min=1, max=100, help="Timed runs per point (the median is kept).")
    layers: int = param(2, label="Layers", min=1, max=12)
    heads: int = param(4, label="Heads", min=1, max=16)
    width: int = param(64, label="Width", min=8, max=1024)
    vocab: int = param(64, label="Vocabulary", min=2, max=100_000, help="Tokens the fresh model knows.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def check(self) -> dict[str, str]:
        """Problems that involve more than one field."""
        if not self.lengths:
            return {"lengths": "Give at least one sequence length."}
        if self.width % self.heads or self.width % 2:
            return {"": f"The width ({self.width}) must be even and a multiple of the heads ({self.heads})."}
        return {}


@dataclasses.dataclass(frozen=True)
class GenerationCostSnapshot(Snapshot):
    """The lengths measured so far, shortest first: median seconds of a training step over (batch, T), of
    generating T tokens with the cache and without; the largest |logit| difference between the cached and the
    full pass; model passes of a training step and of generating T tokens; batch and device."""

    lengths: np.ndarray
    train_step_s: np.ndarray
    generate_cached_s: np.ndarray
    generate_uncached_s: np.ndarray
    max_diff: np.ndarray
    train_passes: np.ndarray
    generate_passes: np.ndarray
    batch: int
    repeats: int
    device: str
    model: str


@register_job
class GenerationCostJob(Job):
    """One step per length: time and count the passes of training and of generation."""

    kind = "generation_cost"
    title = "training step against generation"
    config_cls = GenerationCostConfig
    snapshot_cls = GenerationCostSnapshot
    throughput_unit = "lengths/s"

    def setup(self, ctx: JobContext) -> None:
        import torch

        cfg = self.config
        self.ctx = ctx
        self.lengths = sorted({int(n) for n in cfg.lengths})
        if cfg.pretrained:
            from .pretrained import load_pretrained

            pre = load_pretrained(cfg.pretrained)
            self.model, self.model_name = pre.build_model(), f"pre-trained {pre.info.label}"
        else:
            from ...models.transformer import GPT, GPTConfig

            torch.manual_seed(cfg.seed)
            context = max(self.lengths)
            self.model = GPT(GPTConfig(vocab_size=cfg.vocab, context=context, layers=cfg.layers, heads=cfg.heads,
                                       width=cfg.width))
            self.model_name = (f"fresh GPT: {cfg.layers} layers, {cfg.heads} heads, width {cfg.width}, "
                               f"context {context}")
        if max(self.lengths) > self.model.cfg.context:
            raise ValueError(f"The model reads at most {self.model.cfg.context} tokens: choose lengths up to that.")
        self.rows, self.passes = [], []
        self.total_steps = len(self.lengths)

    def train_step(self, step: int) -> dict[str, float]:
        from ...analysis.attention_cost import single_thread
        from ...analysis.generation_cost import count_passes, measure_train_vs_generate

        cfg, n = self.config, self.lengths[step]
        with single_thread(self.device):
            rows = measure_train_vs_generate(self.model, [n], batch=cfg.batch, device=self.device,
                                             repeats=cfg.repeats, cancelled=self.ctx.cancelled, seed=cfg.seed)
        if not rows:  # cancelled
            return {}
        self.rows.append(rows[0])
        self.passes.append(count_passes(self.model, n, cfg.batch, cfg.seed))
        r = rows[0]
        return {"length": float(n), "train_step_s": r.train_step_s, "generate_cached_s": r.generate_cached_s}

    def snapshot(self, step: int) -> GenerationCostSnapshot:
        rows, passes = self.rows, self.passes

        def col(name, dtype=np.float64):
            return frozen_array([getattr(r, name) for r in rows], dtype)

        return GenerationCostSnapshot(
            step=step, lengths=col("length", np.int64), train_step_s=col("train_step_s"),
            generate_cached_s=col("generate_cached_s"), generate_uncached_s=col("generate_uncached_s"),
            max_diff=col("max_diff"), train_passes=frozen_array([p[0] for p in passes], np.int64),
            generate_passes=frozen_array([p[1] for p in passes], np.int64), batch=int(self.config.batch),
            repeats=int(self.config.repeats), device=str(self.device), model=self.model_name)

    def set_lr(self, lr: float) -> None:
        """A measurement has no learning rate."""
