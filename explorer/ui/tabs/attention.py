"""Attention tab: a thin binding of the form, the view controls and the pages to `AttentionState` (a tiny GPT
trained live: every head's attention on the probe or any text, positions, sampling, and cost)."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...state.attention import AttentionState, text_view
from ...training.jobs.gpt_job import GptConfig, GptJob, GptSnapshot, attention_for_text
from ...training.record import RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..tasks import TaskRunner
from ..widgets.animation_dialog import export_animation
from ..widgets.attention_grid import FigureInteractionPanel
from ..widgets.control_bar import ControlBar
from ..widgets.corpus_box import CorpusBox
from ..widgets.frame_budget import FrameBudget
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from .attention_controls import HeatmapControls
from .attention_generate import MODEL_LOCK, GeneratePage, short_error
from .cost_page import CostPage
from .job_tab import FitPages, JobTab, run_source, side_panel

PAGES = ("Attention", "Training", "Positions", "Generate", "Cost")
PAGE_OF = {"grid": 0, "head": 0, "tokens": 0, "loss": 1, "accuracy": 1, "leak": 1, "positions": 2, "similarity": 2,
           "next": 3}
SHOWN = tuple(PAGE_OF)  # every figure the tab draws from its state


def read_text(snap: GptSnapshot, text: str):
    """The attention of a snapshot's model on a text, pooled for display (runs in a worker thread)."""
    with MODEL_LOCK:
        tokens, attention, scores = attention_for_text(snap, snap.alphabet, snap.param_vector, text)
    return text_view(int(snap.step), text, tokens, attention, scores)


class AttentionTab(JobTab):
    """The heatmaps follow the job or the timeline; typed text, positions and sampling follow the model on show."""

    kinds = AttentionState.kinds

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.view_state = AttentionState()
        self.tasks = TaskRunner(self, threads=2)  # a long cost measurement leaves room for reading a text
        self._dirty: set[str] = set(SHOWN)
        self._text_asked = None

        self.form = ParamForm(GptConfig)
        self.corpus_box = CorpusBox(state, "builtin:austen")
        self.controls = ControlBar(self.runner, owner=self)
        self.view_box = vb = HeatmapControls()
        self.text_edit, self.probe_button, self.record_box = vb.text_edit, vb.probe_button, vb.record_box
        self.mode_box, self.layer_box, self.head_box, self.query_box = vb.mode_box, vb.layer_box, vb.head_box, \
            vb.query_box
        self.summary = QLabel(self.view_state.summary_html())
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
        left_lay.addWidget(self.view_box)
        left_lay.addWidget(self.summary)
        left_lay.addStretch(1)
        scroll = side_panel(left, 320, 360)

        vs = self.view_state
        self.grid_panel = FigureInteractionPanel("All layers and heads", lambda x, y: vs.readout("grid", x, y))
        self.head_panel = FigureInteractionPanel("Enlarged head", lambda x, y: vs.readout("head", x, y))
        self.links_panel = FigureInteractionPanel("Token view", lambda x, y: vs.readout("tokens", x, y))
        self.loss_panel, self.acc_panel = PlotPanel("Loss"), PlotPanel("Accuracy")
        self.pe_panel, self.sim_panel = PlotPanel("Positional encoding"), PlotPanel("Position similarity")
        self.leak_panel = PlotPanel("Leak check")
        self.sample_label = QLabel("")
        self.sample_label.setWordWrap(True)
        self.sample_label.setTextFormat(Qt.TextFormat.RichText)
        self.generate_page = GeneratePage(vs, self.tasks, self.show_banner)
        self.cost = CostPage(state, self.tasks, self.show_banner)
        self.panels = {"grid": self.grid_panel, "head": self.head_panel, "tokens": self.links_panel,
                       "loss": self.loss_panel, "accuracy": self.acc_panel, "positions": self.pe_panel,
                       "similarity": self.sim_panel, "leak": self.leak_panel, "next": self.generate_page.bars_panel}
        for name in vs.figure_names:
            self.panels[name].set_animator(lambda path, n=name: self.animate(n, path))
        self.pages = FitPages()
        pages = (self._attention_page(),
                 self._pair_page(self.loss_panel, self.acc_panel, self.sample_label, self.leak_panel),
                 self._pair_page(self.pe_panel, self.sim_panel), self.generate_page, self.cost)
        for title, page in zip(PAGES, pages, strict=True):
            self.pages.addTab(page, title)
        self.timeline = Timeline()
        self.timeline.indexChanged.connect(self._timeline_moved)
        right = QVBoxLayout()
        right.addWidget(self.controls)
        right.addWidget(self.banner)
        right.addWidget(self.pages, 1)
        right.addWidget(self.timeline)
        lay = QHBoxLayout(self)
        lay.addWidget(scroll)
        lay.addLayout(right, 1)

        self.frames = FrameBudget(self._draw_dirty, max_fps=15, share=0.08, parent=self)
        vs.changed.connect(self._state_changed)
        vs.message.connect(self.show_banner)
        self.form.valueChanged.connect(self._form_changed)
        self.form.liveValueChanged.connect(self.on_live_value)
        self.controls.startRequested.connect(self.start_training)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self.text_edit.returnPressed.connect(self.show_text)
        self.probe_button.clicked.connect(self.show_probe)
        self.mode_box.currentIndexChanged.connect(lambda _i: self._now(vs.set_mode, self.mode_box.currentData()))
        for box in (self.layer_box, self.head_box):
            box.valueChanged.connect(lambda _v: self.choose_head(self.layer_box.value() - 1, self.head_box.value() - 1))
        self.query_box.valueChanged.connect(lambda q: self._now(vs.set_query, q))
        self.grid_panel.clicked.connect(self._grid_clicked)
        self.head_panel.clicked.connect(self._head_clicked)
        self.links_panel.clicked.connect(self._links_clicked)
        for name in ("grid", "head"):
            self.panels[name].plotResized.connect(lambda w, h, n=name: vs.set_plot_size(n, w, h))
        self.pages.currentChanged.connect(lambda _i: self._draw_dirty())
        self._form_changed()

    # -- pages ------------------------------------------------------------------------------------------------
    def _attention_page(self) -> QWidget:
        self.top_split = top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.grid_panel)
        top.addWidget(self.head_panel)
        top.setSizes([520, 480])
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(self.links_panel)
        split.setSizes([520, 220])
        return split

    @staticmethod
    def _pair_page(a: PlotPanel, b: PlotPanel, below: QWidget | None = None, c: PlotPanel | None = None) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        plots = QHBoxLayout()
        for panel in (a, b, c) if c is not None else (a, b):
            plots.addWidget(panel)
        lay.addLayout(plots, 1)
        if below is not None:
            lay.addWidget(below)
        return page

    @property
    def main_panel(self) -> PlotPanel:
        """The panel that File > Export figure writes: the first of the page in front."""
        return (self.grid_panel, self.loss_panel, self.pe_panel, self.generate_page.bars_panel,
                self.cost.time_panel)[self.pages.currentIndex()]

    # -- binding: state -> widgets -------------------------------------------------------------------------------
    def _state_changed(self, names: tuple[str, ...]) -> None:
        self._dirty.update(names or SHOWN)
        if not names or "grid" in names:
            self._read_text_if_needed()
        if self.isVisible():
            self.frames.request()

    def _now(self, setter, *args) -> None:
        """Apply a choice of the user and draw its consequences at once (not at the next frame)."""
        setter(*args)
        self._draw_dirty()

    def _draw_dirty(self) -> None:
        """Draw the figures that changed on the page in front (the others when their page is shown)."""
        if not self.isVisible():
            return
        page = self.pages.currentIndex()
        if page == PAGE_OF["positions"]:
            self._form_changed()  # ParamForm.set_value (a test, a replayed run) emits nothing: read the form
        for name in [n for n in self._dirty if PAGE_OF[n] == page]:
            self._dirty.discard(name)
            self.panels[name].show_figure(self.view_state.figure(name))
            if name == "next":
                self.generate_page.show_result()
        self._sync_widgets()

    def _sync_widgets(self) -> None:
        vs = self.view_state
        self.summary.setText(vs.summary_html())
        self.sample_label.setText(vs.sample_html())
        self.generate_page.snapshot_shown()
        self.view_box.show_state(vs)

    # -- binding: widgets -> state -------------------------------------------------------------------------------
    def choose_head(self, layer: int, head: int) -> None:
        """Enlarge one layer's head (0-based)."""
        self._now(self.view_state.set_head, layer, head)

    def _grid_clicked(self, x: float, y: float) -> None:
        hit = self.view_state.hit("grid", x, y)
        if hit is not None:
            self.choose_head(hit[0], hit[1])

    def _head_clicked(self, x: float, y: float) -> None:
        hit = self.view_state.hit("head", x, y)
        if hit is not None:
            self._now(self.view_state.set_query, hit[2])

    def _links_clicked(self, x: float, y: float) -> None:
        q = self.view_state.query_at(x, y)
        if q is not None:
            self._now(self.view_state.set_query, q)

    def _form_changed(self, _cfg=None) -> None:
        cfg = self.form.last_valid_value()
        if cfg is None:
            return
        self.corpus_row.setVisible(cfg.task == "characters")
        self.view_state.set_form_config(cfg)

    def _timeline_moved(self, index: int) -> None:
        self._now(self.view_state.select, index)

    # -- the typed text --------------------------------------------------------------------------------------------
    def show_text(self) -> None:
        """Show the attention of the model on show on the typed text (in the background; the newest text wins)."""
        text = self.text_edit.text()
        if not text:
            self.show_probe()
            return
        problem = self.view_state.text_problem(text)
        if problem:
            self.show_banner(problem)
            return
        self.view_state.set_text(text)
        self._text_asked = None
        self._read_text_if_needed(force=True)

    def show_probe(self) -> None:
        """Go back to the probe of the snapshot on show."""
        self.tasks.cancel("text")
        self._text_asked = None
        self.show_banner("")
        self._now(self.view_state.set_text, "")

    def _read_text_if_needed(self, force: bool = False) -> None:
        """Read the typed text with the model on show unless that is done or under way (while training, a
        reading in progress finishes before the next starts, so that one always arrives)."""
        wanted = self.view_state.wanted_text()
        if wanted is None or (self.tasks.busy("text") and not force):
            return
        snap, text = wanted
        if self._text_asked == (id(snap), text) and not force:
            return
        self._text_asked = (id(snap), text)
        self.tasks.submit("text", read_text, snap, text, on_done=lambda view, s=snap: self._text_read(s, view),
                          on_error=lambda message, t=text: self._text_failed(t, message))

    def _text_read(self, snap: GptSnapshot, view) -> None:
        self.show_banner("")
        self._now(self.view_state.set_typed, snap, view)
        self._read_text_if_needed()  # the model on show may have moved on meanwhile

    def _text_failed(self, text: str, message: str) -> None:
        self.show_banner(short_error(message))
        self.view_state.text_failed(text)
        self._text_asked = None

    # -- training ----------------------------------------------------------------------------------------------
    def start_training(self) -> None:
        if not self.form_is_ready():
            return
        cfg = self.form.value()
        cfg.corpus = self.corpus_box.currentData()
        text = self.text_edit.text()
        cfg.probe_text = text if self.record_box.isChecked() and text else ""
        job = GptJob(cfg, self.state.device)  # a corpus in memory reaches it through the runner's context
        self.show_banner("")
        self.timeline.set_steps([])
        self._record = None
        self.view_state.reset(cfg)
        self.start_job(job)

    def _on_progress(self, tick: Tick) -> None:
        if self._mine() and tick.metrics and "loss" in tick.metrics:
            self.view_state.take_metrics(tick.metrics)

    def _on_snapshot(self, snap) -> None:
        if self._mine() and isinstance(snap, GptSnapshot):
            self.view_state.take_snapshot(snap)

    def job_ended(self, tick: Tick) -> None:
        self._draw_dirty()

    def animate(self, name: str, path: str) -> None:
        """Export figure `name` over the recorded run's snapshots (the panel's Export > Animation)."""
        message = export_animation(self, self.view_state, name, path)
        if message.startswith("Wrote"):
            self.state.message.emit(message, 10000)
        else:
            self.show_banner(message)
        self._draw_dirty()

    # -- replay ------------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Show a recorded run: everything on screen comes from it (the form too)."""
        self._record = record
        if keep_curve:  # the live run that just ended: what it drew stays, its snapshots join the timeline
            self.view_state.attach_run(run_source(record))
            self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=False)
            return
        self.show_banner("")
        self.form.set_value(record.config)
        self.view_state.load_run(run_source(record))
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=False)
        self._draw_dirty()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._draw_dirty()

    def shutdown(self) -> None:
        """Stop the background work (a cost measurement stops at its next timed run); the window calls it at close."""
        self.frames.stop()
        self.tasks.shutdown()
