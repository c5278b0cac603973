"""Composite job: does the causal mask hide the future? Two tiny decoders, one with the mask and one without, are
trained side by side on the reverse task (next-token prediction, from the same seed); every snapshot measures the
input Jacobian |∂y_t/∂x_s| of both on a fixed batch (double precision), and the first one is that of the fresh
models. Without the mask the next token is among the inputs, so that model can read its answer from the future."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..job import Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param
from .order_job import _model, train_each

EVAL_EVERY = 25
EVAL_BATCH = 256
PROBE_BATCH = 4


@dataclasses.dataclass
class MaskConfig:
    """The reverse task and the two decoders."""

    length: int = param(8, label="Length", min=2, max=32, help="Symbols to reverse; the model reads 2 × length.")
    symbols: int = param(16, label="Symbols", min=2, max=26)
    layers: int = param(2, label="Layers", min=1, max=6)
    heads: int = param(2, label="Heads", min=1, max=8)
    width: int = param(64, label="Width", min=8, max=256)
    positional: str = param("sinusoidal", label="Positional encoding", choices=("sinusoidal", "learned", "none"))
    batch_size: int = param(32, label="Batch size", min=1, max=1024)
    lr: float = param(3e-3, label="Learning rate", min=1e-6, max=1.0, log=True)
    steps: int = param(300, label="Steps", min=1, max=100_000)
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def check(self) -> dict[str, str]:
        if self.width % self.heads or self.width % 2:
            return {"heads": f"The heads ({self.heads}) must divide the width ({self.width}), which must be even."}
        return {}


@dataclasses.dataclass(frozen=True)
class MaskSnapshot(Snapshot):
    """jac_masked, jac_unmasked: (T, T) |∂y_t/∂x_s| (row t = output, column s = input) now; fresh_masked,
    fresh_unmasked: the same of the fresh models. eval_steps, acc_masked, acc_unmasked: accuracy on the scored
    (second) half of a fixed batch; chance = 1/symbols."""

    jac_masked: np.ndarray
    jac_unmasked: np.ndarray
    fresh_masked: np.ndarray
    fresh_unmasked: np.ndarray
    eval_steps: np.ndarray
    acc_masked: np.ndarray
    acc_unmasked: np.ndarray
    chance: float
    positional: str


@register_job
class MaskJob(Job):
    """The same decoder with and without the causal mask, trained side by side; their Jacobians measured."""

    kind = "mask_leak"
    title = "the causal mask and the future"
    config_cls = MaskConfig
    snapshot_cls = MaskSnapshot
    throughput_unit = "steps/s"

    def setup(self, ctx: JobContext) -> None:
        import torch

        from ...data.attention_tasks import make_task_batch

        cfg = self.config
        T = 2 * cfg.length
        self._batch = lambda b, g: make_task_batch("reverse", b, cfg.length, cfg.symbols, g)
        self.models, self.opts = {}, {}
        for name in ("masked", "unmasked"):
            torch.manual_seed(cfg.seed)
            self.models[name] = _model(cfg, cfg.positional, name == "masked", T, cfg.symbols + 1)
            self.opts[name] = torch.optim.AdamW(self.models[name].parameters(), lr=cfg.lr)
        self.gen = {name: torch.Generator().manual_seed(cfg.seed + 1) for name in self.models}
        self.val = self._batch(EVAL_BATCH, torch.Generator().manual_seed(cfg.seed + 2))
        self.probe = self.val[0][:PROBE_BATCH]
        self.fresh = {name: self._jacobian(name) for name in self.models}
        self.history: dict[str, list[float]] = {"step": [], "masked": [], "unmasked": []}
        self.total_steps = cfg.steps
        self._evaluate(0)

    def _jacobian(self, name: str) -> np.ndarray:
        from ...analysis.attention_probe import input_jacobian

        return frozen_array(input_jacobian(self.models[name], self.probe, seed=self.config.seed), np.float64)

    def _evaluate(self, step: int) -> None:
        import torch

        from ...data.attention_tasks import target_accuracy

        self.history["step"].append(step)
        with torch.no_grad():
            for name, model in self.models.items():
                self.history[name].append(target_accuracy(model(self.val[0]), self.val[1]))

    def train_step(self, step: int) -> dict[str, float]:
        metrics = train_each(self.models, self.opts, lambda name: self._batch(self.config.batch_size, self.gen[name]))
        if (step + 1) % EVAL_EVERY == 0 or step + 1 == self.total_steps:
            self._evaluate(step + 1)
        return metrics

    def snapshot(self, step: int) -> MaskSnapshot:
        now = self.fresh if step == 0 else {name: self._jacobian(name) for name in self.models}
        h = self.history
        return MaskSnapshot(
            step=step, jac_masked=now["masked"], jac_unmasked=now["unmasked"], fresh_masked=self.fresh["masked"],
            fresh_unmasked=self.fresh["unmasked"], eval_steps=frozen_array(h["step"], np.int64),
            acc_masked=frozen_array(h["masked"], np.float64), acc_unmasked=frozen_array(h["unmasked"], np.float64),
            chance=1.0 / self.config.symbols, positional=self.config.positional)

    def set_lr(self, lr: float) -> None:
        for opt in self.opts.values():
            for group in opt.param_groups:
                group["lr"] = float(lr)
