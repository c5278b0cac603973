"""Embeddings tab: train word2vec or co-occurrence + SVD live on a corpus, watch the loss and the 2-D map of the
word vectors move; a thin binding of widgets to `EmbeddingsState` and `EmbeddingCompareState`."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...data.synthetic import synthetic_analogies
from ...state.embedding_compare import EmbeddingCompareState
from ...state.embedding_search import K_NEIGHBOURS
from ...state.embeddings import N_LABELS, EmbeddingsState, run_projection
from ...training.jobs.embedding_compare_job import EmbeddingCompareConfig, EmbeddingCompareJob, EmbeddingCompareSnapshot
from ...training.jobs.svd_job import SvdConfig, SvdJob
from ...training.jobs.word2vec_job import EmbeddingSnapshot, Word2VecConfig, Word2VecJob
from ...training.record import RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..tasks import TaskRunner
from ..widgets.control_bar import ControlBar
from ..widgets.corpus_box import CorpusBox
from ..widgets.embedding_map import install_cloud
from ..widgets.frame_budget import FrameBudget
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from ..widgets.word_explorer import WordExplorer
from .embedding_pages import ComparePage, EvaluationPage, NegativeSamplingPage, ProjectionBox, SvdPage
from .job_tab import FitPages, JobTab, run_source, side_panel

FAMILIES = ("word2vec (predict the context)", "co-occurrence + SVD (count, then factorise)")


class EmbeddingsTab(JobTab):
    """Pick a corpus and a method, press Train, and see the vectors learned live; replay recorded runs."""

    kinds = ("word2vec", "cooc_svd", "embedding_compare")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.main_state = EmbeddingsState()  # word2vec and co-occurrence + SVD runs
        self.compare_state = EmbeddingCompareState()  # comparisons
        self._run_state = self.main_state  # the state whose run the timeline scrubs
        self.tasks = TaskRunner(self)
        self._dirty: set[tuple[str, str]] = set()
        self._projecting: tuple | None = None
        self._projection_due = False
        self._focus = ""

        self.corpus_box = CorpusBox(state, "builtin:synthetic")
        self.w2v_form = ParamForm(Word2VecConfig)
        self.w2v_form.set_hidden_fields(["focus_word"])
        self.svd_form = ParamForm(SvdConfig)
        self.compare_form = ParamForm(EmbeddingCompareConfig)
        self.form = self.w2v_form
        self.family_box = QComboBox()
        self.family_box.addItems(FAMILIES)
        self.family_box.setToolTip("Learn vectors by prediction (word2vec) or by counting co-occurrences and "
                                   "factorising the matrix with a truncated SVD")
        self.form_stack = QStackedWidget()
        self.form_stack.addWidget(self.w2v_form)
        self.form_stack.addWidget(self.svd_form)
        self.family_box.currentIndexChanged.connect(self._family_changed)
        for form in (self.w2v_form, self.svd_form):
            form.liveValueChanged.connect(self.on_live_value)
        self.controls = ControlBar(self.runner, owner=self)
        self.controls.startRequested.connect(self.start_training)
        self.info = QLabel("Choose a corpus and press Train.")
        self.info.setWordWrap(True)

        left = QWidget()
        left_lay = QVBoxLayout(left)
        corpus_group = QGroupBox("Corpus")
        QFormLayout(corpus_group).addRow(self.corpus_box)
        params = QGroupBox("Method")
        params_lay = QVBoxLayout(params)
        params_lay.addWidget(self.family_box)
        params_lay.addWidget(self.form_stack)
        left_lay.addWidget(corpus_group)
        left_lay.addWidget(params)
        self.projection = ProjectionBox(self.main_state)
        for name in ("projection_box", "sample_box", "axis1_edit", "axis2_edit", "trails_box", "projection_note"):
            setattr(self, name, getattr(self.projection, name))  # the tab's own widgets, as the tests drive them
        left_lay.addWidget(self.projection)
        left_lay.addWidget(self.info)
        self.explorer = WordExplorer(self.main_state)
        explore = QGroupBox("Explore the vectors")
        QVBoxLayout(explore).addWidget(self.explorer)
        left_lay.addWidget(explore)
        left_lay.addStretch(1)

        self.map_panel, self.loss_panel = PlotPanel("Embedding map"), PlotPanel("Training loss")
        # the live map's fast path (see embedding_map.py), its label items made before the window shows
        self.cloud = install_cloud(self.map_panel.canvas, warm_labels=N_LABELS + K_NEIGHBOURS + 1)
        self.cloud.names = lambda i: self.main_state.words[i] if i < len(self.main_state.words) else ""
        self.map_panel.canvas.pointClicked.connect(self._point_clicked)
        self.map_panel.plot_item.getViewBox().sigRangeChangedManually.connect(
            lambda *_: self.main_state.set_follow(False))
        self.main_panel = self.map_panel
        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.map_panel)
        plots.addWidget(self.loss_panel)
        plots.setSizes([620, 260])
        self.ns_page, self.svd_page = NegativeSamplingPage(), SvdPage()
        self.compare_page = ComparePage(self.compare_form)
        self.compare_page.startRequested.connect(self.start_comparison)
        self.eval_page = EvaluationPage(self.tasks)
        self.panels = {"map": self.map_panel, "loss": self.loss_panel, **self.ns_page.panels, **self.svd_page.panels}
        self.pages = FitPages()
        for page, title in ((plots, "Map"), (self.ns_page, "Negative sampling"),
                            (self.svd_page, "Co-occurrence && SVD"), (self.compare_page, "Compare two methods"),
                            (self.eval_page, "Evaluate")):
            self.pages.addTab(page, title)
        self.pages.currentChanged.connect(lambda _i: self._draw_all_dirty())
        self.timeline = Timeline()
        self.timeline.indexChanged.connect(lambda i: self._run_state.select(i))
        for which, panels in (("main", self.panels), ("compare", self.compare_page.panels)):
            for name, panel in panels.items():
                panel.set_animator(lambda path, w=which, n=name: self.animate(w, n, path))

        right = QWidget()
        right_lay = QVBoxLayout(right)
        right_lay.addWidget(self.controls)
        right_lay.addWidget(self.banner)
        right_lay.addWidget(self.pages, 1)
        right_lay.addWidget(self.timeline)
        lay = QHBoxLayout(self)
        lay.addWidget(side_panel(left, 380, 420, frame=False))
        lay.addWidget(right, 1)

        # live views may take ~9% of the time together (the UI holds the GIL while it paints)
        self.frames = FrameBudget(self._draw_dirty, share=0.06, parent=self)
        self.loss_frames = FrameBudget(lambda: self._draw_dirty(loss=True), max_fps=10, share=0.03, parent=self)
        for which, st in (("main", self.main_state), ("compare", self.compare_state)):
            st.changed.connect(lambda names, w=which: self._state_changed(w, names))
            st.message.connect(self.show_banner)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self.runner.statusChanged.connect(self._on_status)
        self._family_changed(0)
        self._state_changed("main", ())
        self.compare_state.reset(self.compare_form.value())  # names the methods before a run

    @property
    def view_state(self):
        """The state of the run on show (the one the timeline scrubs and File > Export all figures writes)."""
        return self._run_state

    # -- widgets -> state ----------------------------------------------------------------------------------
    def corpus_spec(self) -> str:
        return self.corpus_box.currentData()

    def _family_changed(self, index: int) -> None:
        self.form = self.svd_form if index == 1 else self.w2v_form
        self.form_stack.setCurrentWidget(self.form)

    def _point_clicked(self, name: str, index: int) -> None:
        """A click on a word of the map searches it."""
        words = self.main_state.words
        if name == "words" and index < len(words):
            self.explorer.look_up(words[index])

    # -- state -> panels -----------------------------------------------------------------------------------
    def _state_changed(self, which: str, names: tuple[str, ...]) -> None:
        st = self.main_state if which == "main" else self.compare_state
        names = names or (st.ALL_FIGURES if which == "main" else st.figure_names)
        self._dirty.update((which, n) for n in names)
        if which == "main" and "map" in names:
            self._dirty.add(("main", "explorer"))
            self._request_projection()
            self.projection_note.setText(self.main_state.projection_note)
            if self.main_state.query != self._focus:
                self._focus = self.main_state.query
                if self._mine() and self.runner.is_active() and isinstance(self.runner.job, Word2VecJob):
                    self.runner.set_live("focus_word", self._focus)
        if self.isVisible():  # each budget paces (and measures) its own frames, and only frames with work
            due = [name for key in self._dirty for name in (key[1],) if self._on_show(key)]
            if any(n != "loss" for n in due):
                self.frames.request()
            if "loss" in due:
                self.loss_frames.request()

    def _panel(self, which: str, name: str) -> PlotPanel:
        return (self.panels if which == "main" else self.compare_page.panels)[name]

    def _on_show(self, key: tuple[str, str]) -> bool:
        """Whether a dirty figure (or the word list) would be drawn now."""
        return key[1] == "explorer" or self._panel(*key).isVisible()

    def _draw_dirty(self, loss: bool = False, one_a_turn: bool = True) -> None:
        """Draw the figures that changed and are on show (the others wait until shown)."""
        if not self.isVisible():
            return
        drawn = False
        for which, name in sorted(self._dirty, key=lambda key: (key[1] != "map", key[1] != "explorer")):
            if (name == "loss") != loss or not self._on_show((which, name)):
                continue
            if drawn and one_a_turn and name != "explorer":  # one figure a turn: a new vocabulary's map is enough
                (self.loss_frames if loss else self.frames).request()
                return
            self._dirty.discard((which, name))
            if name == "explorer":  # the word list follows the map in the same turn: never a stale list
                self.explorer.refresh()
                self.eval_page.set_snapshot(self.main_state.snapshot, self._builtin_analogies())
                continue
            drawn = True
            st = self.main_state if which == "main" else self.compare_state
            self._panel(which, name).show_figure(st.figure(name))

    def _draw_all_dirty(self) -> None:
        self._draw_dirty(one_a_turn=False)
        self._draw_dirty(loss=True, one_a_turn=False)

    def _request_projection(self) -> None:
        """Run the slower projection the map needs in the background: one at a time, the newest snapshot next."""
        request = self.main_state.projection_request()
        if request is None:
            return
        if self.tasks.busy("projection") and self._projecting == request.key[:3]:
            self._projection_due = True  # the one running finishes first (its picture is not thrown away)
            return
        self._projecting, self._projection_due = request.key[:3], False
        self.tasks.submit("projection", run_projection, request,
                          on_done=lambda result, k=request.key: self._projected(k, result),
                          on_error=lambda msg, k=request.key: self._projected(k, None, msg))

    def _projected(self, key: tuple, result, error: str = "") -> None:
        if error:
            self.main_state.set_projection_error(key, error)
        else:
            self.main_state.set_projection_result(key, result)
        if self._projection_due:
            self._projection_due = False
            self._request_projection()

    def animate(self, which: str, name: str, path: str) -> None:
        """Export figure `name` over the recorded run's snapshots (a panel's Export > Animation)."""
        from ...render.run_export import animate_figure

        st = self.main_state if which == "main" else self.compare_state
        if st.source is None:
            self.show_banner("Animations need a recorded run: train one (it is recorded) or open one first.")
            return
        try:
            animate_figure(st, name, path)
        except Exception as exc:  # noqa: BLE001 - a message, never a traceback
            self.show_banner(f"Could not write the animation: {exc}")
        finally:
            st.select(self.timeline.index)

    def _builtin_analogies(self):
        cfg = self.main_state.config
        return synthetic_analogies() if getattr(cfg, "corpus", "") == "builtin:synthetic" else ()

    # -- training -----------------------------------------------------------------------------------------
    def start_training(self) -> None:
        """Build a job from the form and the corpus choice and start it (stopping any job that runs)."""
        if not self.form_is_ready():
            return
        config = self.form.value()
        config.corpus = self.corpus_spec()
        if isinstance(config, Word2VecConfig):
            config.focus_word = self.main_state.query
            job, what = Word2VecJob(config, self.state.device), config.method + (
                "" if config.objective == "negative sampling" else f" ({config.objective})")
        else:
            job, what = SvdJob(config, self.state.device), "co-occurrence + SVD"
            self.pages.setCurrentWidget(self.svd_page)
        self._start(job, self.main_state, f"Setting up {what} on {self.corpus_box.currentText()}…")

    def start_comparison(self) -> None:
        """Train the two methods chosen on the Compare page, on the corpus chosen on the left."""
        if not self.compare_form.is_valid():
            self.show_banner("Fix the comparison's settings first: " + "; ".join(self.compare_form.errors().values()))
            return
        config = self.compare_form.value()
        config.corpus = self.corpus_spec()
        self.pages.setCurrentWidget(self.compare_page)
        self._start(EmbeddingCompareJob(config, self.state.device), self.compare_state,
                    f"Training {config.method_a} and {config.method_b} side by side…")

    def _start(self, job, st, message: str) -> None:
        self._record = None
        self.timeline.set_steps([])
        self._run_state = st
        st.reset(job.config)
        self.info.setText(message)
        self.start_job(job)

    def start_job(self, job) -> None:
        super().start_job(job)
        for form in (self.w2v_form, self.svd_form, self.compare_form):
            form.set_running(True)

    def _on_progress(self, tick: Tick) -> None:
        if self._mine() and tick.metrics:
            self._run_state.take_metrics(tick.metrics)

    def _on_snapshot(self, snap) -> None:
        if not self._mine():
            return
        if isinstance(snap, EmbeddingCompareSnapshot):
            self.compare_state.take_snapshot(snap)
        elif isinstance(snap, EmbeddingSnapshot):
            if snap.step == 0:
                job = self.runner.job
                self.main_state.planned_steps = job.total_steps
                batch = getattr(job.config, "batch_size", None)
                self.info.setText(f"{len(snap.words):,} words in the vocabulary; {job.total_steps:,} steps"
                                  + (f" of {batch} pairs" if batch else "")
                                  + f"; corpus: {getattr(job, 'corpus_name', '')}.")
            self.main_state.take_snapshot(snap)

    def _on_status(self, status: str) -> None:
        if self._mine() and status in ("running", "paused"):
            self.form.set_running(True)

    def job_ended(self, tick: Tick) -> None:
        for form in (self.w2v_form, self.svd_form, self.compare_form):
            form.set_running(False)
        self._draw_all_dirty()

    # -- replay -------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Show a recorded run: everything on screen comes from it (the forms too)."""
        self._record = record
        cfg = record.config
        if record.kind == "embedding_compare":
            st, what = self.compare_state, f"{cfg.method_a} against {cfg.method_b}"
            self.compare_form.set_value(cfg)
            self.pages.setCurrentWidget(self.compare_page)
        else:
            st = self.main_state
            svd = isinstance(cfg, SvdConfig)
            what = (f"co-occurrence + SVD, dim {cfg.dim}, window {cfg.window}" if svd else
                    f"{cfg.method}, dim {cfg.dim}, window {cfg.window}")
            self.family_box.setCurrentIndex(1 if svd else 0)
            (self.svd_form if svd else self.w2v_form).set_value(cfg)
        self._run_state = st
        source = run_source(record)
        if keep_curve and st.source is None and st.steps:
            st.attach_run(source)  # the run that just ended: on screen already, only its timeline is new
        else:
            st.load_run(source)
        self.info.setText(f"Recorded run: {what}, {record.status_text} ({record.folder.name}).")
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=False)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._draw_all_dirty()

    def shutdown(self) -> None:
        """Cancel background projections and scores (called when the window closes)."""
        self.tasks.shutdown()
