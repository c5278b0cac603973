"""The job protocol: a config dataclass in, training steps, immutable numpy snapshots out. No Qt here."""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from ..data.corpus import Corpus
from ..data.corpus_spec import load_corpus_spec

JOB_KINDS: dict[str, type[Job]] = {}
SNAPSHOT_TYPES: dict[str, type[Snapshot]] = {}


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What a view draws of a job at one step: numpy arrays and plain values only, never tensors."""

    step: int


def register_snapshot(cls: type[Snapshot]) -> type[Snapshot]:
    """Make a snapshot class known by name so that recorded runs can be read back."""
    SNAPSHOT_TYPES[cls.__name__] = cls
    return cls


def register_job(cls: type[Job]) -> type[Job]:
    """Make a job kind known by name (for the CLI, recorded runs and replay)."""
    JOB_KINDS[cls.kind] = cls
    register_snapshot(cls.snapshot_cls)
    return cls


def frozen_array(value: Any, dtype: Any = np.float32) -> np.ndarray:
    """A private, read-only, C-contiguous copy of a tensor or array (so the optimizer cannot change it later)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    arr = np.array(value, dtype=dtype, copy=True, order="C")
    arr.setflags(write=False)
    return arr


def _never() -> bool:
    return False


@dataclasses.dataclass(frozen=True)
class JobContext:
    """What a job is handed when it is set up, besides its config and device (the runner builds it).

    `corpora` holds corpora already in memory by spec ('builtin:austen' or a file path), e.g. the ones the user
    opened in the app, so that a job need not read them again; `cancelled()` turns true when whoever runs the job
    wants it to stop, and long set-up loops check it.
    """

    corpora: Mapping[str, Corpus] = dataclasses.field(default_factory=dict)
    cancelled: Callable[[], bool] = _never

    def corpus(self, spec: str) -> Corpus:
        """The corpus that `spec` names: the one in memory if there is one, else read (and cancellable)."""
        corpus = self.corpora.get(spec)
        return corpus if corpus is not None else load_corpus_spec(spec, self.cancelled)

    def with_corpus(self, spec: str, corpus: Corpus) -> JobContext:
        """This context with `corpus` in memory as `spec` (for a job that hands its corpus to the jobs it runs)."""
        return dataclasses.replace(self, corpora={**self.corpora, spec: corpus})


class Diverged(Exception):
    """Raised by a job's train_step when training has blown up in a way the loss alone does not show
    (e.g. a non-finite gradient norm); the runner ends the job as "diverged" with this message."""


class Job:
    """A unit of training work that owns its model, optimizer and data on one device.

    Subclasses set `kind`, `title`, `config_cls`, `snapshot_cls`, `throughput_unit`, and implement
    `setup`, `train_step`, `snapshot` and `set_lr`. The engine calls them from one worker thread, after it has
    checked the config (explorer.training.params.validate_config): `setup` may take the config as valid.
    """

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    config_cls: ClassVar[type] = object
    snapshot_cls: ClassVar[type[Snapshot]] = Snapshot
    throughput_unit: ClassVar[str] = "steps/s"
    min_snapshot_interval: ClassVar[float] = 0.0  # seconds: a job whose views need fewer snapshots says so

    def __init__(self, config: Any, device: str = "cpu") -> None:
        self.config = config
        self.device = device
        self.total_steps = 0
        self.items_per_step = 1.0

    def setup(self, ctx: JobContext) -> None:
        """Build data, model and optimizer; set `total_steps`. May be slow; check `ctx.cancelled()` in long loops."""
        raise NotImplementedError

    def train_step(self, step: int) -> dict[str, float]:
        """Run optimisation step number `step` (0-based); return its metrics, at least {'loss': ...}."""
        raise NotImplementedError

    def snapshot(self, step: int) -> Snapshot:
        """An immutable picture of the job after `step` steps."""
        raise NotImplementedError

    def set_lr(self, lr: float) -> None:
        """Change the base learning rate while the job runs."""
        raise NotImplementedError

    def set_live(self, name: str, value: Any) -> None:
        """Change a live setting while the job runs; the learning rate by default, others by override."""
        if name == "lr":
            self.set_lr(float(value))

    def record_snapshot(self, snap: Snapshot) -> Snapshot:
        """The (possibly reduced) form of a snapshot that a recorded run keeps on disk."""
        return snap
