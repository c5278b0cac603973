"""Attention tab: train a tiny GPT live, see every head's attention on any text, positions, sampling, and cost."""
from __future__ import annotations

import html
import threading

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
                               QSplitter, QTabWidget, QTextEdit, QVBoxLayout, QWidget)
from superqt.utils import FunctionWorker

from ...training.jobs.gpt_job import (VAL_EVERY, VISIBLE, GptConfig, GptJob, GptSnapshot, attention_for_text,
                                      generate_text, load_model, next_token_probs)
from ...training.record import RunError, RunRecord
from ...training.runner import Tick
from .. import theme
from ..app_state import AppState
from ..widgets.attention_grid import AttentionMapPanel, AttentionView, TokenLinksPanel, display_cap
from ..widgets.control_bar import ControlBar
from ..widgets.corpus_box import CorpusBox
from ..widgets.frame_budget import FrameBudget
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from .cost_page import CostPage
from .job_tab import JobTab, side_panel

MODEL_LOCK = threading.Lock()  # the job module caches one rebuilt model: one worker at a time uses it
MEMORY_LIMIT = 3 * 2**30  # bytes that the matrices of a typed text may take (weights and scores, with copies)
BARS = 20
HIT = "best head on the task's key (probe)"
FROM_VISIBLE = {v: k for k, v in VISIBLE.items()}


class AttentionTab(JobTab):
    """The live heatmaps follow the job or the timeline; typed text, positions, sampling follow the shown model."""

    kinds = ("gpt",)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._pending: GptSnapshot | None = None
        self._last: GptSnapshot | None = None
        self._snap_view: AttentionView | None = None
        self._typed_text: str | None = None  # the text the heatmaps show instead of the probe (None: the probe)
        self._typed_view: AttentionView | None = None
        self._query_auto = True  # the token view follows the last position until the user picks a query
        self._text_epoch = 0  # a result of an older epoch (before the user typed or went back) is not shown
        self._workers: dict[str, FunctionWorker | None] = {"text": None, "positions": None, "generate": None}
        self._again: dict[str, tuple | None] = {"text": None, "positions": None}
        self._pos_key = None
        self._pos_due = True
        self._val_steps: set[int] = set()
        self.next_probs: tuple[tuple[str, ...], np.ndarray] | None = None

        self.form = ParamForm(GptConfig)
        self.corpus_box = CorpusBox(state, "builtin:austen")
        self.controls = ControlBar(self.runner, owner=self)
        self.text_edit = QLineEdit()
        self.text_edit.setPlaceholderText("type a text, then Enter")
        self.text_edit.setToolTip("Show the attention of the model on the timeline on this text (no length limit; "
                                  "long texts are drawn at a lower resolution)")
        self.probe_button = QPushButton("Show the probe")
        self.probe_button.setToolTip("Go back to the text the training snapshots record")
        self.record_box = QCheckBox("Record this text while training")
        self.record_box.setToolTip("Train with this text as the probe whose attention every snapshot records, "
                                   "so that the timeline shows how its pattern formed")
        self.mode_box = QComboBox()
        self.mode_box.addItem("weights: softmax(QKᵀ/√d_k)", "weights")
        self.mode_box.addItem("scores: QKᵀ/√d_k", "scores")
        self.layer_box, self.head_box, self.query_box = QSpinBox(), QSpinBox(), QSpinBox()
        for box, tip in ((self.layer_box, "Layer of the enlarged head (or click a tile)"),
                         (self.head_box, "Head shown enlarged (or click a tile)"),
                         (self.query_box, "Query position of the token view (or click a row of the enlarged head)")):
            box.setToolTip(tip)
            box.setRange(1, 1)
        self.query_box.setRange(0, 0)
        self.query_label = QLabel("")
        self.summary = QLabel("Press Train: a tiny GPT learns the task, and its attention appears on the right.")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)

        left = QWidget()
        left_lay = QVBoxLayout(left)
        box = QGroupBox("Model and task")
        box_lay = QVBoxLayout(box)
        box_lay.addWidget(self.form)
        self.corpus_row = QWidget()
        corpus_lay = QFormLayout(self.corpus_row)
        corpus_lay.setContentsMargins(0, 0, 0, 0)
        corpus_lay.addRow("Corpus", self.corpus_box)
        box_lay.addWidget(self.corpus_row)
        left_lay.addWidget(box)
        view_box = QGroupBox("What the heatmaps show")
        view_lay = QFormLayout(view_box)
        view_lay.addRow("Text", self.text_edit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.probe_button)
        buttons.addStretch(1)
        view_lay.addRow(buttons)
        view_lay.addRow(self.record_box)
        view_lay.addRow("Colour", self.mode_box)
        head_row = QHBoxLayout()
        for text, w in (("Layer", self.layer_box), ("Head", self.head_box)):
            head_row.addWidget(QLabel(text))
            head_row.addWidget(w, 1)
        view_lay.addRow(head_row)
        query_row = QHBoxLayout()
        query_row.addWidget(self.query_box, 1)
        query_row.addWidget(self.query_label, 1)
        view_lay.addRow("Query", query_row)
        left_lay.addWidget(view_box)
        left_lay.addWidget(self.summary)
        left_lay.addStretch(1)
        scroll = side_panel(left, 320, 360)

        self.pages = QTabWidget()
        self.pages.addTab(self._attention_page(), "Attention")
        self.pages.addTab(self._training_page(), "Training")
        self.pages.addTab(self._positions_page(), "Positions")
        self.pages.addTab(self._generate_page(), "Generate")
        self.cost = CostPage(state, self.show_banner)
        self.pages.addTab(self.cost, "Cost")
        self.timeline = Timeline()
        self.timeline.indexChanged.connect(self._show_recorded)
        right = QVBoxLayout()
        right.addWidget(self.controls)
        right.addWidget(self.banner)
        right.addWidget(self.pages, 1)
        right.addWidget(self.timeline)
        lay = QHBoxLayout(self)
        lay.addWidget(scroll)
        lay.addLayout(right, 1)

        self.frames = FrameBudget(self._draw_pending, max_fps=15, share=0.08, parent=self)
        self.form.valueChanged.connect(self._form_changed)
        self.form.liveValueChanged.connect(self.on_live_value)
        self.controls.startRequested.connect(self.start_training)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self.text_edit.returnPressed.connect(self.show_text)
        self.probe_button.clicked.connect(self.show_probe)
        self.mode_box.currentIndexChanged.connect(lambda _i: self._draw_views())
        for box in (self.layer_box, self.head_box):
            box.valueChanged.connect(lambda _v: self._draw_views())
        self.query_box.valueChanged.connect(self._query_chosen)
        self.grid_panel.cellClicked.connect(lambda layer, head, _q, _k: self.choose_head(layer, head))
        self.head_panel.cellClicked.connect(lambda _l, _h, q, _k: self.query_box.setValue(q))
        self.links_panel.queryChosen.connect(self.query_box.setValue)
        self.pages.currentChanged.connect(lambda _i: self._page_shown())
        self._form_changed(self.form.value())

    # -- pages ------------------------------------------------------------------------------------------------
    def _attention_page(self) -> QWidget:
        self.grid_panel = AttentionMapPanel("All layers and heads")
        self.head_panel = AttentionMapPanel("Enlarged head", tiles_axes=False)
        self.links_panel = TokenLinksPanel()
        self.view_info = QLabel("The heatmaps appear once the model has trained a step (press Train).")
        self.view_info.setWordWrap(True)
        self.top_split = top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.grid_panel)
        top.addWidget(self.head_panel)
        top.setSizes([520, 480])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.links_panel)
        split.setSizes([520, 200])
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(self.view_info)
        lay.addWidget(split, 1)
        return page

    def _training_page(self) -> QWidget:
        self.loss_panel = PlotPanel("Loss", "step", "cross-entropy", y_unit="nats")
        self.train_curve = self.loss_panel.add_curve("training loss")
        self.val_curve = self.loss_panel.add_curve("validation loss", width=3)
        self.acc_panel = PlotPanel("Accuracy and attention on the right key", "step", "share")
        self.acc_curve = self.acc_panel.add_curve("validation accuracy")
        self.acc_panel.legend.setOffset((10, 10))  # top left: early in training accuracy is low, so it is empty
        self.acc_panel.plot_item.setYRange(0, 1.02)
        self.chance_line = pg.InfiniteLine(angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine),
                                           label="chance", labelOpts={"position": 0.92})
        self.chance_line.setVisible(False)
        self.acc_panel.plot_item.addItem(self.chance_line)
        self.sample_label = QLabel("")
        self.sample_label.setWordWrap(True)
        self.sample_label.setTextFormat(Qt.TextFormat.RichText)
        page = QWidget()
        lay = QVBoxLayout(page)
        plots = QHBoxLayout()
        plots.addWidget(self.loss_panel)
        plots.addWidget(self.acc_panel)
        lay.addLayout(plots, 1)
        lay.addWidget(self.sample_label)
        return page

    def _positions_page(self) -> QWidget:
        self.pe_panel = PlotPanel("Positional encoding", "dimension i", "position p")
        self.pe_panel.add_heatmap("pe", "CET-D1")
        self.sim_panel = PlotPanel("Cosine similarity of positions", "position", "position")
        self.sim_panel.add_heatmap("sim", "CET-D1")
        for panel, header in ((self.pe_panel, ["position", "dimension", "value"]),
                              (self.sim_panel, ["position_a", "position_b", "cosine"])):
            panel.plot_item.invertY(True)
            panel.set_data_provider(lambda p=panel, h=header: _heatmap_rows(p, h))
        self.pos_info = QLabel("")
        self.pos_info.setWordWrap(True)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(self.pos_info)
        plots = QHBoxLayout()
        plots.addWidget(self.pe_panel)
        plots.addWidget(self.sim_panel)
        lay.addLayout(plots, 1)
        return page

    def _generate_page(self) -> QWidget:
        self.prompt_edit = QLineEdit()
        self.prompt_edit.setPlaceholderText("prompt")
        self.length_box = QSpinBox()
        self.length_box.setRange(1, 5000)
        self.length_box.setValue(64)
        self.temperature_box = QDoubleSpinBox()
        self.temperature_box.setRange(0.05, 5.0)
        self.temperature_box.setSingleStep(0.1)
        self.temperature_box.setValue(0.8)
        self.temperature_box.setToolTip("Logits are divided by this: low is nearly greedy, high is nearly uniform")
        self.topk_box = QSpinBox()
        self.topk_box.setRange(0, 1000)
        self.topk_box.setSpecialValueText("all")
        self.topk_box.setToolTip("Sample only among the k most likely characters (all: no limit; 1: greedy)")
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Sample a continuation of the prompt from the model on the timeline")
        self.sample_view = QTextEdit()
        self.sample_view.setReadOnly(True)
        self.sample_view.setMaximumHeight(130)
        self.sample_view.setPlaceholderText("The sampled text appears here: the prompt in grey, then what the model "
                                            "wrote.")
        self.bars_panel = PlotPanel("Next character after the prompt", "character", "probability")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=theme.curve_color(0))
        self.bars_panel.plot_item.addItem(self.bars)
        self.bars_panel.plot_item.getAxis("left").enableAutoSIPrefix(False)
        self.bars_panel.set_data_provider(self._bars_csv)
        row = QHBoxLayout()
        row.addWidget(QLabel("Prompt"))
        row.addWidget(self.prompt_edit, 3)
        for text, w in (("Characters", self.length_box), ("Temperature", self.temperature_box),
                        ("Top-k", self.topk_box)):
            row.addWidget(QLabel(text))
            row.addWidget(w)
        row.addWidget(self.generate_button)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addLayout(row)
        lay.addWidget(self.sample_view)
        lay.addWidget(self.bars_panel, 1)
        self.generate_button.clicked.connect(self.generate)
        self.prompt_edit.returnPressed.connect(self.generate)
        return page

    @property
    def main_panel(self) -> PlotPanel:
        """The panel that File > Export figure writes: the first of the page in front."""
        return (self.grid_panel, self.loss_panel, self.pe_panel, self.bars_panel,
                self.cost.time_panel)[self.pages.currentIndex()]

    # -- form and corpus --------------------------------------------------------------------------------------
    def _form_changed(self, _cfg=None) -> None:
        cfg = self.form.last_valid_value()
        if cfg is None:
            return
        self.corpus_row.setVisible(cfg.task == "characters")
        if self._last is None:
            self._update_positions()

    # -- training ----------------------------------------------------------------------------------------------
    def start_training(self) -> None:
        if not self.form_is_ready():
            return
        cfg = self.form.value()
        cfg.corpus = self.corpus_box.currentData()
        text = self.text_edit.text()
        cfg.probe_text = text if self.record_box.isChecked() and text else ""
        job = GptJob(cfg, self.state.device)
        self._reset_training_views()
        self.start_job(job)

    def _reset_training_views(self) -> None:
        self.show_banner("")
        for curve in (self.train_curve, self.val_curve, self.acc_curve):
            curve.clear()
        self.acc_panel.remove_curve(HIT)
        for panel in (self.loss_panel, self.acc_panel):
            panel.request_redraw()
        self._val_steps = set()
        self.timeline.set_steps([])
        self._record = None

    def _on_progress(self, tick: Tick) -> None:
        if self._mine() and tick.metrics:
            self._add_metrics(tick.metrics)

    def _add_metrics(self, metrics: dict) -> None:
        steps = np.asarray(metrics.get("step", []), dtype=np.float64)
        for name, curve in (("loss", self.train_curve), ("val_loss", self.val_curve)):
            if name in metrics:
                values = np.asarray(metrics[name], dtype=np.float64)
                keep = np.isfinite(values)
                curve.append(steps[keep], values[keep])
        self.loss_panel.request_redraw()
        self.loss_panel.redraw_if_visible()

    def _on_snapshot(self, snap) -> None:
        if not self._mine() or not isinstance(snap, GptSnapshot):
            return
        self._add_accuracy(snap)
        self._pending = snap
        if self.isVisible():
            self.frames.request()

    def _add_accuracy(self, snap: GptSnapshot) -> None:
        """One point per validation (a snapshot carries the accuracy of the last one) and the probe's hit rate."""
        steps = getattr(self.form.last_valid_value(), "steps", snap.step)
        val_step = snap.step if snap.step >= steps else snap.step // VAL_EVERY * VAL_EVERY
        if val_step not in self._val_steps and (not len(self.acc_curve) or val_step > self.acc_curve.x[-1]):
            self._val_steps.add(val_step)
            self.acc_curve.append(val_step, snap.accuracy)
        expected = np.asarray(snap.expected_keys)
        hits = self.acc_panel.curves.get(HIT)
        if (expected >= 0).any() and (hits is None or not len(hits) or snap.step > hits.x[-1]):
            from ...data.attention_tasks import attention_hit_rate

            rate = max(attention_hit_rate(layer, expected) for layer in snap.attention)
            (hits or self.acc_panel.add_curve(HIT)).append(snap.step, rate)
        self.chance_line.setPos(snap.chance)
        self.chance_line.setVisible(True)
        self.acc_panel.request_redraw()

    def _draw_pending(self) -> None:
        snap, self._pending = self._pending, None
        if snap is None or not self.isVisible():
            return
        self._show_snapshot(snap)

    def _show_snapshot(self, snap: GptSnapshot) -> None:
        """Make `snap` the model that every view shows."""
        self._last = snap
        expected = np.asarray(snap.expected_keys)
        self._snap_view = AttentionView(snap.tokens, snap.attention, snap.scores, f"probe at step {snap.step:,}",
                                        expected if (expected >= 0).any() else None)
        loss = f"{snap.loss:.3f}" if np.isfinite(snap.loss) else "–"
        self.summary.setText(
            f"<b>Step {snap.step:,}</b> · loss {loss} · validation {snap.val_loss:.3f}<br>"
            f"accuracy {snap.accuracy:.0%} (chance {snap.chance:.0%})")
        self._show_sample(snap)
        if not self.prompt_edit.text():
            self.prompt_edit.setText(_default_prompt(snap))
        if self._typed_text is not None:
            self._request_text(self._typed_text)
        self._draw_views()
        self._pos_due = True
        self._page_shown()
        for p in (self.loss_panel, self.acc_panel):
            p.redraw_if_visible()

    def _show_sample(self, snap: GptSnapshot) -> None:
        if snap.target:
            marked = "".join(html.escape(c) if c == t else f"<span style='color:#d55e00'>{html.escape(c)}</span>"
                             for c, t in zip(snap.sample, snap.target))
            self.sample_label.setText(f"<b>Step {snap.step:,}</b>, the model's answer on the probe: <tt>{marked}"
                                      f"</tt> · right answer: <tt>{html.escape(snap.target)}</tt> (wrong in orange)")
        elif snap.sample:
            text = html.escape(snap.sample).replace("\n", "⏎")
            self.sample_label.setText(f"<b>Step {snap.step:,}</b>, the model writes: <tt>{text}</tt>")

    def job_ended(self, tick: Tick) -> None:
        for p in (self.loss_panel, self.acc_panel):
            p.redraw_if_visible()

    # -- the attention views ------------------------------------------------------------------------------------
    def current_view(self) -> AttentionView | None:
        """What the heatmaps show: the typed text's attention when there is one, else the snapshot's probe."""
        if self._typed_text is not None and self._typed_view is not None:
            return self._typed_view
        return self._snap_view

    def mode(self) -> str:
        return self.mode_box.currentData()

    def choose_head(self, layer: int, head: int) -> None:
        """Enlarge one layer's head (0-based)."""
        self.layer_box.setValue(layer + 1)
        self.head_box.setValue(head + 1)

    def _query_chosen(self, _value: int) -> None:
        self._query_auto = False
        self._draw_views()

    def _draw_views(self) -> None:
        view = self.current_view()
        if view is None:
            return
        L, H, T = view.attention.shape[0], view.attention.shape[1], view.length
        for box, top in ((self.layer_box, L), (self.head_box, H)):
            box.blockSignals(True)
            box.setRange(1, top)
            box.blockSignals(False)
        self.query_box.blockSignals(True)
        self.query_box.setRange(0, T - 1)
        if self._query_auto:
            self.query_box.setValue(T - 1)
        self.query_box.blockSignals(False)
        layer, head, q, mode = self.layer_box.value() - 1, self.head_box.value() - 1, self.query_box.value(), self.mode()
        grid, k = view.pooled(mode, display_cap(L * H))
        if grid.shape[:2] != self.grid_panel.values.shape[:2]:  # a wide grid gets more of the width
            total = sum(self.top_split.sizes()) or 1000
            share = 0.5 if H <= L else 0.58 if H <= 2 * L else 0.66
            self.top_split.setSizes([int(total * share), total - int(total * share)])
        self.grid_panel.set_maps(grid, k, view.tokens, range(L), range(H), mode)
        self.grid_panel.select(layer, head)
        self.grid_panel.set_title(f"All layers and heads: {mode} ({view.source})")
        big, kb = view.pooled(mode, display_cap(1))
        self.head_panel.set_maps(big[layer:layer + 1, head:head + 1], kb, view.tokens, [layer], [head], mode)
        self.head_panel.set_title(f"Layer {layer + 1} · head {head + 1}: {mode}")
        rows = np.flatnonzero(view.expected >= 0) if view.expected is not None and kb == 1 else np.zeros(0, int)
        self.head_panel.set_markers(rows, view.expected[rows] if rows.size else rows)
        masked = np.isnan(view.scores[layer, head, q])
        self.links_panel.show_query(view.tokens, view.attention[layer, head, q], masked, q)
        self.links_panel.set_title(f"Token view: where query {q} ‘{view.tokens[q]}’ looks in layer {layer + 1}, "
                                   f"head {head + 1} (line width ∝ weight)")
        self.query_label.setText(f"‘{view.tokens[q]}’ of {T}")
        notes = [f"{view.source}: {T:,} tokens, query (rows) attends to key (columns)."]
        if max(k, kb) > 1:
            notes.append(f"Long text: the grid is shown at 1/{k} resolution, the enlarged head at 1/{kb} (each cell "
                         f"the maximum of its block; hover names the positions).")
        if view.has_masked:
            notes.append("Grey: masked keys (the future, under the causal mask).")
        if rows.size:
            notes.append("Red circles: where the task needs a head to look.")
        notes.append(self._outside_note(view, layer, head, q))
        if view.note:
            notes.append(view.note)
        self.view_info.setText(" ".join(n for n in notes if n))
        for panel in (self.grid_panel, self.head_panel, self.links_panel):
            panel.request_redraw()
            panel.redraw_if_visible()

    def _outside_note(self, view: AttentionView, layer: int, head: int, q: int) -> str:
        """What the token view leaves out: the share of the weight on keys outside its window, and the top one."""
        share = self.links_panel.outside
        if share <= 0.005:
            return ""
        a, b = self.links_panel.window
        row = np.array(view.attention[layer, head, q], dtype=np.float64)
        row[a:b] = -1.0
        j = int(row.argmax())
        shown = ">99%" if share > 0.99 else f"{share:.0%}"
        return (f"Token view: {shown} of the weight falls outside the {b - a} positions shown; the strongest key "
                f"there is {j} ‘{view.tokens[j]}’ ({row[j]:.2g}).")

    def show_text(self) -> None:
        """Show the attention of the shown model on the typed text (in the background; the newest text wins)."""
        text = self.text_edit.text()
        if not text:
            self.show_probe()
            return
        snap = self._last
        if snap is None:
            self.show_banner("Train (or replay a recorded run) first: the attention is that of a trained model.")
            return
        T = min(len(text), snap.context) if snap.positional == "learned" else len(text)
        need = 5 * 4 * snap.layers * snap.heads * T * T
        if need > MEMORY_LIMIT:
            self.show_banner(f"A text of {T:,} characters needs about {need / 2**30:.1f} GB for the attention of "
                             f"{snap.layers * snap.heads} heads: shorten it (up to ~"
                             f"{int((MEMORY_LIMIT / (20 * snap.layers * snap.heads)) ** 0.5):,} characters).")
            return
        self._text_epoch += 1
        self._request_text(text)

    def _request_text(self, text: str) -> None:
        self._start_or_queue("text", (self._last, text, self._text_epoch))

    def show_probe(self) -> None:
        """Go back to the probe of the snapshot on display."""
        self._text_epoch += 1
        self._typed_text, self._typed_view = None, None
        self._again["text"] = None
        self.show_banner("")
        self._draw_views()

    def _start_or_queue(self, name: str, request: tuple) -> None:
        """Run one background request of a kind at a time; a request made meanwhile replaces the queued one."""
        if self._workers[name] is not None:
            self._again[name] = request
            return
        if name == "text":
            snap, text, epoch = request
            worker = FunctionWorker(_attention_view, snap, text)
            worker.returned.connect(lambda view, r=request: self._text_done(*r, view))
            worker.errored.connect(lambda exc, e=epoch: self.show_banner(str(exc)) if e == self._text_epoch else None)
        else:
            worker = FunctionWorker(_position_matrices, *request)
            worker.returned.connect(lambda result, r=request: self._positions_done(r, result))
            worker.errored.connect(lambda exc: self.show_banner(str(exc)))
        worker.finished.connect(lambda n=name: self._worker_done(n))
        self._workers[name] = worker
        worker.start()

    def _worker_done(self, name: str) -> None:
        self._workers[name] = None
        again, self._again[name] = self._again.get(name), None
        if again is not None:
            self._start_or_queue(name, again)

    def _text_done(self, snap: GptSnapshot, text: str, epoch: int, view: AttentionView) -> None:
        if epoch != self._text_epoch:
            return  # the user typed another text, or went back to the probe, meanwhile
        self._typed_text, self._typed_view = text, view
        view.source = f"your text at step {snap.step:,}"
        self.show_banner("")
        self._draw_views()

    # -- positional encoding ----------------------------------------------------------------------------------
    def _page_shown(self) -> None:
        page = self.pages.currentIndex()
        if page == 2 and self._pos_due:
            self._update_positions()
        for panel in (self.loss_panel, self.acc_panel, self.grid_panel, self.head_panel, self.links_panel):
            panel.redraw_if_visible()

    def _update_positions(self) -> None:
        """Draw the encoding of the model on the timeline (before any training: of the form's settings)."""
        if not (self.isVisible() and self.pages.currentIndex() == 2):
            self._pos_due = True
            return
        self._pos_due = False
        snap = self._last
        cfg = snap if snap is not None else self.form.last_valid_value()
        if cfg is None:
            return
        kind, context, width = cfg.positional, cfg.context, cfg.width
        if kind == "learned" and snap is None:
            self.pos_info.setText("A learned encoding is a table of the model's parameters: it appears once the "
                                  "model has trained (press Train).")
            return
        key = (kind, context, width, id(snap.param_vector) if kind == "learned" else None)
        if key != self._pos_key:
            self._start_or_queue("positions", (kind, context, width, snap if kind == "learned" else None))

    def _positions_done(self, request: tuple, result) -> None:
        kind, context, width, snap = request
        matrix, similarity = result
        self._pos_key = (kind, context, width, id(snap.param_vector) if snap is not None else None)
        peak = float(np.abs(matrix).max()) or 1.0
        self.pe_panel.set_heatmap("pe", matrix, levels=(-peak, peak), rect=(-0.5, -0.5, width, context))
        self.sim_panel.set_heatmap("sim", similarity, levels=(-1.0, 1.0), rect=(-0.5, -0.5, context, context))
        names = {"sinusoidal": "Sinusoidal encoding PE[p, i]", "learned": "Learned encoding (the trained table)",
                 "none": "No positional encoding"}
        self.pe_panel.set_title(names[kind])
        self.pe_panel.plot_item.setRange(xRange=(-0.5, width - 0.5), yRange=(-0.5, context - 0.5), padding=0.02)
        self.sim_panel.plot_item.setRange(xRange=(-0.5, context - 0.5), yRange=(-0.5, context - 0.5), padding=0.02)
        texts = {
            "sinusoidal": "PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)): low dimensions "
                          "turn fast, high ones slowly. Nearby positions have similar encodings (the dark diagonal band).",
            "learned": f"The model's own table of {context} × {width} numbers at step {snap.step:,}, learned from a "
                       f"random start: unlike the sinusoids, neighbours need not be alike." if snap is not None else "",
            "none": "This model adds no positional encoding: attention sees a bag of tokens, and only the causal "
                    "mask (if on) tells positions apart. The matrix is all zeros. Train the reverse task with and "
                    "without an encoding: without, accuracy stays far below 100% (about 20% against 100% in 250 "
                    "steps of a 2-layer model).",
        }
        self.pos_info.setText(texts[kind] + " Blue: negative, red: positive.")

    # -- generation ---------------------------------------------------------------------------------------------
    def generate(self) -> None:
        """Sample a continuation of the prompt and the next character's distribution (in the background)."""
        snap = self._last
        if snap is None:
            self.show_banner("Train (or replay a recorded run) first: the text is sampled from a trained model.")
            return
        if self._workers["generate"] is not None:
            return
        prompt = self.prompt_edit.text() or _default_prompt(snap)
        self.prompt_edit.setText(prompt)
        temperature, top_k = self.temperature_box.value(), self.topk_box.value() or None
        worker = FunctionWorker(_generate, snap, prompt, self.length_box.value(), temperature, top_k)
        worker.returned.connect(lambda result: self._generated(prompt, temperature, top_k, result))
        worker.errored.connect(lambda exc: self.show_banner(str(exc)))
        worker.finished.connect(self._generate_finished)
        self._workers["generate"] = worker
        self.generate_button.setEnabled(False)
        worker.start()

    def _generate_finished(self) -> None:
        self._workers["generate"] = None
        self.generate_button.setEnabled(True)

    def _generated(self, prompt: str, temperature: float, top_k, result) -> None:
        text, labels, probs = result
        self.show_banner("")
        shown = lambda s: html.escape(s).replace("\n", "⏎<br>")  # noqa: E731
        self.sample_view.setHtml(f"<pre style='white-space: pre-wrap'><span style='color:#888888'>{shown(prompt)}"
                                 f"</span><b>{shown(text)}</b></pre>")
        keep = min(BARS, int((probs > 0).sum()))
        self.next_probs = (tuple(labels[:keep]), np.asarray(probs[:keep], dtype=np.float64))
        x = np.arange(keep, dtype=float)
        self.bars.setOpts(x=x, height=self.next_probs[1], width=0.8)
        self.bars_panel.plot_item.getAxis("bottom").setTicks([[(i, s) for i, s in enumerate(self.next_probs[0])]])
        self.bars_panel.plot_item.setRange(xRange=(-0.7, max(keep, 1) - 0.3),
                                           yRange=(0, max(0.05, float(probs[0]) * 1.06)), padding=0.02)
        limit = f", top-k {top_k}" if top_k else ""
        self.bars_panel.set_title(f"Next character after the prompt (temperature {temperature:g}{limit})")

    def _bars_csv(self):
        if self.next_probs is None:
            return ["rank", "character", "probability"], []
        labels, probs = self.next_probs
        return ["rank", "character", "probability"], [(i + 1, s, float(p)) for i, (s, p) in enumerate(zip(labels, probs))]

    # -- replay ------------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Replay a recorded run: its curves, and its snapshots on the timeline."""
        self._record = record
        if not keep_curve:
            self._reset_training_views()
            self._record = record
            self.form.set_value(record.config)
            self._add_metrics(record.metrics)
            try:
                for i in range(len(record.snapshot_paths)):
                    self._add_accuracy(record.load_snapshot(i))
            except RunError as exc:
                self.show_banner(str(exc))
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=not keep_curve)

    def _show_recorded(self, index: int) -> None:
        snap = self.recorded_snapshot(index)
        if isinstance(snap, GptSnapshot):
            self._show_snapshot(snap)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        window = self.window()
        if window is not self and not window.property("attentionFilter"):
            window.installEventFilter(self)
            window.setProperty("attentionFilter", True)
        self._draw_pending()
        self._page_shown()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Close:
            self.cost.stop()  # a measurement stops at its next timed run
        return False


def _heatmap_rows(panel: PlotPanel, header: list[str]):
    """A heatmap's cells as (row, column, value) rows."""
    image = next(iter(panel.heatmaps.values())).image
    if image is None:
        return header, []
    return header, [(r, c, float(image[r, c])) for r in range(image.shape[0]) for c in range(image.shape[1])]


def _default_prompt(snap: GptSnapshot) -> str:
    """A prompt from the probe: for a task its first half (and the separator), else its first 16 characters."""
    text = "".join(FROM_VISIBLE.get(t, t) for t in snap.tokens)
    return text[: snap.context // 2 + 1] if snap.task != "characters" else text[:16]


def _attention_view(snap: GptSnapshot, text: str) -> AttentionView:
    """The attention of a snapshot's model on a text, pooled for display (runs in a worker thread)."""
    with MODEL_LOCK:
        tokens, attention, scores = attention_for_text(snap, snap.alphabet, snap.param_vector, text)
    note = ""
    if len(tokens) < len(text):
        note = (f"Learned positions exist only up to the context: the last {len(tokens)} of your {len(text):,} "
                f"characters are read.")
    view = AttentionView(tokens, attention, scores, "your text", note=note)
    L, H = attention.shape[:2]
    return view.prepare((display_cap(L * H), display_cap(1)))


def _position_matrices(kind: str, context: int, width: int, snap: GptSnapshot | None):
    """(encoding (context, width), cosine similarity (context, context)) (runs in a worker thread)."""
    from ...models.transformer import position_similarity, positional_encoding_matrix

    model = None
    if kind == "learned":
        with MODEL_LOCK:
            model = load_model(snap, snap.alphabet, snap.param_vector)
            matrix = positional_encoding_matrix(kind, context, width, model)
    else:
        matrix = positional_encoding_matrix(kind, context, width)
    return matrix, position_similarity(matrix)


def _generate(snap: GptSnapshot, prompt: str, n: int, temperature: float, top_k):
    """(continuation, next-character labels, probabilities) (runs in a worker thread)."""
    with MODEL_LOCK:
        text = generate_text(snap, snap.alphabet, snap.param_vector, prompt, n, temperature, top_k)
        labels, probs = next_token_probs(snap, snap.alphabet, snap.param_vector, prompt, temperature, top_k)
    return text, labels, probs
