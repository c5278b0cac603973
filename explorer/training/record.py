"""Recorded runs: a folder with the config (JSON), metrics (JSON lines) and snapshots (.npz), written atomically.

run.json says what the run is and how far it got: the recorder rewrites it with progress while the job trains (at
most every PROGRESS_INTERVAL_S seconds and at each kept snapshot), and with the outcome when it ends; a run whose
writer is gone reads back as interrupted (explorer.training.run_status)."""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from ..atomic import atomic_write_bytes, atomic_write_text
from .job import JOB_KINDS, Job, Snapshot
from .run_format import (
    CONFIG_FILE,
    METRICS_FILE,
    RUN_FILE,
    SNAPSHOT_DIR,
    RunError,
    check_info,
    config_from_data,
    describe,
    metrics_tail,
    read_json_object,
    read_metrics,
    snapshot_files,
    snapshot_step,
)
from .run_status import effective_status, host_name, now_iso
from .snapshot_io import SnapshotFormatError, snapshot_from_file, snapshot_to_bytes

if TYPE_CHECKING:
    from .runner import Tick


PROGRESS_INTERVAL_S = 2.0
_RUN_PARTS = (RUN_FILE, CONFIG_FILE, METRICS_FILE, SNAPSHOT_DIR)


def config_to_dict(config: Any) -> dict:
    """A JSON-ready dict of a config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(cls: type, data: dict, folder: str | Path = "this run") -> Any:
    """Rebuild a config dataclass from a dict, ignoring unknown keys and keeping defaults for missing ones; a value
    of the wrong type is a RunError naming the field."""
    return config_from_data(cls, data, Path(folder))


def check_new_run_folder(folder: str | Path) -> None:
    """Refuse (RunError) to record into a folder that holds a run or other files; a new or empty folder is fine."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise RunError(f"cannot record into {folder}: it is a file, not a folder")
    if not folder.is_dir():
        return
    if any((folder / part).exists() for part in _RUN_PARTS):
        raise RunError(f"{folder} already holds a recorded run; choose a new folder or delete it first")
    if any(folder.iterdir()):
        raise RunError(f"{folder} is not empty; record into a new or empty folder")


class RunRecorder:
    """Writes one run folder while a job trains: at most `max_snapshots` snapshots, spread over the steps."""

    def __init__(self, folder: str | Path, max_snapshots: int = 60,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = Path(folder)
        self.max_snapshots = max(2, max_snapshots)
        self._clock = clock
        self._metrics_fh = None
        self._next_step = 0
        self._spacing = 1
        self._info: dict = {}
        self._kept: set[int] = set()
        self._t0 = self._last_write = 0.0
        self._step = 0

    def check(self) -> None:
        """RunError if the folder cannot take a new run (before anything is trained)."""
        check_new_run_folder(self.folder)

    def start(self, job: Job) -> None:
        """Create the folder and write the config and run.json before the first step."""
        self.check()
        (self.folder / SNAPSHOT_DIR).mkdir(parents=True, exist_ok=True)
        self._spacing = max(1, int(job.total_steps) // (self.max_snapshots - 1))
        self._t0 = self._clock()
        self._info = {
            "kind": job.kind,
            "title": job.title,
            "device": job.device,
            "created": now_iso(),
            "app_version": __version__,
            "total_steps": int(job.total_steps),
            "status": "running",
            "message": "",
            "steps": 0,
            "pid": os.getpid(),
            "host": host_name(),
        }
        if getattr(job, "world_size", None):  # trained data-parallel by this many processes (torchrun)
            self._info["world_size"] = int(job.world_size)
        atomic_write_text(self.folder / CONFIG_FILE, json.dumps(config_to_dict(job.config), indent=2))
        self._write_info()
        self._metrics_fh = open(self.folder / METRICS_FILE, "w", encoding="utf-8")  # noqa: SIM115 (finish closes it)

    def add(self, tick: Tick, job: Job) -> None:
        """Append the tick's metric rows; keep its snapshot if one is due; note the progress in run.json."""
        if self._metrics_fh is None:
            return
        self._write_rows(tick.metrics)
        self._step = max(self._step, int(tick.step))
        saved = False
        if tick.snapshot is not None and tick.step >= self._next_step:
            self._save_snapshot(job.record_snapshot(tick.snapshot))
            self._next_step = tick.step + self._spacing
            saved = True
        self.note(tick.step, "paused" if tick.status == "paused" else "running", force=saved)

    def note(self, step: int, status: str = "running", force: bool = False) -> None:
        """Rewrite run.json with the progress (steps, updated, elapsed_s, snapshots) if PROGRESS_INTERVAL_S has
        passed since the last time, or `force`: the runner calls it while paused too, so a live run stays fresh."""
        if self._metrics_fh is None:
            return
        self._step = max(self._step, int(step))
        if not force and self._info.get("status") == status and \
                self._clock() - self._last_write < PROGRESS_INTERVAL_S:
            return
        self._info.update(status=status, steps=self._step)
        self._write_info()

    def finish(self, tick: Tick, job: Job | None = None) -> None:
        """Write the last rows, the final snapshot (if the model is still good) and the outcome."""
        if self._metrics_fh is None:  # set-up failed: record the failure only if a folder was asked for
            return
        self._write_rows(tick.metrics)
        self._metrics_fh.close()
        self._metrics_fh = None
        if job is not None and tick.step > 0:
            self._save_snapshot(job.record_snapshot(job.snapshot(tick.step)))
        self._info.update(status=tick.status, message=tick.message, steps=tick.step, finished=now_iso())
        self._write_info()

    def abandon(self, exc: BaseException) -> None:
        """The job ended by an exception that escaped the runner (Ctrl-C inside a step, the generator closed):
        run.json says stopped (Ctrl-C, closed) or interrupted (anything else), never running."""
        if self._metrics_fh is None:
            return
        self._metrics_fh.close()
        self._metrics_fh = None
        if isinstance(exc, (KeyboardInterrupt, GeneratorExit)):
            how = "Ctrl-C" if isinstance(exc, KeyboardInterrupt) else "the job was closed"
            status, message = "stopped", f"Stopped at step {self._step:,} ({how})."
        else:
            status = "interrupted"
            message = f"Interrupted at step {self._step:,}: {type(exc).__name__}: {' '.join(str(exc).split())}"
        self._info.update(status=status, message=message, steps=self._step, finished=now_iso())
        with contextlib.suppress(OSError):  # the exception that ended the job matters more than this write
            self._write_info()

    def _write_info(self) -> None:
        self._last_write = self._clock()
        self._info.update(updated=now_iso(), elapsed_s=round(self._last_write - self._t0, 3),
                          snapshots=len(self._kept))
        atomic_write_text(self.folder / RUN_FILE, json.dumps(self._info, indent=2))

    def _write_rows(self, metrics: dict[str, np.ndarray]) -> None:
        if not metrics:
            return
        keys = list(metrics)
        n = len(metrics[keys[0]])
        lines = []
        for i in range(n):
            row = {k: _json_number(metrics[k][i]) for k in keys}
            lines.append(json.dumps(row))
        self._metrics_fh.write("\n".join(lines) + "\n")
        self._metrics_fh.flush()

    def _save_snapshot(self, snap: Snapshot) -> None:
        path = self.folder / SNAPSHOT_DIR / f"step_{snap.step:09d}.npz"
        atomic_write_bytes(path, snapshot_to_bytes(snap))
        self._kept.add(int(snap.step))
        self._step = max(self._step, int(snap.step))


def _json_number(x: float) -> float | int | None:
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return None
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


@dataclasses.dataclass
class RunRecord:
    """A recorded run opened for replay; `status` and `status_text` say how it really stands (a run whose writer
    is gone is "interrupted"), `steps` the furthest step its files show, `last_metrics` the last finite value of
    each metric."""

    folder: Path
    info: dict
    config: Any
    metrics: dict[str, np.ndarray]
    snapshot_paths: list[Path]
    status: str = ""
    status_text: str = ""
    steps: int = 0
    last_metrics: dict[str, float] = dataclasses.field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.info["kind"]

    def snapshot_steps(self) -> list[int]:
        """The training step of every recorded snapshot, in order."""
        return [snapshot_step(p) for p in self.snapshot_paths]

    def load_snapshot(self, index: int) -> Snapshot:
        """Read snapshot number `index` (RunError with a message if the file is damaged)."""
        path = self.snapshot_paths[index]
        try:
            return snapshot_from_file(path)
        except SnapshotFormatError as exc:
            raise RunError(f"{_snapshot_name(path)} in {self.folder} is damaged: {_reason(exc, path)}") from None

    def damaged_snapshots(self) -> list[str]:
        """Load every snapshot; one line for each that cannot be read ("snapshots/step_000000120.npz is damaged:
        ...")."""
        problems = []
        for path in self.snapshot_paths:
            try:
                snapshot_from_file(path)
            except SnapshotFormatError as exc:
                problems.append(f"{_snapshot_name(path)} is damaged: {_reason(exc, path)}")
        return problems


def _snapshot_name(path: Path) -> str:
    return f"{SNAPSHOT_DIR}/{path.name}"


def _reason(exc: Exception, path: Path) -> str:
    text = " ".join(str(exc).split())
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def open_run(folder: Any, with_metrics: bool = True) -> RunRecord:
    """Open a recorded run folder, or raise RunError (one line naming the file and the field) saying what is wrong
    with it; metrics are optional. The job kinds must be registered (import explorer.training.jobs)."""
    try:
        folder = Path(folder)
        is_dir = folder.is_dir()
    except (TypeError, ValueError, OSError):
        raise RunError(f"No run folder at {describe(folder)}: that is not a folder path.") from None
    if not is_dir:
        raise RunError(f"No run folder at {folder}.")
    info = read_json_object(folder, RUN_FILE, "a run description")
    config_data = read_json_object(folder, CONFIG_FILE, "a configuration")
    info = check_info(info, folder, JOB_KINDS)
    config = config_from_data(JOB_KINDS[info["kind"]].config_cls, config_data, folder)
    metrics = read_metrics(folder) if with_metrics else {}
    snaps = snapshot_files(folder)
    record = RunRecord(folder, info, config, metrics, snaps)
    seen = record.snapshot_steps()[-1] if snaps else 0
    if with_metrics:
        record.last_metrics = {k: float(col[np.isfinite(col)][-1]) for k, col in metrics.items()
                               if np.isfinite(col).any()}
    else:
        record.last_metrics = metrics_tail(folder)
    seen = max(seen, int(max(0.0, record.last_metrics.get("step", 0.0))))
    state = effective_status(info, seen, len(snaps))
    record.status, record.status_text, record.steps = state.status, state.text, state.steps
    return record


def check_run(folder: Any) -> list[str]:
    """Open the run (RunError if it cannot be) and load every snapshot: one line for each damaged one."""
    return open_run(folder, with_metrics=False).damaged_snapshots()


def new_run_folder(root: str | Path, kind: str) -> Path:
    """A fresh, unique run folder name under `root` (not created)."""
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = Path(root)
    path = root / f"{stamp}-{kind}"
    n = 1
    while path.exists():
        n += 1
        path = root / f"{stamp}-{kind}-{n}"
    return path
