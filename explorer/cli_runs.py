"""The command line's `runs`: with no folder it lists every recorded run (a table, total disk use last); with a
folder it prints that run's summary, its real status, every damaged snapshot and a lesson's verdict; `--delete`
removes one run, `--older-than DAYS` picks the old ones (and removes them with `--delete`)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_runs_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `runs` on its sub-parser."""
    parser.add_argument("folder", nargs="?", help="a run folder or a lesson folder (leave out to list every run)")
    parser.add_argument("--delete", action="store_true",
                        help="delete the run folder given (a lesson's run: its lesson folder), or with --older-than "
                             "every run older than that; asks nothing")
    parser.add_argument("--older-than", type=_days, metavar="DAYS",
                        help="the runs created more than DAYS days ago (listed; deleted with --delete)")
    parser.add_argument("--follow", action="store_true",
                        help="follow a run that is still being written (here or by another machine on a shared "
                             "folder): print its progress until it ends or its writer stops")


def _days(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of days") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"'{text}' is not a number of days (0 or more)")
    return value


def fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def runs_command(args: argparse.Namespace) -> int:
    """Run `main.py runs` with parsed `args`; 0 on success, 1 if the run has damaged snapshots, 2 on a user error."""
    from .training.run_format import RunError

    folder, delete, older = getattr(args, "folder", None), getattr(args, "delete", False), args.older_than
    if folder is not None and older is not None:
        return fail("give a run folder or --older-than DAYS, not both")
    try:
        if older is not None:
            return _older(older, delete)
        if folder is None:
            if delete:
                return fail("--delete needs a run folder, or --older-than DAYS")
            return _list()
        if getattr(args, "follow", False):
            if delete:
                return fail("--follow and --delete do not go together")
            return _follow(folder)
        return _delete_one(folder) if delete else _summary(folder)
    except RunError as exc:
        return fail(str(exc))


def _follow(folder: str) -> int:
    """Print a followed run's progress, a line each time it changes, until it ends; Ctrl-C stops following."""
    from .training import jobs  # noqa: F401 - registers the job kinds, which reading a run needs
    from .training.run_follow import follow

    last = None
    try:
        for state in follow(_run_folder(Path(folder))):
            last = state
            print(state.line(), flush=True)
    except KeyboardInterrupt:
        print("stopped following (the run goes on)", file=sys.stderr)
        return 0
    if last is not None:
        print(f"the run has ended: {last.status_text}" if last.status != "interrupted"
              else f"its writer has stopped: {last.status_text}")
    return 0


def _list() -> int:
    from .training.run_index import default_root, list_runs, total_size

    root = default_root()
    rows = list_runs(root)
    if not rows:
        print(f"no recorded runs in {root}")
        return 0
    _table(rows)
    for row in rows:
        if row.problem:
            print(f"damaged: {row.name}: {row.problem}")
    print(f"{len(rows)} run{'s' if len(rows) != 1 else ''}, {human_size(total_size(root))} in {root}")
    return 0


def _table(rows) -> None:
    header = ("name", "kind", "created", "status", "steps", "size")
    cells = [(r.name, r.kind or "?", r.created.replace("T", " ")[:16], r.status,
              f"{r.steps:,}/{r.total_steps:,}" if r.total_steps else f"{r.steps:,}", human_size(r.size_bytes))
             for r in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    right = {4, 5}
    for line in (header, *cells):
        padded = (c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        print("  ".join(padded).rstrip())


def _older(days: float, delete: bool) -> int:
    from .training.run_format import RunError
    from .training.run_index import default_root, delete_run, runs_older_than

    root = default_root()
    rows = runs_older_than(root, days)
    if not rows:
        print(f"no run older than {days:g} days in {root}")
        return 0
    if not delete:
        _table(rows)
        print(f"{len(rows)} run{'s' if len(rows) != 1 else ''} older than {days:g} days, "
              f"{human_size(sum(r.size_bytes for r in rows))}; add --delete to delete them")
        return 0
    freed, problems = 0, []
    for row in rows:
        try:
            freed += delete_run(row.folder)
            print(f"deleted {row.name}")
        except RunError as exc:
            problems.append(str(exc))
    print(f"{len(rows) - len(problems)} run(s) deleted, {human_size(freed)} freed")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2 if problems else 0


def _delete_one(folder: str) -> int:
    from .training.run_index import delete_run, lesson_folder_of

    path = Path(folder)
    lesson = lesson_folder_of(path) or (path if (path / "verdict.json").is_file() else None)
    freed = delete_run(path)
    what = f"lesson folder {lesson}" if lesson is not None else str(path)
    print(f"deleted {what} ({human_size(freed)} freed)")
    return 0


def _run_folder(path: Path) -> Path:
    """The run folder of `path`: itself, or a lesson folder's run."""
    from .lessons.runner import RUN_FOLDER, lesson_folder_of

    lesson_folder = lesson_folder_of(path)
    return lesson_folder / RUN_FOLDER if lesson_folder is not None and lesson_folder == path else path


def _summary(folder: str) -> int:
    from .cli_lessons import print_lesson_verdict
    from .lessons.runner import lesson_folder_of
    from .training import jobs  # noqa: F401 - registers the job kinds
    from .training.record import open_run
    from .training.run_index import run_size

    path = _run_folder(Path(folder))
    lesson_folder = lesson_folder_of(path)
    run = open_run(path)
    loss = run.metrics.get("loss")
    info = run.info
    print(f"{info.get('title') or run.kind} run in {run.folder}")
    print(f"status: {run.status}  steps: {run.steps:,}/{int(info.get('total_steps', 0)):,}  "
          f"device: {info.get('device', '?')}"
          + (f" x {info['world_size']} processes (data-parallel)" if info.get("world_size", 1) != 1 else ""))
    print(run.status_text)
    if loss is not None and len(loss):
        print(f"loss: first {loss[0]:.4f}, last {loss[-1]:.4f}")
    print(f"snapshots: {len(run.snapshot_paths)}; {human_size(run_size(lesson_folder or run.folder))} on disk")
    damaged = run.damaged_snapshots()
    for line in damaged:
        print(line)
    print_lesson_verdict(folder)
    return 1 if damaged else 0


def human_size(n: int) -> str:
    """'512 B', '3.4 kB', '12.0 MB', '1.2 GB'."""
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB", "TB"):
        n /= 1000.0
        if n < 1000 or unit == "TB":
            return f"{n:.1f} {unit}"
    return f"{n:.1f} TB"
