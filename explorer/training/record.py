"""Recorded runs: a folder with the config (JSON), metrics (JSON lines) and snapshots (.npz), written atomically."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import __version__
from ..atomic import atomic_write_bytes, atomic_write_text
from .job import JOB_KINDS, Job, Snapshot
from .snapshot_io import SnapshotFormatError, snapshot_from_file, snapshot_to_bytes

if TYPE_CHECKING:
    from .runner import Tick


class RunError(ValueError):
    """A run folder that is missing or cannot be read; the message says which and why."""


def config_to_dict(config: Any) -> dict:
    """A JSON-ready dict of a config dataclass."""
    return json.loads(json.dumps(dataclasses.asdict(config)))


def config_from_dict(cls: type, data: dict) -> Any:
    """Rebuild a config dataclass from a dict, ignoring unknown keys and keeping defaults for missing ones."""
    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            value = data[f.name]
            if isinstance(value, list) and typing.get_origin(hints.get(f.name)) is tuple:
                value = tuple(value)
            values[f.name] = value
    return cls(**values)


class RunRecorder:
    """Writes one run folder while a job trains: at most `max_snapshots` snapshots, spread over the steps."""

    def __init__(self, folder: str | Path, max_snapshots: int = 60) -> None:
        self.folder = Path(folder)
        self.max_snapshots = max(2, max_snapshots)
        self._metrics_fh = None
        self._next_step = 0
        self._spacing = 1
        self._info: dict = {}

    def start(self, job: Job) -> None:
        """Create the folder and write the config before the first step."""
        (self.folder / "snapshots").mkdir(parents=True, exist_ok=True)
        self._spacing = max(1, int(job.total_steps) // (self.max_snapshots - 1))
        self._info = {
            "kind": job.kind,
            "title": job.title,
            "device": job.device,
            "created": _dt.datetime.now().isoformat(timespec="seconds"),
            "app_version": __version__,
            "total_steps": int(job.total_steps),
            "status": "running",
            "message": "",
            "steps": 0,
        }
        atomic_write_text(self.folder / "config.json", json.dumps(config_to_dict(job.config), indent=2))
        atomic_write_text(self.folder / "run.json", json.dumps(self._info, indent=2))
        self._metrics_fh = open(self.folder / "metrics.jsonl", "w", encoding="utf-8")  # noqa: SIM115 (finish closes it)

    def add(self, tick: Tick, job: Job) -> None:
        """Append the tick's metric rows; keep its snapshot if one is due."""
        if self._metrics_fh is None:
            return
        self._write_rows(tick.metrics)
        if tick.snapshot is not None and tick.step >= self._next_step:
            self._save_snapshot(job.record_snapshot(tick.snapshot))
            self._next_step = tick.step + self._spacing

    def finish(self, tick: Tick, job: Job | None = None) -> None:
        """Write the last rows, the final snapshot (if the model is still good) and the outcome."""
        if self._metrics_fh is None:  # set-up failed: record the failure only if a folder was asked for
            return
        self._write_rows(tick.metrics)
        self._metrics_fh.close()
        self._metrics_fh = None
        if job is not None and tick.step > 0:
            self._save_snapshot(job.record_snapshot(job.snapshot(tick.step)))
        self._info.update(status=tick.status, message=tick.message, steps=tick.step)
        atomic_write_text(self.folder / "run.json", json.dumps(self._info, indent=2))

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
        path = self.folder / "snapshots" / f"step_{snap.step:09d}.npz"
        atomic_write_bytes(path, snapshot_to_bytes(snap))


def _json_number(x: float) -> float | int | None:
    x = float(x)
    if x != x or x in (float("inf"), float("-inf")):
        return None
    return int(x) if x.is_integer() and abs(x) < 2**53 else x


@dataclasses.dataclass
class RunRecord:
    """A recorded run opened for replay."""

    folder: Path
    info: dict
    config: Any
    metrics: dict[str, np.ndarray]
    snapshot_paths: list[Path]

    @property
    def kind(self) -> str:
        return self.info["kind"]

    def snapshot_steps(self) -> list[int]:
        """The training step of every recorded snapshot, in order."""
        return [int(p.stem.split("_")[1]) for p in self.snapshot_paths]

    def load_snapshot(self, index: int) -> Snapshot:
        """Read snapshot number `index` (RunError with a message if the file is damaged)."""
        try:
            return snapshot_from_file(self.snapshot_paths[index])
        except SnapshotFormatError as exc:
            raise RunError(f"Snapshot {index + 1} of this run is damaged: {exc}") from None


def open_run(folder: str | Path, with_metrics: bool = True) -> RunRecord:
    """Open a recorded run folder, or raise RunError saying what is wrong with it (metrics are optional)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunError(f"No run folder at {folder}.")
    try:
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        config_data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunError(f"{folder} is not a recorded run: {Path(exc.filename).name} is missing.") from None
    except (OSError, ValueError) as exc:
        raise RunError(f"The run in {folder} is damaged: {exc}") from None
    job_cls = JOB_KINDS.get(info.get("kind", "")) if isinstance(info, dict) else None
    if job_cls is None:
        raise RunError(f"The run in {folder} is of an unknown kind ({info.get('kind')!r}).")
    try:
        config = config_from_dict(job_cls.config_cls, config_data)
    except (TypeError, ValueError) as exc:
        raise RunError(f"The configuration of the run in {folder} is damaged: {exc}") from None
    metrics = _read_metrics(folder / "metrics.jsonl") if with_metrics else {}
    snaps = sorted((folder / "snapshots").glob("step_*.npz"))
    return RunRecord(folder, info, config, metrics, snaps)


def _read_metrics(path: Path) -> dict[str, np.ndarray]:
    cols: dict[str, list[float]] = {}
    if not path.exists():
        return {}
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            continue  # a torn last line from an interrupted run
    for i, row in enumerate(rows):
        for key, value in row.items():
            col = cols.setdefault(key, [float("nan")] * i)
            col.append(float("nan") if value is None else float(value))
        for col in cols.values():
            if len(col) < i + 1:
                col.append(float("nan"))
    return {k: np.asarray(v, dtype=np.float64) for k, v in cols.items()}


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
