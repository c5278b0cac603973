"""The command line's lessons: `lessons` lists them, `lesson NAME` runs one, records it, exports its figures,
writes verdict.json and prints the verdict."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def list_lessons(args) -> int:
    from .lessons import all_lessons

    lessons = all_lessons()
    width = max(len(lesson.name) for lesson in lessons)
    for lesson in lessons:
        print(f"{lesson.name:<{width}}  {lesson.claim}")
    return 0


def run_lesson_command(args) -> int:
    from .device import DeviceError, resolve_device
    from .lessons.runner import LessonError, find_lesson, run_lesson, write_verdict
    from .paths import runs_dir
    from .training.record import new_run_folder

    try:
        lesson = find_lesson(args.name)
        device = resolve_device(getattr(args, "device", None))
    except (LessonError, DeviceError) as exc:
        return fail(str(exc))
    import torch

    from .device import training_threads

    torch.set_num_threads(training_threads())  # as in the app: one core stays free (timings are steadier too)
    folder = Path(args.out) if args.out else new_run_folder(runs_dir() / "lessons", lesson.name)
    print(f"lesson {lesson.name}: {lesson.claim}")
    print(f"running {lesson.kind} on {device}{' (quick)' if args.quick else ''}, recording to {folder}", flush=True)

    def progress(tick) -> None:
        if tick.step and tick.total:
            print(f"\rstep {tick.step:,}/{tick.total:,}", end="", file=sys.stderr, flush=True)

    try:
        outcome = run_lesson(lesson, folder, device=device, quick=args.quick, progress=progress)
    except LessonError as exc:
        return fail(str(exc))
    print("", file=sys.stderr)
    figures = {}
    if outcome.final.status != "failed":
        figures = _export(outcome.run_folder, folder / "figures", lesson.figures,
                          f"Lesson {lesson.name}: {outcome.verdict.line}")
    write_verdict(outcome, quick=args.quick, device=device, figures=figures)
    print(f"{outcome.seconds:.1f} s; figures in {folder / 'figures'}" if figures else f"{outcome.seconds:.1f} s")
    print(f"verdict: {outcome.verdict.line}")
    return 0


def _export(run_folder: Path, out: Path, names: tuple[str, ...], note: str) -> dict[str, dict[str, str]]:
    """The lesson's figures as PNG and CSV; {name: {format: path}} (a figure that fails is said, skipped)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from .render.qt_app import headless_app
    from .render.run_export import ExportError, export_figures, open_state

    app = headless_app()  # noqa: F841 - must live while figures are drawn
    try:
        state = open_state(run_folder)
        names = [n for n in names if n in state.figure_names] or list(state.figure_names)
        written: dict[str, dict[str, str]] = {}
        for fmt in ("png", "csv"):
            for path in export_figures(state, out, fmt, names, note=note if fmt == "png" else ""):
                written.setdefault(path.stem, {})[fmt] = str(path.relative_to(out.parent))
        return written
    except (ExportError, OSError) as exc:
        print(f"note: figures not written ({exc})", file=sys.stderr)
        return {}


def print_lesson_verdict(folder: str) -> bool:
    """If `folder` is a lesson (or its run), print its verdict recomputed from the recorded run; True if so."""
    from .lessons.runner import LessonError, lesson_folder_of, read_verdict

    lesson_folder = lesson_folder_of(folder)
    if lesson_folder is None:
        return False
    try:
        lesson, verdict, _saved = read_verdict(lesson_folder)
    except LessonError as exc:
        print(f"lesson: {exc}")
        return True
    print(f"lesson {lesson.name}: {lesson.claim}")
    print(f"verdict: {verdict.line}")
    for key, value in verdict.numbers.items():
        print(f"  {key}: {value:.6g}" if isinstance(value, float) else f"  {key}: {value}")
    return True
