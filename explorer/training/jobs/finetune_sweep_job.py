"""Training job: the four-way fine-tuning comparison over amounts of labelled data (the data-efficiency plot).

For every share of the task's training set, in turn, a FinetuneJob trains the chosen ways for the same budget of
steps, without probes or attention; the final validation accuracy and loss of each way fill one row of a table.

When no pre-trained model is chosen, the sweep pre-trains its own first: a small GPT (the "tiny" preset's shape)
on next-character prediction for `pretrain_steps` steps, the first steps of the run; so that one run of a few
minutes holds the whole experiment (a lesson is one run).
"""
from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import numpy as np

from ..job import Diverged, Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param
from .finetune_job import FinetuneConfig, FinetuneJob


@contextlib.contextmanager
def app_threads(device: str) -> Iterator[None]:
    """On the CPU, torch on the app's training threads (one core left free; one thread on two cores) for the block:
    the command line's default of every core made the tiny GPT's steps 5x slower on a busy 2-core machine (300
    against 60 ms), as threads waited on each other at every parallel region."""
    import torch

    from ...device import training_threads

    before = torch.get_num_threads()
    if torch.device(device).type == "cpu":
        torch.set_num_threads(min(before, training_threads()))
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclasses.dataclass
class FinetuneSweepConfig(FinetuneConfig):
    """A FinetuneConfig run once per share of the training set (its own `share` field is not used)."""

    shares: str = param("0.01,0.03,0.1,0.3,1.0", label="Shares of the labelled data",
                        help="Comma-separated shares of the task's training set, each in (0, 1]; every one gets "
                             "the same budget of steps.")
    pretrain_steps: int = param(600, label="Pre-training steps", min=1, max=1_000_000,
                                help="When no pre-trained model is chosen: the steps of next-character "
                                     "pre-training of a tiny GPT that the sweep runs first.")
    pretrain_corpus: str = param("builtin:austen", label="Pre-training corpus",
                                 help="The corpus the sweep's own model is pre-trained on (when none is chosen).")

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
        if not self.pretrained and self.pretrain_steps >= 1:
            problems.pop("pretrained", None)  # the sweep pre-trains its own model first
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
    pretrained: str = ""  # what was fine-tuned: the chosen run's label, or the model pre-trained in this run
    pretrain_steps: int = 0  # the run's own pre-training steps (0: a chosen model), done before the first share
    pretrain_val_loss: float = float("nan")  # its last validation loss (nats per character)


@register_job
class FinetuneSweepJob(Job):
    """One FinetuneJob per share, in turn, each with the same budget of steps; no probes, no attention."""

    kind = "finetune_sweep"
    title = "fine-tuning against the amount of labelled data"
    config_cls = FinetuneSweepConfig
    snapshot_cls = FinetuneSweepSnapshot
    throughput_unit = "examples/s"

    def setup(self, ctx: JobContext) -> None:
        with app_threads(self.device):
            self._setup(ctx)

    def _setup(self, ctx: JobContext) -> None:
        from ...data.finetune_tasks import build_task
        from .pretrained import load_pretrained

        cfg = self.config
        self.ctx = ctx
        self.shares = cfg.share_list()
        self.ways = cfg.way_list()
        self.pre_job = None
        self.pre_steps, self.pre_val_loss = 0, float("nan")
        if cfg.pretrained:
            self.pretrained = load_pretrained(cfg.pretrained)
            alphabet, shape = self.pretrained.alphabet, self.pretrained.config
            self.pretrained_label = self.pretrained.info.label
        else:
            from .pretrain_job import own_pretraining

            self.pre_job = own_pretraining(cfg.pretrain_corpus, cfg.pretrain_steps, cfg.seed, self.device, ctx)
            self.pre_steps, self.pretrained = cfg.pretrain_steps, None
            alphabet, shape = tuple(self.pre_job.alphabet), self.pre_job.config
            self.pretrained_label = (f"{shape.layers}×{shape.width} pre-trained in this run for "
                                     f"{cfg.pretrain_steps:,} steps")
        if cfg.lower > shape.layers + 1:
            raise ValueError(f"The pre-trained model has {shape.layers} blocks, so N can be at most "
                             f"{shape.layers + 1} (the embedding and every block); it is {cfg.lower}.")
        self.tasks = [build_task(cfg.task, cfg.source, alphabet, shape.context, s, cfg.seed, cfg.file,
                                 ctx.cancelled) for s in self.shares]
        S, W = len(self.shares), len(self.ways)
        self.final_accuracy, self.final_loss = np.full((S, W), np.nan), np.full((S, W), np.nan)
        self.done = 0
        self.total_steps = self.pre_steps + S * cfg.steps
        self.items_per_step = float(cfg.batch_size * W)
        self._job: FinetuneJob | None = None
        if self.pretrained is not None:
            self._start(0)  # checks N against the model before the first step

    def _start(self, j: int) -> None:
        job = FinetuneJob(dataclasses.replace(self.config, share=self.shares[j]), self.device,
                          pretrained=self.pretrained, task=self.tasks[j], light=True)
        job.setup(self.ctx)
        self._job, self._share = job, j

    def train_step(self, step: int) -> dict[str, float]:
        with app_threads(self.device):
            return self._train_step(step)

    def _train_step(self, step: int) -> dict[str, float]:
        if step < self.pre_steps:
            return self._pretrain_step(step)
        step -= self.pre_steps
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

    def _pretrain_step(self, step: int) -> dict[str, float]:
        """One step of the run's own pre-training; after the last, its model becomes the one fine-tuned."""
        from .pretrained import pretrained_of

        metrics = self.pre_job.train_step(step)
        out = {"pretrain_loss": metrics["loss"]}
        if "val_loss" in metrics:
            self.pre_val_loss = out["pretrain_val_loss"] = float(metrics["val_loss"])
        if step + 1 == self.pre_steps:
            self.pretrained, self.pre_job = pretrained_of(self.pre_job), None
        return out

    def set_lr(self, lr: float) -> None:
        """The fine-tuning learning rate (the run's own pre-training keeps its preset's)."""
        self.config = dataclasses.replace(self.config, lr=float(lr))
        if self._job is not None:
            self._job.set_lr(lr)

    def snapshot(self, step: int) -> FinetuneSweepSnapshot:
        return FinetuneSweepSnapshot(
            step=step, shares=frozen_array(self.shares, np.float64), ways=self.ways,
            final_accuracy=frozen_array(self.final_accuracy), final_loss=frozen_array(self.final_loss),
            done=self.done, examples=frozen_array([t.examples for t in self.tasks], np.int64),
            chance=float(self.tasks[0].chance), task=self.tasks[0].kind, pretrained=self.pretrained_label,
            pretrain_steps=int(self.pre_steps), pretrain_val_loss=float(self.pre_val_loss),
        )
