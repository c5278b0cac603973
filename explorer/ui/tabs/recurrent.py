"""Recurrent tab: backprop through time made visible; a thin binding of the form, the weight-scale slider, the
cell chooser and the panels to `RecurrentState` (side-by-side runs) and `DistanceState` (the length sweep)."""
from __future__ import annotations

import dataclasses
import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from ...state.recurrent import CELLS, STATE_FIGURES, VIEW_FIGURES, RecurrentState
from ...state.recurrent_distance import DistanceState
from ...training.jobs.rnn_compare_job import RnnCompareConfig, RnnCompareJob
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
from .job_tab import FitPages, JobTab, run_source, side_panel
from .recurrent_gates import StatesStrip

SCALE_RANGE = (0.1, 4.0)  # the weight-scale slider's ends (log steps)
SLIDER_TICKS = 200


def scale_of(tick: int) -> float:
    """The weight scale of a slider position, to two significant digits (0.30, 3.0)."""
    lo, hi = (math.log10(v) for v in SCALE_RANGE)
    value = 10 ** (lo + (hi - lo) * tick / SLIDER_TICKS)
    return round(value, 1 - math.floor(math.log10(value)))


def tick_of(scale: float) -> int:
    lo, hi = (math.log10(v) for v in SCALE_RANGE)
    clamped = min(max(scale, SCALE_RANGE[0]), SCALE_RANGE[1])
    return round((math.log10(clamped) - lo) / (hi - lo) * SLIDER_TICKS)


class RecurrentTab(JobTab):
    """Dashed curves of fresh networks follow the form at once; the training views follow the job."""

    kinds = RecurrentState.kinds + DistanceState.kinds

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.view_state = RecurrentState()
        self.sweep_state = DistanceState()
        self.tasks = TaskRunner(self)
        self._dirty: set[str] = set()
        self._probe_due = False

        self.form = ParamForm(RnnCompareConfig)
        self.form.set_hidden_fields(["cell"])
        self.controls = ControlBar(self.runner, owner=self)
        self.scale_slider = QSlider(Qt.Orientation.Horizontal)
        self.scale_slider.setRange(0, SLIDER_TICKS)
        self.scale_slider.setToolTip("Spectral radius of the recurrent weights at initialisation (log scale); "
                                     "the dashed curves follow at once")
        self.scale_label = QLabel()
        self.scale_label.setMinimumWidth(48)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.theory = QLabel()
        self.theory.setWordWrap(True)
        self.theory.setTextFormat(Qt.TextFormat.RichText)
        self.cell_box = QComboBox()
        self.cell_box.setToolTip("The cell whose heatmap, Jacobian product, gates and states are shown")
        self.input_edit = QLineEdit()
        self.input_edit.setPlaceholderText("your input, then Enter")
        self.input_edit.setToolTip("Run the trained cell on this input and show its gates and states.\n"
                                   "Copy task: symbols separated by spaces; characters: any text.")
        self.sweep_button = QPushButton("Accuracy against distance…")
        self.sweep_button.setToolTip("Train RNN, GRU and LSTM on the task at several dependency lengths T and "
                                     "plot their accuracy (a few minutes on a CPU)")

        left = QWidget()
        left_lay = QVBoxLayout(left)
        box = QGroupBox("Network and task")
        QVBoxLayout(box).addWidget(self.form)
        left_lay.addWidget(box)
        scale_box = QGroupBox("Recurrent weight scale (spectral radius)")
        scale_row = QHBoxLayout(scale_box)
        scale_row.addWidget(self.scale_slider, 1)
        scale_row.addWidget(self.scale_label)
        left_lay.addWidget(scale_box)
        left_lay.addWidget(self.theory)
        left_lay.addWidget(self.summary)
        show_box = QGroupBox("Gates and states")
        show_lay = QGridLayout(show_box)
        show_lay.addWidget(QLabel("Cell"), 0, 0)
        show_lay.addWidget(self.cell_box, 0, 1)
        show_lay.addWidget(QLabel("Input"), 1, 0)
        show_lay.addWidget(self.input_edit, 1, 1)
        left_lay.addWidget(show_box)
        left_lay.addWidget(self.sweep_button)
        left_lay.addStretch(1)
        scroll = side_panel(left, 330, 380)

        self.panels = {name: PlotPanel(name) for name in VIEW_FIGURES}
        self.flow_panel, self.heat_panel, self.jac_panel = (self.panels[n] for n in VIEW_FIGURES[:3])
        self.loss_panel, self.wsv_panel = self.panels["loss"], self.panels["weights"]
        self.sweep_panel = PlotPanel("accuracy_by_length")
        self.strip = StatesStrip(self.view_state)
        for name, panel in [*self.panels.items(), *zip(STATE_FIGURES, self.strip.panels.values(), strict=True)]:
            panel.set_animator(lambda path, n=name: self.animate(n, path))
        self.state_panels = self.strip.panels
        self.states_label = self.strip.label

        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, panel in enumerate((self.flow_panel, self.heat_panel, self.jac_panel, self.loss_panel,
                                   self.wsv_panel, self.sweep_panel)):
            grid.addWidget(panel, i // 3, i % 3)
        self.pages = FitPages()
        self.pages.addTab(grid_widget, "Gradient flow")
        self.pages.addTab(self.strip, "Gates and states")
        self.pages.setTabToolTip(1, "The chosen cell's hidden state, cell state and gates over time, for the "
                                    "first training example or your input")
        self.timeline = Timeline()
        self.timeline.indexChanged.connect(self.view_state.select)
        right = QVBoxLayout()
        right.addWidget(self.controls)
        right.addWidget(self.banner)
        right.addWidget(self.pages, 1)
        right.addWidget(self.timeline)
        lay = QHBoxLayout(self)
        lay.addWidget(scroll)
        lay.addLayout(right, 1)

        self.frames = FrameBudget(self._draw_dirty, max_fps=15, share=0.08, parent=self)
        self.view_state.changed.connect(self._state_changed)
        self.view_state.message.connect(self.show_banner)
        self.view_state.stopped.connect(self.show_banner)
        self.sweep_state.changed.connect(lambda _names: self._state_changed(("accuracy_by_length",)))
        self.sweep_state.message.connect(self.show_banner)
        self.form.valueChanged.connect(self._form_changed)
        self.form.liveValueChanged.connect(self.on_live_value)
        self.scale_slider.valueChanged.connect(self._slider_moved)
        self.cell_box.currentTextChanged.connect(self._cell_chosen)
        self.input_edit.returnPressed.connect(self.run_typed_input)
        self.sweep_button.clicked.connect(self.start_sweep)
        self.controls.startRequested.connect(self.start_training)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self.sweep_panel.show_figure(self.sweep_state.figure("accuracy_by_length"))
        self._form_changed(self.form.value())

    @property
    def main_panel(self) -> PlotPanel:
        """The panel that File > Export figure writes: the gradient flow, or the first state on show."""
        if self.pages.currentWidget() is self.strip:
            shown = [p for p in self.state_panels.values() if not p.isHidden()]
            if shown:
                return shown[0]
        return self.flow_panel

    # -- binding: widgets -> state --------------------------------------------------------------------------
    def _sync_slider(self, scale: float) -> None:
        self.scale_slider.blockSignals(True)
        self.scale_slider.setValue(tick_of(scale))
        self.scale_slider.blockSignals(False)
        self.scale_label.setText(f"{scale:g}")

    def set_weight_scale(self, scale: float) -> None:
        """Set the recurrent weight scale as the slider does (the form and the dashed curves follow)."""
        self.scale_slider.setValue(tick_of(scale))

    def _slider_moved(self, tick: int) -> None:
        scale = scale_of(tick)
        self.scale_label.setText(f"{scale:g}")
        if self.form.widget_for("weight_scale").isEnabled():
            self.form.set_value(dataclasses.replace(self.form.last_valid_value(), weight_scale=scale))
            self._form_changed(self.form.value())

    def _form_changed(self, _cfg=None) -> None:
        if not self.form.is_valid():
            return
        cfg = self.form.value()
        self._sync_slider(cfg.weight_scale)
        self.form.set_hidden_fields(["cell"] + ([] if cfg.with_rnn else ["activation"])
                                    + ([] if cfg.with_lstm else ["forget_bias"])
                                    + ([] if cfg.with_gru else ["gru_variant"])
                                    + ([] if cfg.clip == "norm" else ["clip_value"]))
        if self.view_state.set_config(cfg):
            self._probe()
        self.theory.setText(self.view_state.theory_html())

    def _probe(self) -> None:
        """Measure the gradient flow of fresh networks for the form's settings (newest request wins)."""
        if not self.isVisible():  # the probe imports torch: not while the app starts with another tab in front
            self._probe_due = True
            return
        self._probe_due = False
        cfg = self.view_state.fresh_config
        self.tasks.submit("fresh networks", _probe_cells, cfg,
                          on_done=lambda flows, c=cfg: self._probed(c, flows),
                          on_error=lambda msg: self.show_banner(f"Could not measure the fresh networks: {msg}"))

    def run_typed_input(self) -> None:
        """Run the shown cell, as trained at the shown snapshot, on the typed input (in the background)."""
        text = self.input_edit.text()
        try:
            cfg, alphabet, params, cell, step = self.view_state.typed_request()
        except ValueError as exc:
            self.show_banner(str(exc))
            return
        if not text.strip():
            return
        self.tasks.submit("typed input", _states_for_text, cfg, alphabet, params, text,
                          on_done=lambda result, c=cell, s=step: self._typed_done(c, s, result),
                          on_error=self.show_banner)

    def _cell_chosen(self, cell: str) -> None:
        self.view_state.set_cell(cell)
        self._draw_dirty()  # asked for by a click: drawn at once

    def _typed_done(self, cell: str, step: int, result) -> None:
        self.show_banner("")
        self.view_state.set_typed(cell, step, *result)
        self._draw_dirty()
        self.pages.setCurrentWidget(self.strip)  # the answer to the typed input is on that page

    def _probed(self, cfg, flows) -> None:
        self.view_state.set_initial_flow(cfg, flows)
        self._draw_dirty()  # the slider's answer: drawn at once

    # -- binding: state -> panels ---------------------------------------------------------------------------
    def _state_changed(self, names: tuple[str, ...]) -> None:
        self._dirty.update(names or VIEW_FIGURES + STATE_FIGURES)
        self.theory.setText(self.view_state.theory_html())
        if self.isVisible():
            self.frames.request()

    def _draw_dirty(self) -> None:
        if not self.isVisible():
            return
        names, self._dirty = self._dirty, set()
        self._sync_cells()
        for name in names:
            if name in self.panels:
                self.panels[name].show_figure(self.view_state.figure(name))
        if names & set(STATE_FIGURES):
            self.strip.draw()
        if "accuracy_by_length" in names:
            self.sweep_panel.show_figure(self.sweep_state.figure("accuracy_by_length"))
        self.summary.setText(self.view_state.summary_html())

    def _sync_cells(self) -> None:
        """The cell chooser lists the cells on show and points at the one the state shows."""
        cells = list(self.view_state.cells)
        if [self.cell_box.itemText(i) for i in range(self.cell_box.count())] != cells:
            self.cell_box.blockSignals(True)
            self.cell_box.clear()
            self.cell_box.addItems(cells)
            self.cell_box.blockSignals(False)
        if self.view_state.shown_cell is not None:
            self.cell_box.blockSignals(True)
            self.cell_box.setCurrentText(self.view_state.shown_cell)
            self.cell_box.blockSignals(False)

    def animate(self, name: str, path: str) -> None:
        """Export figure `name` (of the chosen cell) over the recorded run's snapshots (Export > Animation)."""
        message = export_animation(self, self.view_state, self.view_state.export_name(name), path)
        if message.startswith("Wrote"):
            self.state.message.emit(message, 10000)
        else:
            self.show_banner(message)

    # -- training -------------------------------------------------------------------------------------------
    def start_training(self) -> None:
        if not self.form_is_ready():
            return
        self._form_changed()  # the dashed curves and the side panel follow the settings trained
        self.show_banner("")
        self.timeline.set_steps([])
        self._record = None
        self.view_state.reset(self.form.value())
        self.start_job(RnnCompareJob(self.form.value(), self.state.device))

    def start_sweep(self) -> None:
        """Train every cell at several dependency lengths in the background (the sweep job)."""
        from ...training.jobs.rnn_sweep_job import RnnSweepConfig, RnnSweepJob

        if not self.form_is_ready():
            return
        cfg = self.form.value()
        if cfg.task == "characters":
            self.show_banner("The accuracy-against-distance sweep runs on the copy or adding task: choose one.")
            return
        sweep = RnnSweepConfig(task=cfg.task, seed=cfg.seed)
        self.sweep_state.reset(sweep)
        self.start_job(RnnSweepJob(sweep, self.state.device))

    def _sweeping(self) -> bool:
        return getattr(self.runner.job, "kind", "") == "rnn_distance"

    def _on_progress(self, tick: Tick) -> None:
        if self._mine() and tick.metrics:
            (self.sweep_state if self._sweeping() else self.view_state).take_metrics(tick.metrics)

    def _on_snapshot(self, snap) -> None:
        if self._mine():
            (self.sweep_state if hasattr(snap, "lengths") else self.view_state).take_snapshot(snap)

    def job_ended(self, tick: Tick) -> None:
        self._draw_dirty()

    # -- replay ---------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Show a recorded run: everything on screen comes from it (the form too)."""
        if record.kind in DistanceState.kinds:
            if not keep_curve:
                self.sweep_state.load_run(run_source(record))
                self._draw_dirty()
            return
        self._record = record
        if keep_curve:  # the live run that just ended: what it drew stays, its snapshots join the timeline
            self.view_state.attach_run(run_source(record))
            self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=False)
            return
        self.form.set_value(_form_config(record.config))
        self.view_state.load_run(run_source(record))
        self._form_changed()
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=False)
        self._draw_dirty()  # asked for by the user: drawn at once

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._dirty:
            self._draw_dirty()
        if self._probe_due:
            self._probe()

    def shutdown(self) -> None:
        """Cancel background measurements (called when the window closes)."""
        self.tasks.shutdown()


def _form_config(cfg) -> RnnCompareConfig:
    """The form's settings for a recorded config (a single-cell run ticks its one cell)."""
    if isinstance(cfg, RnnCompareConfig):
        return cfg
    fields = {f.name: getattr(cfg, f.name) for f in dataclasses.fields(cfg)}
    ticks = {f"with_{c.lower()}": c == cfg.cell for c in CELLS}
    return RnnCompareConfig(**fields, **ticks)


def _probe_cells(cfg: RnnCompareConfig) -> dict:
    """Gradient flow of a fresh network of every chosen cell, over the run's sequence length (a task thread)."""
    from ...analysis.gradient_flow import initial_gradient_flow

    return {cell: initial_gradient_flow(cell, cfg.activation, cfg.hidden, cfg.sequence_length(), cfg.weight_scale,
                                        forget_bias=cfg.forget_bias, seed=cfg.seed,
                                        reset_after=cfg.gru_variant == "torch") for cell in cfg.cells()}


def _states_for_text(cfg, alphabet, params, text):
    """Gates and states of one trained cell on typed text, and the labels of its time steps."""
    from ...training.jobs.rnn_job import encode_input, states_for_input

    ids = encode_input(cfg, alphabet, text)
    states = states_for_input(cfg, params, ids)
    mapped = {("h" if k == "hidden" else "c" if k == "cell" else k): v for k, v in states.items() if k != "output"}
    labels = tuple(alphabet[i] if 0 <= i < len(alphabet) else "?" for i in ids)
    return mapped, labels
