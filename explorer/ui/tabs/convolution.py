"""Convolution tab: build a causal, dilated 1-D convolution stack, see what each output can see, train it live."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QGroupBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget
from superqt.utils import FunctionWorker

from ...analysis import receptive_field as rf
from ...analysis.conv_probe import initial_erf
from ...training.jobs.conv_job import ConvConfig, ConvJob, ConvSnapshot
from ...training.record import RunError, RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..widgets.control_bar import ControlBar
from ..widgets.conv_diagram import ConnectionDiagram
from ..widgets.frame_budget import FrameBudget
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from .job_tab import JobTab

DIAGRAM_MAX = 96  # positions drawn in the connection diagram


class ConvolutionTab(JobTab):
    """Architecture views that follow the form at once, and live training views that follow the job."""

    kinds = ("conv",)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._probe: FunctionWorker | None = None
        self._probe_again = False
        self._measure_due = None
        self._erf_rows: list[np.ndarray] = []
        self._erf_steps: list[int] = []
        self._erf_t = 0
        self._pending: ConvSnapshot | None = None

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
        left.setMaximumWidth(360)

        self.diagram_panel = PlotPanel("Connections", "position", "layer")
        self.diagram = ConnectionDiagram(self.diagram_panel.plot_item, self)
        self.diagram_panel.plot_item.showGrid(False, False)
        self.depth_panel = PlotPanel("Receptive field against depth", "layers", "receptive field", y_unit="inputs")
        self.depth_curve = self.depth_panel.add_curve("this schedule")
        self.flat_curve = self.depth_panel.add_curve("no dilation")
        for c in (self.depth_curve, self.flat_curve):
            c.item.setSymbol("o")
        self.field_panel = PlotPanel("Receptive field of the chosen output", "input position relative to t (s − t)",
                                     "share of the largest value")
        self.theory_curve = self.field_panel.add_curve("theory: paths from s to t")
        self.measured_curve = self.field_panel.add_curve("measured |∂y_t/∂x_s| at initialisation")
        self.field_panel.legend.setOffset((10, 10))  # top left: the curves are zero there for a causal stack
        self.loss_panel = PlotPanel("Training loss", "step", "cross-entropy", y_unit="nats")
        self.loss_curve = self.loss_panel.add_curve("loss")
        self.erf_panel = PlotPanel("Effective receptive field over training", "input position relative to t (s − t)",
                                   "training step")
        self.erf_panel.add_heatmap("erf")
        self.acc_panel = PlotPanel("Accuracy against dependency distance", "distance d", "accuracy")
        self.acc_curve = self.acc_panel.add_curve("accuracy")
        self.acc_curve.item.setSymbol("o")
        self.chance_line = pg.InfiniteLine(angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine),
                                           label="chance", labelOpts={"position": 0.08})
        self.rf_line = pg.InfiniteLine(angle=90, pen=pg.mkPen((200, 60, 60), style=Qt.PenStyle.DashLine),
                                       label="receptive field", labelOpts={"position": 0.9})
        self.acc_panel.plot_item.addItem(self.chance_line)
        self.acc_panel.plot_item.addItem(self.rf_line)
        self.main_panel = self.diagram_panel
        self.diagram_panel.set_data_provider(self._diagram_csv)
        self.erf_panel.set_data_provider(self._erf_csv)
        for panel in (self.field_panel, self.acc_panel, self.erf_panel, self.depth_panel):
            for side in ("left", "bottom"):
                panel.plot_item.getAxis(side).enableAutoSIPrefix(False)

        grid = QGridLayout()
        grid.addWidget(self.diagram_panel, 0, 0, 1, 2)
        grid.addWidget(self.depth_panel, 0, 2)
        grid.addWidget(self.field_panel, 1, 0)
        grid.addWidget(self.loss_panel, 1, 1)
        grid.addWidget(self.acc_panel, 1, 2)
        grid.addWidget(self.erf_panel, 2, 0, 1, 3)
        for r, s in ((0, 3), (1, 3), (2, 2)):
            grid.setRowStretch(r, s)
        self.timeline = Timeline()
        self.timeline.indexChanged.connect(self._show_recorded)
        right = QVBoxLayout()
        right.addWidget(self.controls)
        right.addWidget(self.banner)
        right.addLayout(grid, 1)
        right.addWidget(self.timeline)
        lay = QHBoxLayout(self)
        lay.addWidget(left)
        lay.addLayout(right, 1)

        self.frames = FrameBudget(self._draw_pending, max_fps=15, share=0.08, parent=self)
        self.form.valueChanged.connect(lambda _c: self.update_architecture())
        self.form.liveValueChanged.connect(self.on_live_value)
        self.output_box.valueChanged.connect(lambda _v: self.update_architecture())
        self.diagram.outputChosen.connect(self.output_box.setValue)
        self.controls.startRequested.connect(self.start_training)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self.update_architecture()

    # -- architecture views (follow the form at once) --------------------------------------------------
    def update_architecture(self) -> None:
        """Redraw the diagram, the size-by-depth plot and the theoretical field for the form's settings."""
        if not self.form.is_valid():
            return
        cfg = self.form.value()
        dils = cfg.dilation_tuple()
        k, causal, res = cfg.kernel_size, cfg.causal, cfg.residual
        size = rf.receptive_field_size(k, dils)
        self.output_box.setRange(0, cfg.seq_len - 1)
        t = self.output_box.value()
        if t == 0 and self.output_box.property("touched") is None:
            t = cfg.seq_len - 1 if causal else cfg.seq_len // 2
            self.output_box.blockSignals(True)
            self.output_box.setValue(t)
            self.output_box.blockSignals(False)
        self.output_box.setProperty("touched", True)
        length = min(cfg.seq_len, DIAGRAM_MAX)
        shift = max(0, min(t - length + 1 + (0 if causal else length // 2), cfg.seq_len - length))
        td = t - shift
        lit = [pairs - shift for pairs in rf.connection_edges(k, dils, t, cfg.seq_len, causal, res)]
        lit = [p[(p >= 0).all(1) & (p < length).all(1)] for p in lit]
        field = rf.receptive_field_set(k, dils, t, causal, cfg.seq_len, res) - shift
        self.diagram.draw(length, len(dils), rf.all_edges(k, dils, length, causal, res), lit,
                          field[(field >= 0) & (field < length)], td)
        first = f"positions {shift}–{shift + length - 1}" if length < cfg.seq_len else "all positions"
        self.diagram_panel.set_title(f"Connections reaching output t = {t} ({first}; click a top node)")
        depth = np.arange(1, len(dils) + 1)
        self.depth_curve.set_data(depth, rf.sizes_by_depth(k, dils))
        self.flat_curve.set_data(depth, rf.sizes_without_dilation(k, len(dils)))
        self.depth_panel.set_title(f"Receptive field against depth: {size} with dilations, "
                                   f"{1 + (k - 1) * len(dils)} without")
        paths = rf.path_counts(k, dils, t, cfg.seq_len, causal, res).astype(float)
        rel = np.arange(cfg.seq_len) - t
        self.theory_curve.set_data(rel, paths / max(1.0, paths.max()))
        self.numbers.setText(
            f"<b>Receptive field: {size} inputs</b><br>= 1 + Σ (k−1)·d = 1 + {k - 1}·({' + '.join(map(str, dils))})"
            f"<br>dilations: {', '.join(map(str, dils))}<br>"
            + ("causal: output t sees inputs t−%d … t" % (size - 1) if causal else
               "centred: output t sees %d inputs on each side" % ((size - 1) // 2))
            + (f"<br>task needs distances up to {cfg.max_distance}: "
               + ("covered" if size - 1 >= cfg.max_distance else f"only 1–{size - 1} can be learned")
               if cfg.task == "delayed recall" else "")
        )
        for p in (self.diagram_panel, self.depth_panel, self.field_panel):
            p.request_redraw()
            p.redraw_if_visible()
        self._measure_due = (cfg, t)
        if self.isVisible():  # measuring imports torch: not while the app starts with another tab in front
            self._measure(cfg, t)

    def _measure(self, cfg: ConvConfig, t: int) -> None:
        """Measure the gradient field of a fresh stack in the background (one at a time, the newest wins)."""
        self._measure_due = None
        if self._probe is not None:
            self._probe_again = True
            return
        self._probe = FunctionWorker(initial_erf, cfg, t)
        self._probe.returned.connect(lambda erf, c=cfg, tt=t: self._measured(c, tt, erf))
        self._probe.finished.connect(self._probe_done)
        self._probe.start()

    def _probe_done(self) -> None:
        self._probe = None
        if self._probe_again:
            self._probe_again = False
            self.update_architecture()

    def _measured(self, cfg: ConvConfig, t: int, erf: np.ndarray) -> None:
        rel = np.arange(len(erf)) - t
        self.measured_curve.set_data(rel, erf / erf.max() if erf.max() > 0 else erf)
        future = erf[t + 1:]
        leaks = int((future > 0).sum())
        if leaks == 0:
            text = f"no leakage: the gradient is exactly 0 for all {len(future)} future inputs (s > t)"
        else:
            text = f"leakage: {leaks} future inputs (s > t) change output t"
        self.leak_message = text
        self.field_panel.set_title(f"Receptive field of output t = {t}: {text}")
        self.field_panel.request_redraw()
        self.field_panel.redraw_if_visible()

    def _diagram_csv(self):
        """Every edge of the diagram: layer, source and destination position, and whether it reaches output t."""
        cfg = self.form.last_valid_value()
        dils, k, t = cfg.dilation_tuple(), cfg.kernel_size, self.output_box.value()
        lit = rf.connection_edges(k, dils, t, cfg.seq_len, cfg.causal, cfg.residual)
        rows = []
        for layer, pairs in enumerate(rf.all_edges(k, dils, cfg.seq_len, cfg.causal, cfg.residual)):
            on = {tuple(p) for p in lit[layer].tolist()}
            rows += [(layer, int(a), int(b), int((a, b) in on)) for a, b in pairs.tolist()]
        return ["layer", "source", "destination", "reaches_output"], rows

    def _erf_csv(self):
        """The heatmap as rows: training step, input position relative to t, normalised gradient."""
        rows = []
        for step, erf in zip(self._erf_steps, self._erf_rows):
            rows += [(step, s - self._erf_t, float(v)) for s, v in enumerate(erf)]
        return ["step", "offset", "gradient"], rows

    # -- training ---------------------------------------------------------------------------------------
    def start_training(self) -> None:
        if not self.form_is_ready():
            return
        self._reset_training_views()
        self.start_job(ConvJob(self.form.value(), self.state.device))

    def _reset_training_views(self) -> None:
        self.show_banner("")
        self.loss_curve.clear()
        self.acc_curve.clear()
        self._erf_rows, self._erf_steps = [], []
        self.timeline.set_steps([])
        self._record = None

    def _on_progress(self, tick: Tick) -> None:
        if self._mine() and tick.metrics and "loss" in tick.metrics:
            self.loss_curve.append(tick.metrics["step"], tick.metrics["loss"])
            self.loss_panel.request_redraw()

    def _on_snapshot(self, snap) -> None:
        if not self._mine() or not isinstance(snap, ConvSnapshot):
            return
        self._add_erf_row(snap)
        self._pending = snap
        if self.isVisible():
            self.frames.request()

    def _add_erf_row(self, snap: ConvSnapshot) -> None:
        if self._erf_steps and snap.step <= self._erf_steps[-1]:
            return
        self._erf_rows.append(np.asarray(snap.erf, dtype=np.float32))
        self._erf_t = snap.erf_t
        self._erf_steps.append(snap.step)

    def _draw_pending(self) -> None:
        snap, self._pending = self._pending, None
        if snap is None or not self.isVisible():
            return
        self._draw_snapshot(snap)

    def _draw_snapshot(self, snap: ConvSnapshot) -> None:
        acc = np.asarray(snap.accuracy_by_distance)
        if snap.task == "delayed recall":
            self.acc_panel.plot_item.setLabel("bottom", "distance d")
            self.acc_curve.set_data(np.arange(1, len(acc) + 1), acc)
            self.rf_line.setPos(snap.rf_size - 0.5)
            self.rf_line.setVisible(True)
        else:
            self.acc_panel.plot_item.setLabel("bottom", "characters of context (t + 1)")
            self.acc_curve.set_data(np.arange(1, len(acc) + 1), acc)
            self.rf_line.setPos(snap.rf_size + 0.5)
        self.chance_line.setPos(snap.chance)
        self.acc_panel.set_title(f"Accuracy against dependency distance at step {snap.step:,} "
                                 f"(overall {snap.accuracy:.0%}, chance {snap.chance:.0%})")
        if self._erf_rows:
            rows = np.vstack(self._erf_rows)
            first, last = self._erf_steps[0], max(self._erf_steps[-1], self._erf_steps[0] + 1)
            x0 = -snap.erf_t - 0.5
            self.erf_panel.set_heatmap("erf", rows, levels=(0.0, 1.0),
                                       rect=(x0, first, rows.shape[1], last - first))
        for p in (self.loss_panel, self.acc_panel, self.erf_panel):
            p.request_redraw()
            p.redraw_if_visible()

    def job_ended(self, tick: Tick) -> None:
        self.loss_panel.redraw_if_visible()

    # -- replay -------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Replay a recorded run: its loss, and its snapshots on the timeline (the heatmap holds them all)."""
        self._record = record
        if not keep_curve:
            self._reset_training_views()
            self._record = record
            if "loss" in record.metrics:
                self.loss_curve.set_data(record.metrics["step"], record.metrics["loss"])
            try:
                for i in range(len(record.snapshot_paths)):
                    self._add_erf_row(record.load_snapshot(i))
            except RunError as exc:
                self.show_banner(str(exc))
            self.form.set_value(record.config)
            self.update_architecture()
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=not keep_curve)

    def _show_recorded(self, index: int) -> None:
        snap = self.recorded_snapshot(index)
        if snap is not None:
            self._draw_snapshot(snap)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._draw_pending()
        if self._measure_due is not None:
            self._measure(*self._measure_due)

    def shutdown(self) -> None:
        """Wait for a running gradient probe (called when the window closes)."""
        if self._probe is not None:
            self._probe_again = False
