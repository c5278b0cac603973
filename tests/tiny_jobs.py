"""A tiny but real training job for engine tests: least-squares regression trained with SGD in torch."""
from __future__ import annotations

import dataclasses
import time

import numpy as np

from explorer.training.job import Job, JobContext, Snapshot, frozen_array, register_job
from explorer.training.params import param


@dataclasses.dataclass
class RegressionConfig:
    steps: int = param(200, label="Steps", min=1, max=10**9)
    lr: float = param(0.05, label="Learning rate", min=1e-6, max=1e6, live=True)
    step_sleep: float = 0.0
    seed: int = 0


@dataclasses.dataclass(frozen=True)
class RegressionSnapshot(Snapshot):
    loss: float
    weights: np.ndarray
    label: str


@register_job
class RegressionJob(Job):
    kind = "test-regression"
    title = "Regression (test job)"
    config_cls = RegressionConfig
    snapshot_cls = RegressionSnapshot
    throughput_unit = "samples/s"

    def setup(self, ctx: JobContext) -> None:
        import torch

        g = torch.Generator().manual_seed(self.config.seed)
        self.x = torch.randn(256, 8, generator=g)
        self.w_true = torch.randn(8, 1, generator=g)
        self.y = self.x @ self.w_true
        self.w = torch.zeros(8, 1, requires_grad=True)
        self.opt = torch.optim.SGD([self.w], lr=self.config.lr)
        self.total_steps = self.config.steps
        self.items_per_step = 256
        self.loss = float("nan")
        self.lrs_seen: list[float] = []

    def train_step(self, step: int) -> dict[str, float]:
        if self.config.step_sleep:
            time.sleep(self.config.step_sleep)
        loss = ((self.x @ self.w - self.y) ** 2).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.loss = float(loss.detach())
        self.lrs_seen.append(self.opt.param_groups[0]["lr"])
        return {"loss": self.loss}

    def set_lr(self, lr: float) -> None:
        for group in self.opt.param_groups:
            group["lr"] = lr

    def snapshot(self, step: int) -> RegressionSnapshot:
        return RegressionSnapshot(step=step, loss=self.loss, weights=frozen_array(self.w), label=f"step {step}")
