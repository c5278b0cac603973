"""Training job: the four-way fine-tuning comparison over amounts of labelled data (the data-efficiency plot).

For every share of the task's training set, in turn, a FinetuneJob trains the chosen ways for the same budget of
steps, without probes or attention; the final validation accuracy and loss of each way fill one row of a table.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from ..job import Diverged, Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param
from .finetune_job import FinetuneConfig, FinetuneJob


@dataclasses.dataclass
class FinetuneSweepConfig(FinetuneConfig):
    """A FinetuneConfig run once per share of the training set (its own `share` field is not used)."""

    shares: str = param("0.01,0.03,0.1,0.3,1.0", label="Shares of the labelled data",
                        help="Comma-separated shares of the task's training set, each in (0, 1]; every one gets "
                             "the same budget of steps.")

    def share_list(self) -> tuple[float, ...]:
        """The shares, in the order given (ValueError names one that is not a number)."""
        out = []
        for part in self.shares.split(","):
            if part.strip():
                try:
                    out.append(float(part))
                except ValueError:
                    raise ValueError(f"{part.strip()!r} is not a number") from None
        return tuple(out)

    def check(self) -> dict[str, str]:
        problems = super().check()
        try:
            shares = self.share_list()
        except ValueError as exc:
            return {**problems, "shares": f"Shares: {exc}; write them like 0.01, 0.1, 1."}
        if not shares:
            problems["shares"] = "Give at least one share of the labelled data, e.g. 0.01, 0.1, 1."
        elif any(not 0 < s <= 1 for s in shares):
            problems["shares"] = "Every share must lie in (0, 1]."
        return problems


@dataclasses.dataclass(frozen=True)
class FinetuneSweepSnapshot(Snapshot):
    """Final validation accuracy and loss of each way (columns, order of `ways`) at each share (rows), NaN
    until that share has trained; done: how many shares have; examples: training examples at each share."""

    shares: np.ndarray
    ways: tuple[str, ...]
    final_accuracy: np.ndarray
    final_loss: np.ndarray
    done: int
    examples: np.ndarray
    chance: float
    task: str


@register_job
class FinetuneSweepJob(Job):
    """One FinetuneJob per share, in turn, each with the same budget of steps; no probes, no attention."""

    kind = "finetune_sweep"
    title = "fine-tuning against the amount of labelled data"
    config_cls = FinetuneSweepConfig
    snapshot_cls = FinetuneSweepSnapshot
    throughput_unit = "examples/s"

    def setup(self, ctx: JobContext) -> None:
        from ...data.finetune_tasks import build_task
        from .pretrained import load_pretrained

        cfg = self.config
        self.ctx = ctx
        self.pretrained = load_pretrained(cfg.pretrained)
        self.shares = cfg.share_list()
        self.ways = cfg.way_list()
        context = self.pretrained.config.context
        self.tasks = [build_task(cfg.task, cfg.source, self.pretrained.alphabet, context, s, cfg.seed, cfg.file,
                                 ctx.cancelled) for s in self.shares]
        S, W = len(self.shares), len(self.ways)
        self.final_accuracy, self.final_loss = np.full((S, W), np.nan), np.full((S, W), np.nan)
        self.done = 0
        self.total_steps = S * cfg.steps
        self.items_per_step = float(cfg.batch_size * W)
        self._job: FinetuneJob | None = None
        self._start(0)  # checks N against the model before the first step

    def _start(self, j: int) -> None:
        job = FinetuneJob(dataclasses.replace(self.config, share=self.shares[j]), self.device,
                          pretrained=self.pretrained, task=self.tasks[j], light=True)
        job.setup(self.ctx)
        self._job, self._share = job, j

    def train_step(self, step: int) -> dict[str, float]:
        steps = self.config.steps
        j = step // steps
        if self._job is None or self._share != j:
            self._start(j)
        try:
            metrics = self._job.train_step(step % steps)
        except Diverged as exc:
            raise Diverged(f"With {self.shares[j]:g} of the labelled data: {exc}") from None
        if step % steps == steps - 1:
            job = self._job
            self.final_accuracy[j] = np.where([bool(m) for m in job.diverged], np.nan, job.val_accuracy)
            self.final_loss[j] = np.where([bool(m) for m in job.diverged], np.nan, job.val_loss)
            self.done, self._job = j + 1, None
        return {**metrics, "share": self.shares[j]}

    def set_lr(self, lr: float) -> None:
        self.config = dataclasses.replace(self.config, lr=float(lr))
        if self._job is not None:
            self._job.set_lr(lr)

    def snapshot(self, step: int) -> FinetuneSweepSnapshot:
        return FinetuneSweepSnapshot(
            step=step, shares=frozen_array(self.shares, np.float64), ways=self.ways,
            final_accuracy=frozen_array(self.final_accuracy), final_loss=frozen_array(self.final_loss),
            done=self.done, examples=frozen_array([t.examples for t in self.tasks], np.int64),
            chance=float(self.tasks[0].chance), task=self.tasks[0].kind,
        )
