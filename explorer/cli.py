"""Command line: opens the app by default; `train`, `runs` and `info` work headless (no window, no Qt)."""
from __future__ import annotations

import argparse
import dataclasses
import pathlib
import signal
import sys
import threading
import typing

from . import APP_NAME, __version__
from .device import CHOICES as DEVICE_CHOICES


class _Parser(argparse.ArgumentParser):
    """argparse with one `error:` line on stderr (and exit status 2) instead of a usage block."""

    def error(self, message: str) -> typing.NoReturn:
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def _parser() -> argparse.ArgumentParser:
    device_help = "where training runs: auto (CUDA, then MPS, then CPU; the default), cpu, cuda or mps"
    common = _Parser(add_help=False)  # lets --device follow a sub-command too
    common.add_argument("--device", choices=DEVICE_CHOICES, default=argparse.SUPPRESS, help=device_help)
    ap = _Parser(
        prog="main.py",
        description=f"{APP_NAME} {__version__}: train small sequence models live and see why they behave "
                    "as the textbook says. With no command, opens the app.",
    )
    ap.add_argument("--device", choices=DEVICE_CHOICES, default=None, help=device_help)
    ap.add_argument("--theme", choices=("light", "dark"), default=None,
                    help="the app's colour theme (default: the one it had when it last closed, else light)")
    ap.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    train = sub.add_parser("train", parents=[common], help="train a job headless and record the run",
                           description="Train a job without a window; prints progress and records the run.")
    train.add_argument("kind", help="the job to train (e.g. word2vec); 'train list' shows them")
    train.add_argument("--corpus", help="builtin:austen, builtin:stdlib, builtin:synthetic, or a text file")
    train.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                       help="a hyper-parameter, e.g. --set dim=100 --set lr=0.01 (repeatable)")
    train.add_argument("--max-words", type=_positive_int, metavar="N",
                       help="use at most the first N words of a large text file (when a file is cut, a note says "
                            "where and what the limit was)")
    record = train.add_mutually_exclusive_group()
    record.add_argument("--record", metavar="FOLDER", help="record the run in this new folder (default: a new "
                                                            "folder under the runs directory)")
    record.add_argument("--no-record", action="store_true", help="do not record the run")
    runs = sub.add_parser("runs", help="list, summarise or delete recorded runs",
                          description="With no folder, list every recorded run and the disk they use; with a run "
                                      "folder, print its summary and check every snapshot.")
    from .cli_runs import add_runs_arguments

    add_runs_arguments(runs)
    ex = sub.add_parser(
        "export", help="write a recorded run's figures or an animation (no window needed)",
        description="Write the figures of a recorded run, as its tab draws them, without opening a window.")
    ex.add_argument("folder", help="the run folder")
    ex.add_argument("--list", action="store_true", help="name the run's figures and snapshot steps, then stop")
    ex.add_argument("--all", action="store_true", help="every figure of the run's tab (the default)")
    ex.add_argument("--figure", action="append", default=[], metavar="NAME", help="one figure (repeatable)")
    ex.add_argument("--format", default="png", choices=("png", "svg", "pdf", "csv", "gif", "mp4", "tensorboard"),
                    help="file format; gif and mp4 animate one figure over the run's snapshots; tensorboard "
                         "writes event files (scalars, word vectors for the projector) into --out (default "
                         "RUN/tensorboard)")
    ex.add_argument("--out", help="the folder for figures (default: RUN/figures), the file for an animation")
    ex.add_argument("--step", type=int, help="the snapshot to draw (default: the last)")
    ex.add_argument("--scale", type=float, default=2.0, choices=(1.0, 2.0, 4.0), help="PNG resolution factor")
    ex.add_argument("--no-text", action="store_true", help="leave the title and caption out of the files")
    ex.add_argument("--fps", type=float, default=4.0, help="frames per second of an animation")
    ex.add_argument("--frames", type=int, help="frames of an animation (default: one per snapshot)")
    sub.add_parser("info", parents=[common], help="print versions and the device that would be used")
    sub.add_parser("lessons", help="list the lessons: name, then the lecture's claim",
                   description="List every lesson, one per line: its name, then the claim it tests.")
    lesson = sub.add_parser("lesson", parents=[common], help="run a lesson and print its measured verdict",
                            description="Run a lesson's experiment, record it, export its figures, write "
                                        "verdict.json and print whether the claim holds, with the deciding figure.")
    lesson.add_argument("name", help="the lesson ('lessons' lists them)")
    lesson.add_argument("--quick", action="store_true", help="a run of seconds (too small to be convincing)")
    lesson.add_argument("--out", metavar="DIR", help="the lesson folder (default: a new folder under runs/lessons)")
    return ap


def main(argv: list[str] | None = None) -> int:
    """Entry point of main.py and of the `sequence-model-explorer` script."""
    args = _parser().parse_args(argv)
    if args.command is None:
        from .app import run_app

        return run_app(args.device or "auto", args.theme)
    try:
        from . import cli_lessons

        commands = {"train": _train, "runs": _runs, "info": _info, "export": _export,
                    "lessons": cli_lessons.list_lessons, "lesson": cli_lessons.run_lesson_command}
        return commands[args.command](args)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `main.py runs | head`: the reader has gone, say nothing more
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes
        return 141


def _positive_int(text: str) -> int:
    try:
        value = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not a positive number")
    return value


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def parse_overrides(config_cls: type, pairs: list[str]) -> dict[str, typing.Any]:
    """Turn ['dim=100', 'method=CBOW'] into typed values for `config_cls`; ValueError with a message if bad."""
    hints = typing.get_type_hints(config_cls)
    names = {f.name for f in dataclasses.fields(config_cls)}
    out: dict[str, typing.Any] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or name not in names:
            raise ValueError(f"'{pair}' is not NAME=VALUE with a known name ({', '.join(sorted(names))})")
        kind = hints[name]
        try:
            if kind is bool:
                word = text.strip().lower()
                if word not in _BOOLEANS:
                    raise ValueError
                value = _BOOLEANS[word]
            elif kind in (int, float, str):
                value = kind(text)
            elif typing.get_origin(kind) is tuple:
                value = tuple(int(v) for v in text.replace(",", " ").split())
            else:
                value = text
        except ValueError:
            if kind is bool:
                raise ValueError(f"{name}: '{text}' is not a yes/no value (true, false, yes, no, 1 or 0)") from None
            raise ValueError(f"{name}: '{text}' is not a valid {getattr(kind, '__name__', kind)}") from None
        out[name] = value
    return out


def _train(args) -> int:
    from .device import DeviceError, resolve_device
    from .paths import runs_dir
    from .training import distributed, jobs  # noqa: F401 - jobs registers the job kinds
    from .training.control import JobControl
    from .training.job import JOB_KINDS
    from .training.params import validate_config
    from .training.record import RunError, RunRecorder, check_new_run_folder, new_run_folder
    from .training.runner import FAILED, FINISHED, STOPPED, run_job

    kinds = sorted(k for k in JOB_KINDS if not k.startswith("test-"))
    if args.kind == "list" or args.kind not in JOB_KINDS:
        if args.kind != "list":
            return _fail(f"unknown job '{args.kind}'; choose one of: {', '.join(kinds)}")
        print("\n".join(kinds))
        return 0
    job_cls = JOB_KINDS[args.kind]
    try:
        values = parse_overrides(job_cls.config_cls, args.set)
        if args.corpus:
            if "corpus" not in {f.name for f in dataclasses.fields(job_cls.config_cls)}:
                return _fail(f"the {args.kind} job reads no corpus; leave out --corpus")
            values["corpus"] = args.corpus
        from_overrides = getattr(job_cls.config_cls, "from_overrides", None)  # e.g. a preset that sets several
        config = from_overrides(values) if from_overrides else job_cls.config_cls(**values)
    except (ValueError, TypeError, KeyError) as exc:
        text = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)  # KeyError's str() adds quotes
        return _fail(str(text) or type(exc).__name__)
    problems = validate_config(config)
    if problems:
        return _fail("; ".join(problems.values()))
    corpus_problem = _corpus_file_problem(getattr(config, "corpus", None))
    if corpus_problem:
        return _fail(corpus_problem)
    try:
        device = resolve_device(args.device)
        dist_info = distributed.from_launcher(job_cls, config, device)  # torchrun: data-parallel, else None
        job = distributed.make_job(job_cls, config, device, dist_info)  # torchrun: joins its process group
    except (DeviceError, distributed.DistributedError) as exc:
        return _fail(str(exc))
    main_rank = dist_info is None or dist_info.is_main  # under torchrun only rank 0 records and prints progress
    folder = None
    if not args.no_record and main_rank:
        folder = pathlib.Path(args.record) if args.record else new_run_folder(runs_dir(), args.kind)
        try:
            check_new_run_folder(folder)  # never mix two runs in one folder: refused before anything trains
        except RunError as exc:
            return _fail(str(exc))
    recorder = RunRecorder(folder) if folder is not None else None
    where = job.device + (f", data-parallel over {dist_info.world_size} processes" if dist_info else "")
    print(f"{job.title} on {where}" + (f", recording to {folder}" if folder else ""), flush=True)
    control = JobControl()
    stop = distributed.stop_for(job, control)  # under torchrun every rank stops after the same step
    corpora = _CliCorpora(getattr(args, "max_words", None))
    gen = run_job(job, control, recorder=recorder, snapshot_interval=1.0, corpora=corpora)
    interrupted = []

    def on_sigint(signum, frame) -> None:  # Ctrl-C: end the job after its step, so the run is recorded stopped
        if interrupted:
            raise KeyboardInterrupt
        interrupted.append(True)
        print("\nStopping after this step (Ctrl-C again to quit at once)…", file=sys.stderr, flush=True)
        stop()

    previous = signal.signal(signal.SIGINT, on_sigint) if _main_thread() else None
    final = None
    try:
        with distributed.quiet(not main_rank):  # other ranks: no corpus notes, bars or Ctrl-C notes on stderr
            while final is None:
                try:
                    tick = next(gen)
                except StopIteration as stop:
                    final = stop.value
                    break
                if tick is not None and tick.step:
                    loss = tick.metrics.get("loss")
                    loss_text = f"  loss {loss[-1]:.4f}" if loss is not None and len(loss) else ""
                    print(f"step {tick.step:>8,}/{tick.total:,}{loss_text}  {tick.throughput:,.0f} {tick.unit}",
                          flush=True)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        distributed.shutdown()  # leaves torchrun's process group, if in one
    if final.status == FINISHED:
        print(final.message)
        return 0
    if final.status == FAILED and final.step == 0 and corpora.error is not None:
        return _fail(str(corpora.error))  # the corpus could not be used: the user's input, not the job
    if main_rank or final.status == FAILED:
        print(final.message, file=sys.stderr)
    if final.status == STOPPED and interrupted:
        return 130
    return 1


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _corpus_file_problem(spec: object) -> str | None:
    """Why a corpus given as a file path cannot be read, checked before anything starts (None if it can)."""
    if not isinstance(spec, str) or not spec or spec.startswith("builtin:"):
        return None
    path = pathlib.Path(spec).expanduser()
    if not path.exists():
        return f"no such corpus file: {spec} (give a text file or one of builtin:austen, builtin:stdlib, " \
               "builtin:synthetic, builtin:zipf)"
    if path.is_dir():
        return f"{spec} is a folder, not a text file"
    return None


class _CliCorpora(dict):
    """The corpora a job asks for, read on first use with a progress bar on stderr (and its notes)."""

    def __init__(self, max_words: int | None) -> None:
        super().__init__()
        self.max_words = max_words
        self.error: Exception | None = None

    def get(self, spec, default=None):
        if spec in self:
            return self[spec]
        from .cli_corpus import load_corpus_for_cli
        from .data.errors import CorpusError

        try:
            corpus = load_corpus_for_cli(spec, self.max_words, stream=sys.stderr)
        except CorpusError as exc:
            self.error = exc
            raise
        self[spec] = corpus
        return corpus


def _runs(args) -> int:
    from .cli_runs import runs_command

    return runs_command(args)

def _info(args) -> int:
    import platform

    import torch

    from .device import DeviceError, available_devices, describe_device, resolve_device

    print(f"{APP_NAME} {__version__}")
    print(f"Python {platform.python_version()}, torch {torch.__version__}")
    print(f"devices available: {', '.join(available_devices())}")
    try:
        print(f"device in use: {describe_device(resolve_device(args.device))}")
    except DeviceError as exc:
        return _fail(str(exc))
    return 0


def _export_tensorboard(args) -> int:
    from .export.tensorboard import TensorBoardMissing, export_tensorboard
    from .training import jobs  # noqa: F401 - registers the job kinds, which reading a run needs
    from .training.record import RunError, open_run

    try:
        record = open_run(args.folder)
        out = pathlib.Path(args.out or pathlib.Path(args.folder) / "tensorboard")
        if out.is_dir() and any(out.glob("events.out.tfevents.*")):
            return _fail(f"{out} already holds TensorBoard event files; choose another --out (or delete them)")
        done = export_tensorboard(record, out)
    except (RunError, TensorBoardMissing, OSError) as exc:
        return _fail(str(exc))
    scalars = ", ".join(f"{tag} ({n:,} points)" for tag, n in done.scalars.items()) or "none"
    print(f"scalars: {scalars}")
    if done.embedding is not None:
        words, dims = done.embedding
        print(f"word vectors: {words:,} words x {dims} dimensions (step {done.embedding_step:,}) for the projector")
    print(f"TensorBoard files written to {out}; view them with: tensorboard --logdir {out}")
    return 0


def _export(args) -> int:
    import os

    if args.format == "tensorboard":
        return _export_tensorboard(args)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # headless: no window, no display needed
    from .render.qt_app import headless_app
    from .render.run_export import (
        ExportError,
        animate_figure,
        export_figures,
        open_state,
        select_step,
    )

    app = headless_app()  # noqa: F841 - must live while figures are drawn
    try:
        state = open_state(args.folder)
    except ExportError as exc:
        return _fail(str(exc))
    if args.list:
        for name in state.figure_names:
            print(f"{name:<14} {state.figure(name).title}")
        steps = list(state.source.steps) if state.source else []
        print(f"snapshots at steps: {', '.join(f'{s:,}' for s in steps) or 'none'}")
        return 0
    with_text = not args.no_text
    try:
        if args.format in ("gif", "mp4"):
            if len(args.figure) != 1:
                return _fail(f"--format {args.format} animates one figure: add --figure NAME "
                             f"(one of {', '.join(state.figure_names)})")
            out = args.out or os.path.join(args.folder, f"{args.figure[0]}.{args.format}")
            if not out.lower().endswith(f".{args.format}"):
                out += f".{args.format}"

            def progress(k: int, n: int) -> None:
                print(f"\rframe {k}/{n}", end="" if k < n else "\n", file=sys.stderr, flush=True)

            count = animate_figure(state, args.figure[0], out, fps=args.fps, with_text=with_text,
                                   frames=args.frames, progress=progress)
            print(f"{out}: {count} frames")
            return 0
        select_step(state, args.step)
        out = args.out or os.path.join(args.folder, "figures")
        written = export_figures(state, out, args.format, args.figure or None, scale=args.scale,
                                 with_text=with_text, progress=print)
        print(f"{len(written)} figure(s) written to {out}")
        return 0
    except (ExportError, OSError) as exc:
        return _fail(str(exc))
    except RuntimeError as exc:  # AnimationError: e.g. no MP4 encoder installed
        return _fail(str(exc))
