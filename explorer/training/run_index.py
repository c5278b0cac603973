"""Every recorded run under the runs folder, summarised for a list without loading a snapshot; and what is done to
runs as files: their size, delete, rename, the old ones, the disk they use. No Qt."""
from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import shutil
import time
from pathlib import Path

from . import jobs  # noqa: F401 - registers the job kinds, which reading a run needs
from .record import open_run
from .run_format import (
    CONFIG_FILE,
    METRICS_FILE,
    RUN_FILE,
    SNAPSHOT_DIR,
    RunError,
    describe,
)
from .run_status import LIVE, timestamp

# A lesson folder holds its run in run/, its figures in figures/ and verdict.json (as explorer.lessons.runner
# writes them; that layer sits above this one, so the names are repeated here).
LESSON_RUN, VERDICT_FILE, FIGURES = "run", "verdict.json", "figures"
DAMAGED = "damaged"  # the status of a row whose run cannot be read (its `problem` says why)
_SUMMARY_KEYS = ("method", "objective", "cell", "task", "corpus", "layers", "heads", "width", "hidden", "dim",
                 "window", "context", "length", "lr", "steps", "epochs")
_SUMMARY_MAX = 6
_BAD_NAME_CHARS = set('/\\:*?"<>|\0')


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """One row of the runs list: what a run is, when, how far it got, how it ended and what it takes on disk.

    `status` is the effective one (finished, stopped, diverged, failed, running, paused, interrupted), or
    "damaged" when the run cannot be read, with `problem` saying why; `verdict` is a lesson's ("holds: …")."""

    folder: Path
    kind: str
    title: str
    created: str
    device: str
    duration_s: float | None
    status: str
    status_text: str
    steps: int
    total_steps: int
    config_summary: str
    final: dict[str, float]
    verdict: str | None
    size_bytes: int
    problem: str | None

    @property
    def lesson_folder(self) -> Path | None:
        """The lesson folder that holds this run, or None for a plain run."""
        return lesson_folder_of(self.folder)

    @property
    def name(self) -> str:
        """What the list calls the run: its folder's name (the lesson folder's for a lesson's run)."""
        lesson = self.lesson_folder
        return lesson.name if lesson is not None else self.folder.name

    @property
    def is_live(self) -> bool:
        """True while the run is being recorded (its writer runs)."""
        return self.status in LIVE


def lesson_folder_of(folder: Path) -> Path | None:
    """The lesson folder of a lesson's run folder (DIR/run with DIR/verdict.json), or None."""
    folder = Path(folder)
    if folder.name == LESSON_RUN and (folder.parent / VERDICT_FILE).is_file():
        return folder.parent
    return None


def default_root() -> Path:
    """The app's runs folder (explorer.paths.runs_dir)."""
    from ..paths import runs_dir

    return runs_dir()


def list_runs(root: Path | None = None) -> list[RunSummary]:
    """A summary of every run folder under `root` (lesson runs in lessons/NAME/run included), newest first."""
    root = Path(root) if root is not None else default_root()
    rows = [summarize_run(folder) for folder in _run_folders(root, depth=3)]
    rows.sort(key=lambda r: (_created_ts(r), r.folder.name), reverse=True)
    return rows


def summarize_run(folder: Path) -> RunSummary:
    """The summary of one run folder (never raises: a run that cannot be read gets a row with its problem)."""
    folder = Path(folder)
    lesson = lesson_folder_of(folder)
    size = run_size(lesson or folder)
    verdict = _verdict_line(lesson) if lesson is not None else None
    try:
        record = open_run(folder, with_metrics=False)
    except RunError as exc:
        raw = _raw_info(folder)
        return RunSummary(folder, raw.get("kind", ""), raw.get("title", ""), raw.get("created") or _mtime_iso(folder),
                          raw.get("device", ""), None, DAMAGED, str(exc), 0, 0, "", {}, verdict, size, str(exc))
    info = record.info
    final = {k: v for k, v in record.last_metrics.items() if k in ("loss", "val_loss") or "acc" in k}
    return RunSummary(
        folder=folder, kind=record.kind, title=str(info.get("title") or record.kind),
        created=str(info.get("created") or _mtime_iso(folder)), device=str(info.get("device", "")),
        duration_s=_duration(folder, info, record.status), status=record.status, status_text=record.status_text,
        steps=record.steps, total_steps=int(info.get("total_steps", 0)),
        config_summary=config_summary(record.config), final=final, verdict=verdict, size_bytes=size, problem=None)


def config_summary(config: object) -> str:
    """The few settings that matter, e.g. "method skipgram, dim 50, window 5, lr 0.025, corpus builtin:austen"."""
    if not dataclasses.is_dataclass(config):
        return ""
    values = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    parts = []
    for key in _SUMMARY_KEYS:
        value = values.get(key)
        if value is None or value == "" or isinstance(value, bool):
            continue
        if isinstance(value, tuple):
            value = ",".join(map(str, value[:6])) + ("…" if len(value) > 6 else "")
        elif isinstance(value, float):
            value = f"{value:g}"
        parts.append(f"{key} {value}")
        if len(parts) == _SUMMARY_MAX:
            break
    return ", ".join(parts)


def run_size(folder: Path) -> int:
    """Bytes that the files under `folder` take (0 if it does not exist)."""
    total = 0
    stack = [Path(folder)]
    while stack:
        try:
            with os.scandir(stack.pop()) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(Path(entry.path))
                        elif entry.is_file(follow_symlinks=False):
                            total += entry.stat(follow_symlinks=False).st_size
                    except OSError:
                        continue
        except OSError:
            continue
    return total


def total_size(root: Path | None = None) -> int:
    """Bytes that all recorded runs under `root` take."""
    root = Path(root) if root is not None else default_root()
    return sum(run_size(lesson_folder_of(f) or f) for f in _run_folders(root, depth=3))


def runs_older_than(root: Path | None, days: float) -> list[RunSummary]:
    """The runs under `root` created more than `days` days ago (runs being recorded are left out), newest first."""
    limit = time.time() - float(days) * 86400.0
    return [r for r in list_runs(root) if not r.is_live and _created_ts(r) < limit]


def delete_run(folder: Path) -> int:
    """Delete a run folder (a lesson's run: its whole lesson folder) and return the bytes freed; RunError for a
    folder that is not a run or lesson folder, or a run still being recorded."""
    target = _deletable(Path(folder))
    freed = run_size(target)
    try:
        shutil.rmtree(target)
    except OSError as exc:
        raise RunError(f"{target} could not be deleted completely: {' '.join(str(exc).split())}") from None
    return freed


def rename_run(folder: Path, new_name: str) -> Path:
    """Give a run (a lesson's run: its lesson folder) a new folder name in the same parent; the new path of what
    was given. RunError for a bad name, a name taken, or a run still being recorded."""
    folder = Path(folder)
    target = _deletable(folder)
    if not isinstance(new_name, str) or not _good_name(new_name):
        raise RunError(f"{describe(new_name)} is not a usable folder name (no slashes, no leading dot, at most 200 "
                       "characters)")
    new_name = new_name.strip()
    destination = target.with_name(new_name)
    if destination.exists() or destination.is_symlink():
        raise RunError(f"{destination.parent} already holds something named '{new_name}'; choose another name")
    try:
        target.rename(destination)
    except OSError as exc:
        raise RunError(f"{target} could not be renamed: {' '.join(str(exc).split())}") from None
    return destination / LESSON_RUN if target != folder else destination


def _good_name(name: str) -> bool:
    stripped = name.strip()
    return (0 < len(stripped) <= 200 and stripped not in (".", "..") and not stripped.startswith(".")
            and not (set(stripped) & _BAD_NAME_CHARS) and stripped.isprintable())


def _deletable(folder: Path) -> Path:
    """The folder that deleting or renaming `folder` acts on (a lesson's run: the lesson folder), checked to be
    a run or lesson folder that is not being recorded."""
    lesson = lesson_folder_of(folder) or (folder if (folder / VERDICT_FILE).is_file() else None)
    if not (lesson or folder).is_dir() or (lesson or folder).is_symlink():
        raise RunError(f"No run folder at {folder}.")
    if lesson is not None:
        _only_subfolders(lesson, {LESSON_RUN, FIGURES})
        run = lesson / LESSON_RUN
        if run.is_dir():
            _not_live(run)
        return lesson
    if not _looks_like_run(folder):
        raise RunError(f"{folder} is not a run folder (it has no {RUN_FILE}); nothing was deleted")
    _only_subfolders(folder, {SNAPSHOT_DIR, FIGURES})
    _not_live(folder)
    return folder


def _only_subfolders(folder: Path, allowed: set[str]) -> None:
    others = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name not in allowed)
    if others:
        raise RunError(f"{folder} holds folders that are not part of a run ({', '.join(others[:3])}); "
                       "delete it by hand if you mean to")


def _not_live(folder: Path) -> None:
    try:
        record = open_run(folder, with_metrics=False)
    except RunError:
        return  # a damaged run can go
    if record.status in LIVE:
        raise RunError(f"{folder} is being recorded ({record.status_text}); stop that job first")


def _looks_like_run(folder: Path) -> bool:
    return (folder / RUN_FILE).is_file() or (folder / CONFIG_FILE).is_file() or (
        (folder / SNAPSHOT_DIR).is_dir() and (folder / METRICS_FILE).is_file())


def _run_folders(folder: Path, depth: int) -> list[Path]:
    """Run folders under `folder`: its children that are runs, lesson folders' runs, and those in sub-folders
    (runs/lessons/NAME/run) up to `depth` levels down."""
    found: list[Path] = []
    try:
        children = sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return found
    for child in children:
        if (child / VERDICT_FILE).is_file():
            found.append(child / LESSON_RUN)
        elif _looks_like_run(child):
            found.append(child)
        elif depth > 1:
            found.extend(_run_folders(child, depth - 1))
    return found


def _verdict_line(lesson: Path) -> str:
    try:
        data = json.loads((lesson / VERDICT_FILE).read_text(encoding="utf-8"))
        holds, evidence = data["holds"], data.get("evidence", "")
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return f"{VERDICT_FILE} cannot be read"
    if not isinstance(holds, bool):
        return f"{VERDICT_FILE} cannot be read"
    evidence = " ".join(str(evidence).split())
    return f"{'holds' if holds else 'does not hold'}: {evidence}" if evidence else (
        "holds" if holds else "does not hold")


def _raw_info(folder: Path) -> dict[str, str]:
    """The text fields of a run.json that did not pass the checks (those that are text)."""
    try:
        data = json.loads((folder / RUN_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}


def _duration(folder: Path, info: dict, status: str) -> float | None:
    elapsed = info.get("elapsed_s")
    if isinstance(elapsed, (int, float)) and not isinstance(elapsed, bool):
        return float(elapsed)
    if status in LIVE:
        return None
    start = timestamp(info.get("created"))  # a run recorded before run.json kept its elapsed time
    try:
        end = (folder / RUN_FILE).stat().st_mtime
    except OSError:
        return None
    return max(0.0, end - start) if start is not None else None


def _created_ts(row: RunSummary) -> float:
    stamp = timestamp(row.created)
    if stamp is not None:
        return stamp
    try:
        return row.folder.stat().st_mtime
    except OSError:
        return 0.0


def _mtime_iso(folder: Path) -> str:
    try:
        return _dt.datetime.fromtimestamp(folder.stat().st_mtime).isoformat(timespec="seconds")
    except OSError:
        return ""


