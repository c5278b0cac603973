"""Export a figure of a tab's state as an animation over its recorded run, with progress and cancel."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QProgressDialog, QWidget

from ...render.run_export import ExportError, animate_figure
from ...state.base import TabState


def export_animation(parent: QWidget, state: TabState, name: str, path: str, fps: float = 4.0) -> str:
    """Write figure `name` over the run's snapshots into `path` (GIF or MP4); return a message for the user.

    Frames are drawn offscreen on the UI thread (the renderer is Qt), with events processed between frames so
    that the progress dialog moves and its Cancel button works. The state shows its snapshot again afterwards.
    """
    if state.source is None or not state.source.steps:
        return "Animations need a recorded run: train one (every run is recorded) or open one first."
    dialog = QProgressDialog(f"Drawing {name} over the run…", "Cancel", 0, len(state.source.steps), parent)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(200)
    shown = state.index

    def progress(done: int, total: int) -> None:
        dialog.setMaximum(total)
        dialog.setValue(done)
        QApplication.processEvents()

    try:
        frames = animate_figure(state, name, path, fps=fps, progress=progress, cancelled=dialog.wasCanceled)
    except ExportError as exc:
        return "Animation cancelled." if str(exc) == "cancelled" else f"Could not write the animation: {exc}"
    except (OSError, RuntimeError, ValueError) as exc:
        return f"Could not write the animation: {exc}"
    finally:
        dialog.close()
        if shown is not None:
            state.select(shown)
    return f"Wrote {path} ({frames} frames)."
