"""Running a lesson headless: build its job, train and record it, read the recorded run back, decide, write
verdict.json. The app runs the same job through its runner and decides with `verdict_of_run`."""
from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..training.job import JOB_KINDS, Job
from ..training.params import validate_config
from ..training.record import RunError, RunRecord, RunRecorder, open_run
from ..training.runner import Tick, run_job
from .lesson import LESSONS, Lesson, LessonRun, Verdict

RUN_FOLDER = "run"  # a lesson folder holds its run here, its figures in figures/, and verdict.json
VERDICT_FILE = "verdict.json"


class LessonError(ValueError):
    """A lesson that cannot be run or read: unknown name, bad settings, not a lesson folder; says which."""


def find_lesson(name: str) -> Lesson:
    """The lesson called `name`, or LessonError naming the lessons there are."""
    from . import catalog  # noqa: F401 - registers the lessons

    if name not in LESSONS:
        raise LessonError(f"no lesson named '{name}'; 'main.py lessons' lists them ({', '.join(LESSONS)})")
    return LESSONS[name]


def lesson_config(lesson: Lesson, quick: bool = False, overrides: Mapping[str, Any] | None = None) -> Any:
    """The config of the lesson's job (LessonError if its settings do not validate)."""
    from ..training import jobs  # noqa: F401 - registers the job kinds

    job_cls = JOB_KINDS[lesson.kind]
    values = {**lesson.settings(quick), **(overrides or {})}
    from_overrides = getattr(job_cls.config_cls, "from_overrides", None)
    try:
        config = from_overrides(values) if from_overrides else job_cls.config_cls(**values)
    except TypeError as exc:
        raise LessonError(f"lesson {lesson.name}: {exc}") from None
    problems = validate_config(config)
    if problems:
        raise LessonError(f"lesson {lesson.name}: " + "; ".join(problems.values()))
    return config


def lesson_job(lesson: Lesson, device: str, quick: bool = False) -> Job:
    """The job that decides the lesson, ready to run."""
    config = lesson_config(lesson, quick)
    return JOB_KINDS[lesson.kind](config, device)


def run_of_record(record: RunRecord) -> LessonRun:
    """A recorded run as lessons read it."""
    info = dict(record.info)
    if record.status != info.get("status"):  # e.g. "running" in run.json, but its writer is gone
        info.update(status=record.status, message=record.status_text)
    return LessonRun(record.config, record.metrics, record.snapshot_steps(), record.load_snapshot, info)


def verdict_of_run(lesson: Lesson, folder: str | Path) -> Verdict:
    """The lesson's verdict, computed from the run recorded in `folder`."""
    try:
        record = open_run(folder)
    except RunError as exc:
        return Verdict(False, f"undecided: {exc}")
    if record.kind != lesson.kind:
        return Verdict(False, f"undecided: the run is of kind {record.kind}, the lesson needs {lesson.kind}")
    return lesson.verdict(run_of_record(record))


@dataclasses.dataclass(frozen=True)
class LessonOutcome:
    """What running a lesson gave: its verdict, the recorded run, the seconds it took, the final tick."""

    lesson: Lesson
    verdict: Verdict
    folder: Path
    seconds: float
    final: Tick

    @property
    def run_folder(self) -> Path:
        return self.folder / RUN_FOLDER


def run_lesson(lesson: Lesson, folder: str | Path, device: str = "cpu", quick: bool = False,
               progress: Callable[[Tick], None] | None = None) -> LessonOutcome:
    """Train and record the lesson's run in `folder`/run, decide, and write `folder`/verdict.json."""
    folder = Path(folder)
    if (folder / RUN_FOLDER).exists():
        raise LessonError(f"{folder} already holds a lesson run; choose a new folder")
    job = lesson_job(lesson, device, quick)
    t0 = time.perf_counter()
    gen = run_job(job, recorder=RunRecorder(folder / RUN_FOLDER), snapshot_interval=1.0)
    while True:
        try:
            tick = next(gen)
        except StopIteration as stop:
            final = stop.value
            break
        if tick is not None and progress is not None:
            progress(tick)
    seconds = time.perf_counter() - t0
    if final.status == "failed":
        verdict = Verdict(False, f"undecided: {final.message}")
    else:
        verdict = verdict_of_run(lesson, folder / RUN_FOLDER)
    outcome = LessonOutcome(lesson, verdict, folder, seconds, final)
    write_verdict(outcome, quick=quick, device=device)
    return outcome


def write_verdict(outcome: LessonOutcome, quick: bool = False, device: str = "cpu",
                  figures: Mapping[str, str] | None = None) -> Path:
    """Write verdict.json: {"lesson", "claim", "holds", "evidence", "figures", "numbers", ...}."""
    v = outcome.verdict
    data = {
        "lesson": outcome.lesson.name,
        "claim": outcome.lesson.claim,
        "holds": bool(v.holds),
        "evidence": v.evidence,
        "figures": dict(figures or {}),
        "numbers": {k: _plain(x) for k, x in v.numbers.items()},
        "kind": outcome.lesson.kind,
        "run": RUN_FOLDER,
        "quick": quick,
        "device": device,
        "seconds": round(outcome.seconds, 2),
        "status": outcome.final.status,
    }
    path = outcome.folder / VERDICT_FILE
    atomic_write_text(path, json.dumps(data, indent=2))
    return path


def _plain(x: Any) -> Any:
    try:
        return round(float(x), 6) if abs(float(x)) >= 1e-4 or float(x) == 0 else float(f"{float(x):.4e}")
    except (TypeError, ValueError):
        return str(x)


def lesson_folder_of(path: str | Path) -> Path | None:
    """The lesson folder that `path` is, or holds as its run, or None."""
    path = Path(path)
    for candidate in (path, path.parent):
        if (candidate / VERDICT_FILE).is_file():
            return candidate
    return None


def read_verdict(folder: str | Path) -> tuple[Lesson, Verdict, dict]:
    """Recompute the verdict of a lesson folder from its recorded run; also return what verdict.json says."""
    folder = Path(folder)
    try:
        saved = json.loads((folder / VERDICT_FILE).read_text(encoding="utf-8"))
        name = saved["lesson"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise LessonError(f"{folder / VERDICT_FILE} cannot be read: {exc}") from None
    lesson = find_lesson(str(name))
    return lesson, verdict_of_run(lesson, folder / saved.get("run", RUN_FOLDER)), saved
