"""Convolution tab: a thin binding of the form, the output chooser and the panels to `ConvolutionState`."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...analysis.conv_probe import initial_erf
from ...state.convolution import ConvolutionState
from ...training.jobs.conv_job import ConvConfig, ConvJob, ConvSnapshot
from ...training.record import RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..tasks import TaskRunner
from ..widgets.animation_dialog import export_animation
from ..widgets.control_bar import ControlBar
from ..widgets.frame_budget import FrameBudget
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from .job_tab import JobTab, fit_area, run_source, side_panel

ARCHITECTURE = ("connections", "depth", "field")


class ConvolutionTab(JobTab):
    """Architecture views that follow the form at once, and live training views that follow the job."""

    kinds = ConvolutionState.kinds

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.view_state = ConvolutionState()
        self.tasks = TaskRunner(self)
        self._dirty: set[str] = set()
        self._measure_due = False

        self.form = ParamForm(ConvConfig)
        self.output_box = QSpinBox()
        self.output_box.setToolTip("The output position whose receptive field is shown (or click the top row)")
        self.numbers = QLabel()
        self.numbers.setWordWrap(True)
        self.numbers.setTextFormat(Qt.TextFormat.RichText)
        self.controls = ControlBar(self.runner, owner=self)

        left = QWidget()
        left_lay = QVBoxLayout(left)
        box = QGroupBox("Convolution stack and task")
        QVBoxLayout(box).addWidget(self.form)
        out_row = QHBoxLayout()
        out_row.addWidget(QLabel("Output position t"))
        out_row.addWidget(self.output_box)
        left_lay.addWidget(box)
        left_lay.addLayout(out_row)
        left_lay.addWidget(self.numbers)
        left_lay.addStretch(1)

        self.panels = {name: PlotPanel(name) for name in ConvolutionState.figure_names}
        self.diagram_panel, self.depth_panel, self.field_panel = (self.panels[n] for n in ARCHITECTURE)
        self.loss_panel, self.erf_panel, self.acc_panel = (self.panels[n] for n in ("loss", "erf", "accuracy"))
        self.main_panel = self.diagram_panel
        self.diagram_panel.canvas.pointClicked.connect(self._point_clicked)
        for name, panel in self.panels.items():
            if name not in ARCHITECTURE:
                panel.set_animator(lambda path, n=name: self.animate(n, path))

        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.diagram_panel, 0, 0, 1, 2)
        grid.addWidget(self.depth_panel, 0, 2)
        grid.addWidget(self.field_panel, 1, 0)
        grid.addWidget(self.loss_panel, 1, 1)
        grid.addWidget(self.acc_panel, 1, 2)
        grid.addWidget(self.erf_panel, 2, 0, 1, 3)
        for r, s in ((0, 3), (1, 3), (2, 2)):
            grid.setRowStretch(r, s)
        self.timeline = Timeline()
        self.timeline.indexChanged.connect(self.view_state.select)
        right = QVBoxLayout()
        right.addWidget(self.controls)
        right.addWidget(self.banner)
        right.addWidget(fit_area(grid_widget), 1)
        right.addWidget(self.timeline)
        lay = QHBoxLayout(self)
        lay.addWidget(side_panel(left, 330, 400))
        lay.addLayout(right, 1)

        self.frames = FrameBudget(self._draw_dirty, max_fps=15, share=0.08, parent=self)
        self.view_state.changed.connect(self._state_changed)
        self.view_state.message.connect(self.show_banner)
        self.form.valueChanged.connect(lambda _c: self.update_architecture())
        self.form.liveValueChanged.connect(self.on_live_value)
        self.output_box.valueChanged.connect(self._output_chosen)
        self.controls.startRequested.connect(self.start_training)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self._dirty.update(n for n in ConvolutionState.figure_names if n not in ARCHITECTURE)
        self.update_architecture()

    # -- binding: widgets -> state ----------------------------------------------------------------------
    def update_architecture(self) -> None:
        """Hand the form's settings to the state (the architecture figures follow at once)."""
        if not self.form.is_valid():
            return
        cfg = self.form.value()
        touched = self.output_box.property("touched") is not None
        self.view_state.set_config(cfg, self.output_box.value() if touched else None)
        self.output_box.blockSignals(True)
        self.output_box.setRange(0, cfg.seq_len - 1)
        self.output_box.setValue(self.view_state.output)
        self.output_box.blockSignals(False)
        self.numbers.setText(self.view_state.summary_html())
        self._measure()

    def _output_chosen(self, t: int) -> None:
        self.output_box.setProperty("touched", True)
        self.view_state.set_output(t)
        self._measure()

    def _point_clicked(self, name: str, index: int) -> None:
        """A click on a unit of the diagram's top row chooses that output."""
        fig = self.diagram_panel.figure
        units = next((p for p in fig.points if p.name == name), None) if fig is not None else None
        layers = len(self.view_state.config.dilation_tuple()) if self.view_state.config is not None else -1
        if units is not None and round(units.y[index]) == layers:
            self.output_box.setValue(round(units.x[index]))

    def _measure(self) -> None:
        """Measure the gradient field of a fresh stack in the background (newest request wins)."""
        if not self.isVisible():  # measuring imports torch: not while the app starts with another tab in front
            self._measure_due = True
            return
        self._measure_due = False
        cfg, t = self.view_state.config, self.view_state.output
        if cfg is None:
            return
        self.tasks.submit("initial erf", initial_erf, cfg, t,
                          on_done=lambda erf, c=cfg, tt=t: self.view_state.set_initial_erf(c, tt, erf),
                          on_error=self.show_banner)

    @property
    def leak_message(self) -> str:
        """What the measured field says about future inputs ('' until measured)."""
        return self.field_panel.caption if self.view_state.initial_erf is not None else ""

    # -- binding: state -> panels -------------------------------------------------------------------------
    def _state_changed(self, names: tuple[str, ...]) -> None:
        names = names or ConvolutionState.figure_names
        architecture = [n for n in names if n in ARCHITECTURE]
        for name in architecture:  # cheap and asked for by a click: drawn at once
            self.panels[name].show_figure(self.view_state.figure(name))
        self._dirty.update(n for n in names if n not in ARCHITECTURE)
        if self._dirty and self.isVisible():
            self.frames.request()

    def _draw_dirty(self) -> None:
        if not self.isVisible():
            return
        names, self._dirty = self._dirty, set()
        for name in names:
            self.panels[name].show_figure(self.view_state.figure(name))

    def animate(self, name: str, path: str) -> None:
        """Export figure `name` over the recorded run's snapshots (the panel's Export > Animation)."""
        message = export_animation(self, self.view_state, name, path)
        if message.startswith("Wrote"):
            self.state.message.emit(message, 10000)
        else:
            self.show_banner(message)

    # -- training ---------------------------------------------------------------------------------------
    def start_training(self) -> None:
        if not self.form_is_ready():
            return
        self.show_banner("")
        self.timeline.set_steps([])
        self._record = None
        self.view_state.reset(self.form.value())
        self.start_job(ConvJob(self.form.value(), self.state.device))

    def _on_progress(self, tick: Tick) -> None:
        if self._mine() and tick.metrics and "loss" in tick.metrics:
            self.view_state.take_metrics(tick.metrics)

    def _on_snapshot(self, snap) -> None:
        if self._mine() and isinstance(snap, ConvSnapshot):
            self.view_state.take_snapshot(snap)

    def job_ended(self, tick: Tick) -> None:
        self._draw_dirty()

    # -- replay -------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Show a recorded run: everything on screen comes from it (the form too)."""
        self._record = record
        if keep_curve:  # the live run that just ended: what it drew stays, its snapshots join the timeline
            self.view_state.attach_run(run_source(record))
            self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=False)
            return
        self.output_box.setProperty("touched", None)
        self.form.set_value(record.config)
        self.view_state.load_run(run_source(record))
        self.update_architecture()
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=False)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._draw_dirty()
        if self._measure_due:
            self._measure()

    def shutdown(self) -> None:
        """Cancel a running gradient probe (called when the window closes)."""
        self.tasks.shutdown()
