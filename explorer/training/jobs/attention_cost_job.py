"""Attention's cost against sequence length as a job: recorded, replayable, runnable from the command line.

One step measures one layer kind at every length (explorer.analysis.attention_cost.measure_layer_cost: median,
fastest and slowest of `repeats` timed forward + backward passes, in rounds over the lengths after warm-up runs).
Full attention stops at `full_longest` (its T x T weights make longer lengths slow and large); the other layers go
on to the longest length, where their linear cost shows above their fixed overheads. The snapshot holds every
row so far, so the figures grow kind by kind and a recorded run reopens with all of them.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ...analysis.attention_cost import KINDS, REMEDIES, measure_layer_cost
from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param

LAYER_SETS = {
    "all seven": KINDS,
    "all six": tuple(k for k in KINDS if k != "downsampled attention"),  # the set before downsampling was added
    "attention kinds": tuple(k for k in KINDS if "attention" in k),
    "full vs local vs low-rank": ("full attention", "local attention", "low-rank attention"),
    "full vs the three remedies": ("full attention", *REMEDIES),
}
QUADRATIC = ("full attention", "full attention (fused kernel)")  # the kinds `full_longest` limits


@dataclasses.dataclass
class AttentionCostConfig:
    """What to measure: which layers, at which lengths, how often, at which size."""

    layers: str = param("all seven", label="Layers", choices=tuple(LAYER_SETS),
                        help="The layer kinds to time: attention (full, fused, local window, low rank, "
                             "downsampled), an LSTM and a causal convolution.")
    lengths: tuple[int, ...] = param((32, 64, 128, 256, 512, 1024), label="Lengths", min=2, max=16384,
                                     help="Sequence lengths T to time, e.g. 32, 64, 128, 256, 512, 1024.")
    width: int = param(64, label="Width", min=4, max=2048, help="Model width (features per position).")
    heads: int = param(4, label="Heads", min=1, max=64, help="Attention heads (the width must divide by it).")
    batch: int = param(1, label="Batch", min=1, max=256, help="Sequences per pass.")
    repeats: int = param(3, label="Repeats", min=1, max=100, help="Timed passes per point (the median is kept).")
    window: int = param(32, label="Window", min=1, max=4096, help="Keys each query sees in local attention.")
    rank: int = param(32, label="Rank", min=1, max=4096, help="Projected keys and values in low-rank attention.")
    pooled: int = param(32, label="Pooled positions", min=1, max=4096,
                        help="Downsampled attention pools the sequence to this many positions before attending.")
    full_longest: int = param(4096, label="Full attention up to", min=2, max=16384,
                              help="The longest length at which full attention is timed (its T × T weights grow "
                                   "quadratically); the other layers go on to the longest length.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def check(self) -> dict[str, str]:
        """Problems that involve more than one field."""
        if len(self.lengths) < 2:
            return {"lengths": "Give at least two lengths: a slope needs two points."}
        if self.width % self.heads:
            return {"": f"The width ({self.width}) must be a multiple of the heads ({self.heads})."}
        if any(k in QUADRATIC for k in LAYER_SETS.get(self.layers, ())) and \
                len([n for n in self.lengths if n <= self.full_longest]) < 2:
            return {"full_longest": "Full attention needs at least two of the lengths up to its longest length."}
        if self.batch * min(max(self.lengths), self.full_longest) ** 2 * self.heads > 2**31:
            return {"": "Batch × longest length² × heads is over 2³¹ scores: the full attention would not fit in "
                        "memory; shorten the lengths or full attention's longest length."}
        return {}


@dataclasses.dataclass(frozen=True)
class AttentionCostSnapshot(Snapshot):
    """Every row measured so far: layer kind and its label, length, median seconds, memory bytes and how the
    memory was found (measured on CUDA, analytic elsewhere); device: where it ran. seconds_low / seconds_high:
    the fastest and slowest timed run of each row (empty in runs recorded before they were kept); repeats: the
    timed runs per row."""

    kinds: tuple[str, ...]
    labels: tuple[str, ...]
    lengths: np.ndarray
    seconds: np.ndarray
    memory: np.ndarray
    methods: tuple[str, ...]
    device: str
    seconds_low: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    seconds_high: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    repeats: int = 0


@register_job
class AttentionCostJob(Job):
    """One step per layer kind: time it at every length."""

    kind = "attention_cost"
    title = "attention cost against length"
    config_cls = AttentionCostConfig
    snapshot_cls = AttentionCostSnapshot
    throughput_unit = "layers/s"

    def setup(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.kinds = LAYER_SETS[self.config.layers]
        self.total_steps = len(self.kinds)
        self.rows = []

    def train_step(self, step: int) -> dict[str, float]:
        cfg = self.config
        kind = self.kinds[step]
        lengths = [n for n in cfg.lengths if kind not in QUADRATIC or n <= cfg.full_longest]
        rows = measure_layer_cost(kind, lengths, width=cfg.width, batch=cfg.batch,
                                  repeats=cfg.repeats, device=self.device, cancelled=self.ctx.cancelled,
                                  heads=cfg.heads, window=cfg.window, rank=cfg.rank, seed=cfg.seed,
                                  pooled=cfg.pooled)
        self.rows.extend(rows)
        return {"seconds": float(sum(r.seconds for r in rows))}

    def snapshot(self, step: int) -> AttentionCostSnapshot:
        rows = self.rows
        return AttentionCostSnapshot(
            step=step, kinds=tuple(r.kind for r in rows), labels=tuple(r.label for r in rows),
            lengths=frozen_array([r.length for r in rows], np.int64),
            seconds=frozen_array([r.seconds for r in rows], np.float64),
            memory=frozen_array([r.memory_bytes for r in rows], np.float64),
            methods=tuple(r.memory_method for r in rows), device=str(self.device),
            seconds_low=frozen_array([r.seconds_low for r in rows], np.float64),
            seconds_high=frozen_array([r.seconds_high for r in rows], np.float64), repeats=int(self.config.repeats))

    def set_lr(self, lr: float) -> None:
        """A measurement has no learning rate."""
