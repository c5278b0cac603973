"""Following a run folder that another process (here, or on another machine through a shared folder such as NFS
or sshfs) is still writing: poll its files, say what is new, and when the run has ended or its writer stopped.
No server, no port: the recorder's atomic writes of run.json and the snapshots are what is read."""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .record import RunError, RunRecord, open_run
from .run_status import LIVE

POLL_S = 1.0  # how often a follower looks: new snapshots show within about twice this


@dataclasses.dataclass(frozen=True)
class FollowState:
    """One look at a followed run: how far it is, how many snapshots it has, and whether it is still written."""

    steps: int
    total: int
    snapshots: int
    status: str  # the effective status: running, paused, finished, stopped, diverged, failed, interrupted
    status_text: str
    last_metrics: dict[str, float]

    @property
    def live(self) -> bool:
        """Whether the run is still being written (its writer is alive and has not ended it)."""
        return self.status in LIVE

    def line(self) -> str:
        """One line for a terminal: step, loss, snapshots, status."""
        loss = self.last_metrics.get("loss")
        val = self.last_metrics.get("val_loss")
        parts = [f"step {self.steps:,}/{self.total:,}"]
        if loss is not None:
            parts.append(f"loss {loss:.4f}")
        if val is not None:
            parts.append(f"val_loss {val:.4f}")
        parts.append(f"{self.snapshots} snapshot{'s' if self.snapshots != 1 else ''}")
        parts.append(self.status_text if not self.live else self.status)
        return "  ".join(parts)


class RunWatch:
    """Looks at a run folder again and again; `poll()` says what it is now and whether that is news."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.state: FollowState | None = None
        self.record: RunRecord | None = None

    def look(self) -> FollowState:
        """The run as its files are now (RunError if they cannot be read, e.g. a folder not yet a run)."""
        record = open_run(self.folder, with_metrics=False)
        self.record = record
        return FollowState(steps=int(record.steps), total=int(record.info.get("total_steps", 0)),
                           snapshots=len(record.snapshot_paths), status=record.status,
                           status_text=record.status_text, last_metrics=dict(record.last_metrics))

    def poll(self) -> tuple[FollowState, bool]:
        """(the run now, whether anything a viewer shows changed since the last poll: steps, snapshots, status)."""
        state = self.look()
        old = self.state
        changed = old is None or (state.steps, state.snapshots, state.status) != (old.steps, old.snapshots,
                                                                                   old.status)
        self.state = state
        return state, changed


def follow(folder: str | Path, every: float = POLL_S, sleep: Callable[[float], None] = time.sleep,
           timeout: float | None = None) -> Iterator[FollowState]:
    """Yield the run's state each time it changes, until it has ended (or its writer stopped), or `timeout`.

    A folder that is not yet a run (the writer has not written run.json) is waited for, as long as `timeout`
    allows; RunError for a folder that holds something else."""
    watch = RunWatch(folder)
    start = time.monotonic()
    while True:
        try:
            state, changed = watch.poll()
        except RunError:
            if not Path(folder).is_dir() or (Path(folder) / "run.json").exists():
                raise
            state, changed = None, False  # the writer has made the folder but not yet its run.json
        if state is not None and changed:
            yield state
        if state is not None and not state.live:
            return
        if timeout is not None and time.monotonic() - start > timeout:
            return
        sleep(every)
