"""Headless export of a recorded run: every figure of its tab at a snapshot, or one figure animated over the run."""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from ..figures.figure import Figure
from ..state import TabState, state_for_kind
from ..state.base import RunSource
from .animation import image_to_rgb, write_animation
from .canvas import FigureCanvas
from .files import DEFAULT_SIZE, dispose, export_canvas, fit_canvas


class ExportError(ValueError):
    """A run or a figure that cannot be exported; the message says which and why."""


def open_state(folder: str | os.PathLike) -> TabState:
    """The state of the tab that shows this run, with the whole run fed to it (as File > Open run does)."""
    from ..training import jobs  # noqa: F401 - registers the kinds, so that snapshots can be read back
    from ..training.record import RunError, open_run

    try:
        run = open_run(folder)
    except RunError as exc:
        raise ExportError(str(exc)) from None
    try:
        state = state_for_kind(run.kind)
    except KeyError as exc:
        raise ExportError(exc.args[0]) from None
    messages: list[str] = []
    state.message.connect(messages.append)
    state.load_run(RunSource(run.config, run.metrics, run.snapshot_steps(), run.load_snapshot, run.kind,
                             dict(run.info)))
    if messages:
        raise ExportError(messages[0])
    return state


def figure_names(state: TabState) -> list[str]:
    """The names `--figure` accepts for this run."""
    return list(state.figure_names)


def select_step(state: TabState, step: int | None) -> None:
    """Show the snapshot at `step` (None: the last); ExportError naming the steps recorded if there is none."""
    if step is None or state.source is None:
        return
    steps = list(state.source.steps)
    if step not in steps:
        shown = ", ".join(f"{s:,}" for s in steps[:8]) + (" …" if len(steps) > 8 else "")
        raise ExportError(f"no snapshot at step {step:,}; this run has snapshots at steps {shown}")
    state.select(steps.index(step))


def export_figures(state: TabState, out: str | os.PathLike, fmt: str, names: list[str] | None = None,
                   scale: float = 2.0, with_text: bool = True, size: tuple[int, int] = DEFAULT_SIZE,
                   progress: Callable[[str], None] | None = None, note: str = "") -> list[Path]:
    """Write the chosen figures (all by default) into folder `out` as NAME.FMT; return the paths. A `note` (a
    lesson's verdict) ends every figure's caption."""
    names = names or figure_names(state)
    unknown = [n for n in names if n not in state.figure_names]
    if unknown:
        raise ExportError(f"no figure named {', '.join(unknown)}; this run has: {', '.join(state.figure_names)}")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    canvas = FigureCanvas()
    fit_canvas(canvas, *size)
    written = []
    try:
        for name in names:
            fig: Figure = state.figure(name)
            if note:
                fig = dataclasses.replace(fig, caption=f"{fig.caption}\n{note}" if fig.caption else note)
            canvas.show_figure(fig)
            fit_canvas(canvas, *size)
            path = folder / f"{name}.{fmt}"
            export_canvas(canvas, path, fmt, scale, with_text)
            written.append(path)
            if progress is not None:
                progress(str(path))
    finally:
        dispose(canvas)
    return written


def animate_figure(state: TabState, name: str, path: str | os.PathLike, fps: float = 4.0, scale: float = 1.0,
                   with_text: bool = True, size: tuple[int, int] = DEFAULT_SIZE, frames: int | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] = lambda: False) -> int:
    """Write figure `name` over the run's snapshots (or `frames` of them, evenly spread) as a GIF or MP4."""
    if name not in state.figure_names:
        raise ExportError(f"no figure named {name}; this run has: {', '.join(state.figure_names)}")
    if state.source is None or not state.source.steps:
        raise ExportError("the run has no snapshots to animate")
    n = len(state.source.steps)
    indices = list(range(n))
    if frames is not None and 0 < frames < n:
        indices = sorted({round(i * (n - 1) / max(frames - 1, 1)) for i in range(frames)})
    canvas = FigureCanvas()
    fit_canvas(canvas, *size)

    def images():
        from .files import canvas_image

        for k, i in enumerate(indices):
            if cancelled():
                raise ExportError("cancelled")
            state.select(i)
            canvas.show_figure(state.figure(name))
            fit_canvas(canvas, *size)
            yield image_to_rgb(canvas_image(canvas, scale, with_text))
            if progress is not None:
                progress(k + 1, len(indices))

    try:
        return write_animation(images(), path, fps)
    finally:
        dispose(canvas)
