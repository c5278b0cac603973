"""Recurrent tab: backprop through time made visible: gradient flow, the Jacobian's spectrum, gates, live."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QSlider, QSplitter, QVBoxLayout, QWidget)
from superqt.utils import FunctionWorker

from ...training.jobs.rnn_compare_job import CELLS, RnnCompareConfig, RnnCompareJob, RnnCompareSnapshot
from ...training.record import RunError, RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..widgets.control_bar import ControlBar
from ..widgets.frame_budget import FrameBudget
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from .job_tab import JobTab, side_panel

CELL_COLORS = {"RNN": "#D55E00", "GRU": "#009E73", "LSTM": "#0072B2"}
SCALE_RANGE = (0.1, 4.0)  # the weight-scale slider's ends (log steps)
SLIDER_TICKS = 200
TINY = 1e-30  # gradients below this are drawn as gaps on log axes
STATE_PANELS = (("h", "hidden h(t)"), ("c", "cell c(t)"), ("f", "forget f"), ("i", "input i"), ("o", "output o"),
                ("z", "update z"), ("r", "reset r"))
MAX_LABELLED_STEPS = 40  # time-step axes show the input symbols up to this length


def _positive(values: np.ndarray) -> np.ndarray:
    """Values for a log axis: zeros and non-finite values become NaN (a gap), never -inf."""
    v = np.asarray(values, dtype=np.float64).copy()
    v[~np.isfinite(v) | (v <= TINY)] = np.nan
    return v


class RecurrentTab(JobTab):
    """Theory views of a freshly initialised network follow the form; training views follow the job."""

    kinds = ("rnn_compare", "rnn_distance")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._probe: FunctionWorker | None = None
        self._probe_again = False
        self._probe_due = False
        self._states_worker: FunctionWorker | None = None
        self._pending: RnnCompareSnapshot | None = None
        self._last: RnnCompareSnapshot | None = None
        self._heat_rows: dict[str, list[np.ndarray]] = {}
        self._heat_steps: list[int] = []
        self._reported: set[str] = set()
        self._metrics: dict[str, list[float]] = {}
        self._typed: tuple[str, dict, tuple[str, ...]] | None = None  # cell, states, labels of typed input

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
        self.cell_box.setToolTip("The cell whose heatmaps, gates and states are shown")
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

        self.flow_panel = PlotPanel("‖∂L_T/∂h(t)‖: at initialisation (dashed)", "time step t", "gradient norm")
        self.flow_panel.set_log(y=True)
        self.heat_panel = PlotPanel("log₁₀ ‖∂L_T/∂h(t)‖ over training", "time step t",
                                    "training step")
        self.heat_panel.add_heatmap("flow")
        self.jac_panel = PlotPanel("σ_max of ∂h(t)/∂h(t−1)",
                                   "time step t", "singular value")
        self.jac_panel.set_log(y=True)
        self.loss_panel = PlotPanel("Training loss (× = gradient clipped)", "step", "loss")
        self.wsv_panel = PlotPanel("σ_max of the recurrent weights W_hh", "step", "σ_max(W_hh)")
        self.sweep_panel = PlotPanel("Accuracy against T (press 'Accuracy against distance…')",
                                     "dependency length T", "accuracy")
        for panel in (self.jac_panel, self.wsv_panel):
            line = pg.InfiniteLine(pos=1.0, angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine),
                                   label="1", labelOpts={"position": 0.03})
            panel.plot_item.addItem(line, ignoreBounds=True)
        self.sweep_chance = pg.InfiniteLine(angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine),
                                            label="chance", labelOpts={"position": 0.08})
        self.sweep_chance.setVisible(False)
        self.sweep_panel.plot_item.addItem(self.sweep_chance)
        self.sweep_panel.plot_item.setYRange(0, 1.02)
        self._clip_marks: dict[str, pg.ScatterPlotItem] = {}
        self.heat_panel.set_data_provider(self._heat_csv)
        self.main_panel = self.flow_panel

        self.state_panels: dict[str, PlotPanel] = {}
        states = QWidget()
        strip = QVBoxLayout(states)
        strip.setContentsMargins(0, 0, 0, 0)
        strip.setSpacing(2)
        self.states_label = QLabel("Gates and states over time appear here once a cell has trained.")
        strip.addWidget(self.states_label)
        states_lay = QHBoxLayout()
        strip.addLayout(states_lay, 1)
        for key, title in STATE_PANELS:
            panel = PlotPanel(title, "time step t", "unit")
            panel.add_heatmap("values", "CET-D1" if key in ("h", "c") else "viridis")
            panel.setVisible(False)
            self.state_panels[key] = panel
            states_lay.addWidget(panel)

        grid_widget = QWidget()
        grid = QGridLayout(grid_widget)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.addWidget(self.flow_panel, 0, 0)
        grid.addWidget(self.heat_panel, 0, 1)
        grid.addWidget(self.jac_panel, 0, 2)
        grid.addWidget(self.loss_panel, 1, 0)
        grid.addWidget(self.wsv_panel, 1, 1)
        grid.addWidget(self.sweep_panel, 1, 2)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(grid_widget)
        splitter.addWidget(states)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([560, 260])
        states.setMinimumHeight(170)
        self.timeline = Timeline()
        self.timeline.indexChanged.connect(self._show_recorded)
        right = QVBoxLayout()
        right.addWidget(self.controls)
        right.addWidget(self.banner)
        right.addWidget(splitter, 1)
        right.addWidget(self.timeline)
        lay = QHBoxLayout(self)
        lay.addWidget(scroll)
        lay.addLayout(right, 1)

        self.frames = FrameBudget(self._draw_pending, max_fps=15, share=0.08, parent=self)
        self.form.valueChanged.connect(self._form_changed)
        self.form.liveValueChanged.connect(self.on_live_value)
        self.scale_slider.valueChanged.connect(self._slider_moved)
        self.cell_box.currentTextChanged.connect(lambda _t: self._redraw_cell_views())
        self.input_edit.returnPressed.connect(self.run_typed_input)
        self.sweep_button.clicked.connect(self.start_sweep)
        self.controls.startRequested.connect(self.start_training)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self._sync_slider(self.form.value().weight_scale)
        self._form_changed(self.form.value())

    # -- the weight-scale slider and the theory views ------------------------------------------------------
    @staticmethod
    def _scale_of(tick: int) -> float:
        lo, hi = (math.log10(v) for v in SCALE_RANGE)
        value = 10 ** (lo + (hi - lo) * tick / SLIDER_TICKS)
        return round(value, 1 - int(math.floor(math.log10(value))))  # two significant digits: 0.30, 3.0

    @staticmethod
    def _tick_of(scale: float) -> int:
        lo, hi = (math.log10(v) for v in SCALE_RANGE)
        return int(round((math.log10(min(max(scale, SCALE_RANGE[0]), SCALE_RANGE[1])) - lo) / (hi - lo)
                         * SLIDER_TICKS))

    def _sync_slider(self, scale: float) -> None:
        self.scale_slider.blockSignals(True)
        self.scale_slider.setValue(self._tick_of(scale))
        self.scale_slider.blockSignals(False)
        self.scale_label.setText(f"{scale:g}")

    def set_weight_scale(self, scale: float) -> None:
        """Set the recurrent weight scale as the slider does (the form and the theory views follow)."""
        self.scale_slider.setValue(self._tick_of(scale))

    def _slider_moved(self, tick: int) -> None:
        scale = self._scale_of(tick)
        self.scale_label.setText(f"{scale:g}")
        if self.form.widget_for("weight_scale").isEnabled():
            self.form.set_value(dataclasses.replace(self.form.last_valid_value(), weight_scale=scale))
            self._form_changed(self.form.value())

    def _form_changed(self, cfg: RnnCompareConfig) -> None:
        if not self.form.is_valid():
            return
        cfg = self.form.value()
        self._sync_slider(cfg.weight_scale)
        self.form.set_hidden_fields(["cell"] + ([] if cfg.with_rnn else ["activation"])
                                    + ([] if cfg.with_lstm else ["forget_bias"])
                                    + ([] if cfg.clip == "norm" else ["clip_value"])
                                    + ([] if cfg.task == "characters" else []))
        self._probe_due = True
        if self.isVisible():
            self._run_probe()

    def _run_probe(self) -> None:
        """Measure the gradient flow of fresh networks for the form's settings (newest request wins)."""
        self._probe_due = False
        if self._probe is not None:
            self._probe_again = True
            return
        cfg = self.form.last_valid_value()
        self._probe = FunctionWorker(_probe_cells, cfg)
        self._probe.returned.connect(lambda result, c=cfg: self._probed(c, result))
        self._probe.errored.connect(lambda exc: self.show_banner(f"Could not measure the fresh network: {exc}"))
        self._probe.finished.connect(self._probe_finished)
        self._probe.start()

    def _probe_finished(self) -> None:
        self._probe = None
        if self._probe_again:
            self._probe_again = False
            self._run_probe()

    def _probed(self, cfg: RnnCompareConfig, result: dict) -> None:
        """Draw the fresh networks' gradient flow and Jacobian spectrum as dashed curves."""
        for cell in CELLS:
            for panel in (self.flow_panel, self.jac_panel):
                panel.remove_curve(f"{cell} at initialisation")
            self.jac_panel.remove_curve(f"{cell} ∏σ at initialisation")
        lines = []
        for cell, probe in result.items():
            color = CELL_COLORS[cell]
            dashed = pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine)
            t = np.arange(len(probe.grad_norms))
            curve = self.flow_panel.add_curve(f"{cell} at initialisation", color)
            curve.set_pen(dashed)
            self.flow_panel.legend.removeItem(curve.item)  # the title explains dashed; the legend names cells
            curve.set_data(t, _positive(probe.grad_norms))
            sv = np.asarray(probe.jac_sv)[:, 0]
            curve = self.jac_panel.add_curve(f"{cell} at initialisation", color)
            curve.set_pen(dashed)
            self.jac_panel.legend.removeItem(curve.item)
            curve.set_data(t[1:], _positive(sv[1:]))
            g = np.asarray(probe.grad_norms, dtype=np.float64)
            ratio = g[0] / g[-1] if g[-1] > 0 else float("nan")
            lines.append(f"<b>{cell}</b>: ‖∂L/∂h(0)‖ / ‖∂L/∂h(T)‖ = {ratio:.1e}; "
                         f"σ_max(W_hh) = {probe.w_sv_max:.2f}")
        verdict = ("Below 1 the gradient shrinks by about that factor per step back (vanishing); above 1 it "
                   "can grow (exploding); gates let the GRU and LSTM keep it near 1.")
        self.theory.setText(f"At initialisation, scale {cfg.weight_scale:g}, T = {cfg.length}:<br>"
                            + "<br>".join(lines) + f"<br><i>{verdict}</i>")
        for panel in (self.flow_panel, self.jac_panel):
            panel.request_redraw()
            panel.redraw_if_visible()

    # -- training -----------------------------------------------------------------------------------------
    def start_training(self) -> None:
        if not self.form_is_ready():
            return
        self._reset_training_views()
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
        self.sweep_panel.set_title(f"Accuracy against dependency length ({cfg.task} task): measuring…")
        for cell in CELLS:
            self.sweep_panel.remove_curve(cell)
        self._record = None
        self.start_job(RnnSweepJob(sweep, self.state.device))

    def _reset_training_views(self) -> None:
        self.show_banner("")
        for panel in (self.flow_panel, self.jac_panel):
            for cell in CELLS:
                panel.remove_curve(cell)
        self.jac_panel.remove_curve("∏σ")
        for cell in CELLS:
            for panel in (self.loss_panel, self.wsv_panel):
                panel.remove_curve(cell)
            mark = self._clip_marks.pop(cell, None)
            if mark is not None:
                self.loss_panel.plot_item.removeItem(mark)
        self._heat_rows, self._heat_steps = {}, []
        self._metrics = {}
        self._reported = set()
        self._typed = None
        self._last = None
        self.timeline.set_steps([])
        self._record = None

    def _curve(self, panel: PlotPanel, cell: str):
        return panel.curves.get(cell) or panel.add_curve(cell, CELL_COLORS[cell])

    def _on_progress(self, tick: Tick) -> None:
        if not self._mine() or not tick.metrics:
            return
        self._add_metrics(tick.metrics)

    def _add_metrics(self, metrics: dict) -> None:
        steps = np.asarray(metrics.get("step", []), dtype=np.float64)
        for cell in CELLS:
            loss = metrics.get(f"loss:{cell}")
            if loss is None:
                continue
            loss = np.asarray(loss, dtype=np.float64)
            keep = np.isfinite(loss)
            self._curve(self.loss_panel, cell).append(steps[keep], loss[keep])
            wsv = metrics.get(f"w_sv_max:{cell}")
            if wsv is not None:
                wsv = np.asarray(wsv, dtype=np.float64)
                ok = np.isfinite(wsv)
                self._curve(self.wsv_panel, cell).append(steps[ok], wsv[ok])
            clipped = metrics.get(f"clipped:{cell}")
            if clipped is not None:
                hit = np.asarray(clipped, dtype=np.float64) > 0.5
                if hit.any():
                    mark = self._clip_marks.get(cell)
                    if mark is None:
                        mark = pg.ScatterPlotItem(symbol="x", size=7, pen=pg.mkPen(CELL_COLORS[cell]), brush=None)
                        self.loss_panel.plot_item.addItem(mark)
                        self._clip_marks[cell] = mark
                    mark.addPoints(x=steps[hit & keep], y=loss[hit & keep])
        self.loss_panel.request_redraw()
        self.wsv_panel.request_redraw()

    def _on_snapshot(self, snap) -> None:
        if not self._mine():
            return
        if isinstance(snap, RnnCompareSnapshot):
            self._add_heat_row(snap)
            self._pending = snap
            if self.isVisible():
                self.frames.request()
        elif type(snap).__name__ == "RnnSweepSnapshot":
            self._draw_sweep(snap)

    def _add_heat_row(self, snap: RnnCompareSnapshot) -> None:
        if self._heat_steps and snap.step <= self._heat_steps[-1]:
            return
        for c, cell in enumerate(snap.cells):
            self._heat_rows.setdefault(cell, []).append(np.asarray(snap.grad_norms[c], dtype=np.float32))
        self._heat_steps.append(snap.step)

    def _draw_pending(self) -> None:
        snap, self._pending = self._pending, None
        if snap is None or not self.isVisible():
            return
        self._draw_snapshot(snap)

    def _draw_snapshot(self, snap: RnnCompareSnapshot) -> None:
        self._last = snap
        self._typed = None
        cells = list(snap.cells)
        if [self.cell_box.itemText(i) for i in range(self.cell_box.count())] != cells:
            current = self.cell_box.currentText()
            self.cell_box.blockSignals(True)
            self.cell_box.clear()
            self.cell_box.addItems(cells)
            self.cell_box.setCurrentIndex(cells.index(current) if current in cells else len(cells) - 1)
            self.cell_box.blockSignals(False)
        t = np.arange(snap.grad_norms.shape[1])
        parts = []
        for c, cell in enumerate(cells):
            self._curve(self.flow_panel, cell).set_data(t, _positive(snap.grad_norms[c]))
            self._curve(self.jac_panel, cell).set_data(t[1:], _positive(snap.jac_sv[c, 1:, 0]))
            g = np.asarray(snap.grad_norms[c], dtype=np.float64)
            ratio = g[0] / g[-1] if g[-1] > 0 else float("nan")
            parts.append(f"{cell} {snap.accuracy[c]:.0%}" + (" (stopped)" if snap.diverged[c] else ""))
            if snap.diverged[c] and cell not in self._reported:
                self._reported.add(cell)
                others = [x for i, x in enumerate(cells) if not snap.diverged[i]]
                self.show_banner(f"{cell} stopped: {snap.diverged[c]}"
                                 + (f" {', '.join(others)} go on training." if others else ""))
            del ratio
        self.flow_panel.set_title(f"‖∂L_T/∂h(t)‖: step {snap.step:,} (solid), initialisation (dashed)")
        self.summary.setText(f"<b>Step {snap.step:,}</b>: accuracy {', '.join(parts)} (chance "
                             f"{snap.chance:.0%})")
        self._redraw_cell_views()
        for p in (self.flow_panel, self.jac_panel, self.loss_panel, self.wsv_panel):
            p.request_redraw()
            p.redraw_if_visible()

    def _cell_index(self) -> int:
        snap = self._last
        if snap is None:
            return -1
        name = self.cell_box.currentText()
        return list(snap.cells).index(name) if name in snap.cells else len(snap.cells) - 1

    def _redraw_cell_views(self) -> None:
        """The heatmap, the product of singular values and the gates of the cell chosen in the box."""
        snap, c = self._last, self._cell_index()
        if snap is None or c < 0:
            return
        cell = snap.cells[c]
        sv = np.asarray(snap.jac_sv[c, 1:, 0], dtype=np.float64)
        with np.errstate(divide="ignore"):
            product = np.exp(np.cumsum(np.log(np.maximum(sv[::-1], 1e-300))))[::-1]  # ∏ from t to T
        t = np.arange(snap.grad_norms.shape[1])
        curve = self.jac_panel.curves.get("∏σ") or self.jac_panel.add_curve("∏σ", "#777777", width=1.5)
        curve.set_data(t[1:], _positive(product))
        self.jac_panel.set_title(f"σ_max of ∂h(t)/∂h(t−1); grey: {cell}'s ∏ from t to T")
        self.jac_panel.title_label.setToolTip(
            f"Largest singular value of the step Jacobian at each t, per cell; grey: the product of {cell}'s from t "
            f"to T (= {product[0]:.1e} at t = 1), which bounds how much the gradient can grow on its way back")
        rows = self._heat_rows.get(cell)
        if rows:
            data = np.vstack(rows).astype(np.float64)
            with np.errstate(divide="ignore"):
                logs = np.where(data > TINY, np.log10(np.maximum(data, TINY)), np.nan)
            first, last = self._heat_steps[0], max(self._heat_steps[-1], self._heat_steps[0] + 1)
            self.heat_panel.set_heatmap("flow", logs, rect=(-0.5, first, data.shape[1], last - first))
            self.heat_panel.set_title(f"{cell}: log₁₀ ‖∂L_T/∂h(t)‖ (dark: vanished)")
            self.heat_panel.request_redraw()
        if self._typed is not None and self._typed[0] == cell:
            _, states, labels = self._typed
            self._draw_states(cell, states, labels, "your input")
        else:
            states = {"h": snap.hidden_states[c]}
            for g, name in enumerate(n for n in snap.gate_names[c].split(",") if n):
                states[name] = snap.gates[c, g]
            if np.isfinite(snap.cell_state[c]).all():
                states["c"] = snap.cell_state[c]
            self._draw_states(cell, states, snap.input_labels, f"step {snap.step:,}")
        for p in [self.jac_panel, self.heat_panel] + list(self.state_panels.values()):
            p.redraw_if_visible()

    def _draw_states(self, cell: str, states: dict, labels, where: str) -> None:
        self.states_label.setText(f"<b>{cell}: gates and states over time</b> ({where}; units on the y axis; "
                                  "h and c: blue negative, red positive; gates: 0 dark … 1 yellow)")
        for key, panel in self.state_panels.items():
            values = states.get(key)
            panel.setVisible(values is not None)
            if values is None:
                continue
            data = np.asarray(values, dtype=np.float32)  # (L, H): time on x, unit on y
            if key in ("h", "c"):
                peak = float(np.nanmax(np.abs(data))) if data.size else 1.0
                levels = (-max(peak, 1e-6), max(peak, 1e-6))
            else:
                levels = (0.0, 1.0)
            panel.set_heatmap("values", data.T, levels=levels, rect=(-0.5, -0.5, data.shape[0], data.shape[1]))
            panel.set_title(dict(STATE_PANELS)[key])
            axis = panel.plot_item.getAxis("bottom")
            if len(labels) <= MAX_LABELLED_STEPS:
                every = max(1, int(np.ceil(len(labels) / 12)))  # about a dozen readable labels per panel
                axis.setTicks([[(i, str(s)) for i, s in enumerate(labels) if i % every == 0]])
            else:
                axis.setTicks(None)
            panel.request_redraw()

    def _draw_sweep(self, snap) -> None:
        lengths = np.asarray(snap.lengths, dtype=np.float64)
        for c, cell in enumerate(snap.cells):
            curve = self._curve(self.sweep_panel, cell)
            curve.item.setSymbol("o")
            curve.item.setSymbolBrush(CELL_COLORS[cell])
            acc = np.asarray(snap.accuracy[c], dtype=np.float64)
            done = np.isfinite(acc)  # points still to train are not drawn
            curve.set_data(lengths[done], acc[done])
        self.sweep_chance.setPos(snap.chance)
        self.sweep_chance.setVisible(True)
        done = int(np.isfinite(np.asarray(snap.accuracy)).sum())
        total = int(np.asarray(snap.accuracy).size)
        state = f"training {snap.current}" if done < total else "done"
        self.sweep_panel.set_title(f"Accuracy against dependency length: {done} of {total} points ({state})")
        self.sweep_panel.request_redraw()
        self.sweep_panel.redraw_if_visible()

    # -- typed input ----------------------------------------------------------------------------------------
    def run_typed_input(self) -> None:
        """Run the shown cell, as trained at the shown snapshot, on the typed input (in the background)."""
        snap, c = self._last, self._cell_index()
        text = self.input_edit.text()
        if snap is None or c < 0:
            self.show_banner("Train (or open a recorded run) first: the gates are those of a trained cell.")
            return
        if not text.strip():
            return
        cfg = dataclasses.replace(self.form.last_valid_value(), cell=snap.cells[c])
        if self._states_worker is not None:
            return
        worker = FunctionWorker(_states_for_text, cfg, snap.alphabet, np.array(snap.cell_params(c)), text)
        worker.returned.connect(lambda result, cell=snap.cells[c]: self._typed_done(cell, result))
        worker.errored.connect(lambda exc: self.show_banner(str(exc)))
        worker.finished.connect(lambda: setattr(self, "_states_worker", None))
        self._states_worker = worker
        worker.start()

    def _typed_done(self, cell: str, result) -> None:
        states, labels = result
        self.show_banner("")
        self._typed = (cell, states, labels)
        self._draw_states(cell, states, labels, "your input")
        for p in self.state_panels.values():
            p.redraw_if_visible()

    def _heat_csv(self):
        snap, c = self._last, self._cell_index()
        if snap is None:
            return ["training_step", "t", "gradient_norm"], []
        rows = []
        for step, row in zip(self._heat_steps, self._heat_rows.get(snap.cells[c], [])):
            rows += [(step, t, float(v)) for t, v in enumerate(row)]
        return ["training_step", "t", "gradient_norm"], rows

    def job_ended(self, tick: Tick) -> None:
        for p in (self.loss_panel, self.wsv_panel, self.sweep_panel):
            p.redraw_if_visible()

    # -- replay ---------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Replay a recorded run: its curves, and its snapshots on the timeline."""
        if record.kind == "rnn_distance":
            try:
                if record.snapshot_paths:
                    self._draw_sweep(record.load_snapshot(len(record.snapshot_paths) - 1))
            except RunError as exc:
                self.show_banner(str(exc))
            return
        self._record = record
        if not keep_curve:
            self._reset_training_views()
            self._record = record
            self._add_metrics(record.metrics)
            try:
                for i in range(len(record.snapshot_paths)):
                    self._add_heat_row(record.load_snapshot(i))
            except RunError as exc:
                self.show_banner(str(exc))
            self.form.set_value(record.config)
        elif len(record.snapshot_paths) > len(self._heat_steps):
            # a live run drew only the snapshots the screen had time for: the record has them all
            rows, steps = self._heat_rows, self._heat_steps
            self._heat_rows, self._heat_steps = {}, []
            try:
                for i in range(len(record.snapshot_paths)):
                    self._add_heat_row(record.load_snapshot(i))
            except RunError:
                self._heat_rows, self._heat_steps = rows, steps
            self._redraw_cell_views()
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=not keep_curve)

    def _show_recorded(self, index: int) -> None:
        snap = self.recorded_snapshot(index)
        if isinstance(snap, RnnCompareSnapshot):
            self._draw_snapshot(snap)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._draw_pending()
        if self._probe_due:
            self._run_probe()
        for p in (self.loss_panel, self.wsv_panel, self.sweep_panel):
            p.redraw_if_visible()


def _probe_cells(cfg: RnnCompareConfig) -> dict:
    """Gradient flow of a fresh network of every chosen cell (runs in a worker thread)."""
    from ...analysis.gradient_flow import initial_gradient_flow

    return {cell: initial_gradient_flow(cell, cfg.activation, cfg.hidden, cfg.length, cfg.weight_scale,
                                        forget_bias=cfg.forget_bias, seed=cfg.seed) for cell in cfg.cells()}


def _states_for_text(cfg, alphabet, params, text):
    """Gates and states of one trained cell on typed text, and the labels of its time steps."""
    from ...training.jobs.rnn_job import encode_input, states_for_input

    ids = encode_input(cfg, alphabet, text)
    states = states_for_input(cfg, params, ids)
    mapped = {("h" if k == "hidden" else "c" if k == "cell" else k): v for k, v in states.items()}
    labels = tuple(alphabet[i] if 0 <= i < len(alphabet) else "?" for i in ids)
    return mapped, labels
