"""Lesson job: the lecture's three RNN problem types, one task each, trained in turn on a small network.

one to many: count (one start symbol in, T symbols out counting up from it); many to one: adding (T values
in, their marked pair's sum out at the last step); many to many: copy (symbols in, the same symbols out after a
delay). Each task trains a fresh network of the chosen cell (with gradient-norm clipping at 1) for
`steps_per_task` steps, then its accuracy on a fixed evaluation batch is measured against guessing.
"""
from __future__ import annotations

import contextlib
import dataclasses

import numpy as np

from ..job import Diverged, Job, JobContext, Snapshot, frozen_array, register_job
from ..params import param
from .rnn_job import CELLS, GRU_VARIANTS, PROBLEM_TYPES, RnnConfig, RnnJob

TYPE_TASKS = ("count", "adding", "copy")  # one to many, many to one, many to many
TYPE_CLIP = 1.0


@dataclasses.dataclass
class RnnTypesConfig:
    """Settings of the problem-types run: one network per task, the same size and cell."""

    cell: str = param("GRU", label="Cell", choices=CELLS, help="The cell every task trains.")
    gru_variant: str = param("lecture", label="GRU variant", choices=GRU_VARIANTS,
                             help="lecture: h̃ = tanh(W[r ⊙ h, x]) (reset before the product); torch: after.")
    length: int = param(10, label="Length T", min=2, max=500,
                        help="Count: symbols emitted. Adding: values read. Copy: the delay.")
    hidden: int = param(32, label="Hidden units", min=2, max=1024, help="Size of every network's hidden state.")
    steps_per_task: int = param(600, label="Steps per task", min=1, max=1_000_000,
                                help="Training steps of each task's network.")
    lr: float = param(1e-2, label="Learning rate", min=1e-6, max=1.0, log=True, live=True, help="Adam's step size.")
    batch_size: int = param(32, label="Batch size", min=1, max=4096, help="Sequences per step.")
    seed: int = param(0, label="Seed", min=0, max=2**31 - 1)

    def task_config(self, task: str) -> RnnConfig:
        """The single run behind one task."""
        return RnnConfig(task=task, cell=self.cell, gru_variant=self.gru_variant, hidden=self.hidden,
                         length=self.length, clip="norm", clip_value=TYPE_CLIP, lr=self.lr,
                         batch_size=self.batch_size, steps=self.steps_per_task, seed=self.seed)


@dataclasses.dataclass(frozen=True)
class RnnTypesSnapshot(Snapshot):
    """Per task (order of `tasks`): its problem type, accuracy after training (NaN until trained), the accuracy
    and loss of guessing; current: the task training now ('' at the end)."""

    cell: str
    tasks: tuple[str, ...]
    problem_types: tuple[str, ...]
    accuracy: np.ndarray
    chance: np.ndarray
    chance_loss: np.ndarray
    current: str


@register_job
class RnnTypesJob(Job):
    """One fresh RnnJob per task, trained in turn."""

    kind = "rnn_types"
    title = "RNN problem types"
    config_cls = RnnTypesConfig
    snapshot_cls = RnnTypesSnapshot
    throughput_unit = "sequences/s"

    def setup(self, ctx: JobContext) -> None:
        from .rnn_job import make_task

        cfg = self.config
        self.ctx = ctx
        self.total_steps = len(TYPE_TASKS) * cfg.steps_per_task
        self.items_per_step = float(cfg.batch_size)
        tasks = [make_task(cfg.task_config(t)) for t in TYPE_TASKS]
        self.chance = np.array([t.chance for t in tasks], np.float32)
        self.chance_loss = np.array([t.chance_loss for t in tasks], np.float32)
        self.accuracy = np.full(len(TYPE_TASKS), np.nan, np.float32)
        self._job: RnnJob | None = None
        self._index = -1
        self._loss = float("nan")

    def train_step(self, step: int) -> dict[str, float]:
        spt = self.config.steps_per_task
        index = step // spt
        if index != self._index:
            self._job = RnnJob(self.config.task_config(TYPE_TASKS[index]), self.device)
            self._job.setup(self.ctx)
            self._index = index
        with contextlib.suppress(Diverged):  # clipping keeps the gradient bounded: score what is there
            self._loss = self._job.train_step(step % spt)["loss"]
        if step % spt == spt - 1:
            self.accuracy[index] = self._job.evaluate()[1]
            self._job = None
        task = TYPE_TASKS[index]
        return {"loss": self._loss, f"loss:{task}": self._loss,
                f"relative_loss:{task}": self._loss / max(float(self.chance_loss[index]), 1e-12)}

    def set_lr(self, lr: float) -> None:
        self.config = dataclasses.replace(self.config, lr=float(lr))
        if self._job is not None:
            self._job.set_lr(lr)

    def snapshot(self, step: int) -> RnnTypesSnapshot:
        done = int(np.isfinite(self.accuracy).sum())
        current = TYPE_TASKS[done] if done < len(TYPE_TASKS) else ""
        return RnnTypesSnapshot(
            step=step, cell=self.config.cell, tasks=TYPE_TASKS,
            problem_types=tuple(PROBLEM_TYPES[t] for t in TYPE_TASKS), accuracy=frozen_array(self.accuracy),
            chance=frozen_array(self.chance), chance_loss=frozen_array(self.chance_loss), current=current)
