"""Embeddings tab: train word2vec live on a corpus, watch the loss and the 2-D map of the word vectors move."""
from __future__ import annotations

import dataclasses

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit,
    QSpinBox, QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget,
)
from superqt.utils import FunctionWorker

from ...analysis import projection as proj
from ...analysis.neighbours import pair_axes
from ...data.synthetic import synthetic_analogies
from ...training.jobs.embedding_compare_job import (EmbeddingCompareConfig, EmbeddingCompareJob,
                                                     EmbeddingCompareSnapshot)
from ...training.jobs.svd_job import SvdConfig, SvdJob
from ...training.jobs.word2vec_job import EmbeddingSnapshot, Word2VecConfig, Word2VecJob
from ...training.record import RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..widgets.control_bar import ControlBar
from ..widgets.corpus_box import CorpusBox
from ..widgets.embedding_map import EmbeddingMap
from ..widgets.frame_budget import FrameBudget
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from ..widgets.word_explorer import WordExplorer
from .embedding_pages import ComparePage, EvaluationPage, NegativeSamplingPage, SvdPage
from .job_tab import JobTab, side_panel

FAMILIES = ("word2vec (predict the context)", "co-occurrence + SVD (count, then factorise)")
CUSTOM_AXES = "custom axes (word pairs)"
AXIS_NAMES = {"PCA": ("PC 1", "PC 2"), "t-SNE": ("t-SNE 1", "t-SNE 2"), "Isomap": ("Isomap 1", "Isomap 2"),
              "UMAP": ("UMAP 1", "UMAP 2")}


@dataclasses.dataclass(frozen=True)
class MapView:
    """What the map draws: the first n words of a snapshot (the most frequent) and their 2-D coordinates."""

    step: int
    words: tuple[str, ...]
    counts: np.ndarray
    classes: tuple[str, ...]
    coords: np.ndarray


class EmbeddingsTab(JobTab):
    """Pick a corpus and a method, press Train, and see the vectors learned live; replay recorded runs."""

    kinds = ("word2vec", "cooc_svd", "embedding_compare")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._pending: EmbeddingSnapshot | None = None

        self.corpus_box = CorpusBox(state, "builtin:synthetic")

        self._snap: EmbeddingSnapshot | None = None
        self._projector: FunctionWorker | None = None
        self._project_again = False
        self._projected: dict[str, np.ndarray] = {}  # method -> coords of the last projection (for alignment)
        self._focus = ""
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
        projection = QGroupBox("Projection to 2-D")
        pform = QFormLayout(projection)
        self.projection_box = QComboBox()
        self.projection_box.addItems(list(proj.PROJECTIONS) + [CUSTOM_AXES])
        self.projection_box.setToolTip("PCA shows every word at once; t-SNE and the others show the N most "
                                       "frequent words (N below); custom axes use two word-pair directions")
        self.sample_box = QSpinBox()
        self.sample_box.setRange(10, 1_000_000)
        self.sample_box.setSingleStep(500)
        self.sample_box.setValue(3000)
        self.sample_box.setToolTip("How many of the most frequent words the slower projections place")
        self.axis1_edit, self.axis2_edit = QLineEdit(), QLineEdit()
        self.axis1_edit.setPlaceholderText("man woman")
        self.axis2_edit.setPlaceholderText("small big")
        for edit in (self.axis1_edit, self.axis2_edit):
            edit.setToolTip("Two words: the axis runs from the first to the second")
            edit.returnPressed.connect(self._projection_changed)
        self.trails_box = QCheckBox("Fading trails of the marked words")
        self.trails_box.setToolTip("Show where the searched word and its neighbours came from over the last "
                                   "snapshots")
        self.projection_note = QLabel("")
        self.projection_note.setWordWrap(True)
        pform.addRow("Method", self.projection_box)
        pform.addRow("Words shown", self.sample_box)
        pform.addRow("x axis", self.axis1_edit)
        pform.addRow("y axis", self.axis2_edit)
        pform.addRow(self.trails_box)
        pform.addRow(self.projection_note)
        self._projection_form = pform
        self.projection_box.currentTextChanged.connect(lambda _t: self._projection_changed())
        self.sample_box.editingFinished.connect(self._projection_changed)
        self.trails_box.toggled.connect(lambda on: self.map.set_trails(on))
        self.explorer = WordExplorer()
        explore = QGroupBox("Explore the vectors")
        QVBoxLayout(explore).addWidget(self.explorer)
        self.explorer.highlight.connect(self._highlight)
        self.explorer.analogyShown.connect(self._show_analogy)
        left_lay.addWidget(corpus_group)
        left_lay.addWidget(params)
        left_lay.addWidget(projection)
        left_lay.addWidget(self.info)
        left_lay.addWidget(explore)
        left_lay.addStretch(1)
        scroll = side_panel(left, 380, 420, frame=False)

        self.map_panel = PlotPanel("Embedding map (PCA of the input vectors)", "PC 1", "PC 2")
        self.map_panel.plot_item.setAspectLocked(False)
        self.map_panel.plot_item.showGrid(x=False, y=False)  # PCA coordinates have no meaningful grid
        for side in ("left", "bottom"):
            self.map_panel.plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.map = EmbeddingMap(self.map_panel.plot_item)
        self.map.on_click = lambda i: self.explorer.look_up(self.map._words[i])  # a click searches the word
        self.map_panel.set_data_provider(self._map_csv)
        self.loss_panel = PlotPanel("Training loss", "step", "loss per pair", y_unit="nats")
        self.loss_curve = self.loss_panel.add_curve("loss")
        self.step_line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen((200, 60, 60), width=1))
        self.step_line.setVisible(False)
        self.loss_panel.plot_item.addItem(self.step_line)
        self.main_panel = self.map_panel

        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.map_panel)
        plots.addWidget(self.loss_panel)
        plots.setSizes([620, 260])
        self.timeline = Timeline()
        self.timeline.indexChanged.connect(self._show_recorded)
        self.ns_page = NegativeSamplingPage()
        self.svd_page = SvdPage()
        self.compare_page = ComparePage(self.compare_form)
        self.compare_page.startRequested.connect(self.start_comparison)
        self.eval_page = EvaluationPage()
        self.pages = QTabWidget()
        self.pages.addTab(plots, "Map")
        self.pages.addTab(self.ns_page, "Negative sampling")
        self.pages.addTab(self.svd_page, "Co-occurrence && SVD")
        self.pages.addTab(self.compare_page, "Compare two methods")
        self.pages.addTab(self.eval_page, "Evaluate")
        self.pages.currentChanged.connect(lambda _i: self._page_changed())

        right = QWidget()
        right_lay = QVBoxLayout(right)
        right_lay.addWidget(self.controls)
        right_lay.addWidget(self.banner)
        right_lay.addWidget(self.pages, 1)
        right_lay.addWidget(self.timeline)
        lay = QHBoxLayout(self)
        lay.addWidget(scroll)
        lay.addWidget(right, 1)

        # live views may take ~9% of the time together (the UI holds the GIL while it paints)
        self.frames = FrameBudget(self._paint_frame, share=0.06, parent=self)
        self.loss_frames = FrameBudget(self.loss_panel.redraw_if_visible, max_fps=10, share=0.03, parent=self)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self.runner.statusChanged.connect(self._on_status)
        self._family_changed(0)
        self._projection_changed()

    # -- corpus -------------------------------------------------------------------------------------------
    def corpus_spec(self) -> str:
        return self.corpus_box.currentData()

    # -- method and projection choices --------------------------------------------------------------------
    def _family_changed(self, index: int) -> None:
        self.form = self.svd_form if index == 1 else self.w2v_form
        self.form_stack.setCurrentWidget(self.form)

    def _projection_changed(self) -> None:
        method = self.projection_box.currentText()
        custom = method == CUSTOM_AXES
        for widget, show in ((self.sample_box, method not in ("PCA", CUSTOM_AXES)), (self.axis1_edit, custom),
                             (self.axis2_edit, custom)):
            self._projection_form.setRowVisible(widget, show)
        self.map.reset_trails()
        self.map.follow = True
        self._reproject()

    def _reproject(self) -> None:
        """Place the current snapshot's words with the chosen projection (slow ones in the background)."""
        snap = self._snap
        if snap is None or not isinstance(snap, EmbeddingSnapshot):
            return
        vectors = np.asarray(snap.vectors)
        if vectors.ndim != 2 or vectors.shape[1] == 0:
            return  # a co-occurrence run before its SVD: nothing to place yet
        method = self.projection_box.currentText()
        n_words = len(snap.words)
        if method == "PCA":
            ev = snap.explained
            self.projection_note.setText(f"PCA of all {n_words:,} words (no sampling).")
            self._show_map(MapView(snap.step, snap.words, snap.counts, snap.classes, np.asarray(snap.coords)),
                           f"PCA: {ev[0]:.0%} + {ev[1]:.0%} of the variance", AXIS_NAMES["PCA"])
        elif method == CUSTOM_AXES:
            self._custom_axes(snap)
        else:
            if self._projector is not None:
                self._project_again = True
                return
            n = min(self.sample_box.value(), n_words)
            previous = self._projected.get(method)
            if previous is not None and len(previous) != n:
                previous = None
            seconds = proj.estimated_seconds(method, n)
            self.projection_note.setText(
                f"{method} of the {n:,} most frequent of {n_words:,} words"
                + (f" (about {seconds:.0f} s each time)" if seconds >= 1 else "")
                + ("; raise 'Words shown' to place more." if n < n_words else "."))
            worker = FunctionWorker(proj.project, method, vectors, np.arange(n), previous, 0,
                                    counts=np.asarray(snap.counts))
            worker.returned.connect(lambda result, s=snap, m=method: self._projected_done(s, m, result))
            worker.errored.connect(lambda exc: self.projection_note.setText(f"{method} failed: {exc}"))
            worker.finished.connect(self._projector_finished)
            self._projector = worker
            worker.start()

    def _projector_finished(self) -> None:
        self._projector = None
        if self._project_again:
            self._project_again = False
            self._reproject()

    def _projected_done(self, snap, method: str, result) -> None:
        if method != self.projection_box.currentText():
            return
        coords = np.asarray(result.coords, dtype=np.float64)
        self._projected[method] = coords
        n = len(coords)
        self._show_map(MapView(snap.step, snap.words[:n], np.asarray(snap.counts)[:n], snap.classes[:n], coords),
                       result.note, AXIS_NAMES.get(method, ("1", "2")))

    def _custom_axes(self, snap) -> None:
        pairs = []
        for edit in (self.axis1_edit, self.axis2_edit):
            words = (edit.text() or edit.placeholderText()).replace("→", " ").replace(",", " ").lower().split()
            if len(words) != 2:
                self.projection_note.setText("Give each axis two words, e.g. 'man woman'.")
                return
            missing = [w for w in words if w not in self.explorer.index]
            if missing:
                self.projection_note.setText(f"Not in the vocabulary: {', '.join(missing)}.")
                return
            pairs.append(tuple(self.explorer.index[w] for w in words))
        try:
            coords = pair_axes(np.asarray(snap.vectors), pairs[0], pairs[1])
        except ValueError as exc:
            self.projection_note.setText(str(exc).capitalize() + ".")
            return
        names = [f"{snap.words[a]} → {snap.words[b]}" for a, b in pairs]
        self.projection_note.setText(f"Every word's unit vector on the direction {names[0]} (x) and on "
                                     f"{names[1]} made orthogonal to it (y).")
        self._show_map(MapView(snap.step, snap.words, snap.counts, snap.classes, coords.astype(np.float64)),
                       "custom axes", (names[0], names[1] + " (⊥)"))

    def _show_map(self, view: MapView, how: str, axes: tuple[str, str]) -> None:
        self.map.draw(view)
        self.map_panel.plot_item.setLabel("bottom", axes[0])
        self.map_panel.plot_item.setLabel("left", axes[1])
        self.map_panel.set_title(f"Embedding map at step {view.step:,} ({how}; {self.map.legend_text})")
        self.map_panel.request_redraw()

    def _highlight(self, i: int, hits) -> None:
        """Mark a searched word and its neighbours; make it the focus of the negative-sampling view."""
        self.map.mark([i] + [j for j, _ in hits])
        changed = self._focus != self.explorer.words[i]
        self._focus = self.explorer.words[i]
        if changed and self._mine() and self.runner.is_active() and isinstance(self.runner.job, Word2VecJob):
            self.runner.set_live("focus_word", self._focus)

    # -- training -----------------------------------------------------------------------------------------
    def start_training(self) -> None:
        """Build a job from the form and the corpus choice and start it (stopping any job that runs)."""
        if not self.form_is_ready():
            return
        config = self.form.value()
        config.corpus = self.corpus_spec()
        if isinstance(config, Word2VecConfig):
            config.focus_word = self._focus
            job = Word2VecJob(config, self.state.device)
            what = config.method + ("" if getattr(config, "objective", "") == "negative sampling"
                                    else f" ({config.objective})")
        else:
            job = SvdJob(config, self.state.device)
            what = "co-occurrence + SVD"
            self.pages.setCurrentWidget(self.svd_page)
        self._start(job, f"Setting up {what} on {self.corpus_box.currentText()}…")

    def start_comparison(self) -> None:
        """Train the two methods chosen on the Compare page, on the corpus chosen on the left."""
        if not self.compare_form.is_valid():
            self.show_banner("Fix the comparison's settings first: " + "; ".join(self.compare_form.errors().values()))
            return
        config = self.compare_form.value()
        config.corpus = self.corpus_spec()
        self._start(EmbeddingCompareJob(config, self.state.device),
                    f"Training {config.method_a} and {config.method_b} side by side…")

    def _start(self, job, message: str) -> None:
        self.loss_curve.clear()
        self.map.clear()
        self._snap = None
        self._projected = {}
        self.timeline.set_steps([])
        self.step_line.setVisible(False)
        self._record = None
        self.info.setText(message)
        self.start_job(job)

    def start_job(self, job) -> None:
        super().start_job(job)
        for form in (self.w2v_form, self.svd_form, self.compare_form):
            form.set_running(True)

    def _on_progress(self, tick: Tick) -> None:
        if not self._mine():
            return
        metrics = tick.metrics
        if metrics and "loss" in metrics:
            self.loss_curve.append(metrics["step"], metrics["loss"])
            self.loss_panel.request_redraw()
            self.loss_frames.request()

    def _on_snapshot(self, snap) -> None:
        if not self._mine() or not isinstance(snap, (EmbeddingSnapshot, EmbeddingCompareSnapshot)):
            return
        if snap.step == 0:
            job = self.runner.job
            self.loss_panel.plot_item.setXRange(0, max(1, job.total_steps), padding=0.02)
            if isinstance(snap, EmbeddingSnapshot):
                batch = getattr(job.config, "batch_size", None)
                self.info.setText(
                    f"{len(snap.words):,} words in the vocabulary; {job.total_steps:,} steps"
                    + (f" of {batch} pairs" if batch else "") + f"; corpus: {getattr(job, 'corpus_name', '')}.")
        self._pending = snap
        if self.isVisible():
            self.frames.request()

    def _paint_frame(self) -> None:
        """Draw the newest snapshot (its paint follows in the same event-loop pass)."""
        if self.isVisible():
            self._draw_pending()

    def _draw_pending(self) -> None:
        snap, self._pending = self._pending, None
        if snap is None:
            return
        if isinstance(snap, EmbeddingCompareSnapshot):
            self.compare_page.show_snapshot(snap)
            if self.pages.currentWidget() is not self.compare_page:
                self.pages.setCurrentWidget(self.compare_page)
            return
        self._snap = snap
        has_vectors = np.asarray(snap.vectors).ndim == 2 and np.asarray(snap.vectors).shape[1] > 0
        if has_vectors:
            self.explorer.set_snapshot(snap)
            self._reproject()
            if self._focus in self.explorer.index and self.explorer.answers.count() == 0:
                # the searched word's neighbours follow training (an analogy on screen is left alone)
                self.explorer.look_up(self._focus)
        page = self.pages.currentWidget()
        if page is self.ns_page:
            self.ns_page.show_snapshot(snap)
        elif page is self.svd_page:
            self.svd_page.show_snapshot(snap)
        elif page is self.eval_page and has_vectors:
            self.eval_page.set_snapshot(snap, self._builtin_analogies())

    def _page_changed(self) -> None:
        """A page shown for the first time since the last snapshot catches up with it."""
        snap = self._snap
        if snap is None:
            return
        page = self.pages.currentWidget()
        if page is self.ns_page:
            self.ns_page.show_snapshot(snap)
        elif page is self.svd_page:
            self.svd_page.show_snapshot(snap)
        elif page is self.eval_page and np.asarray(snap.vectors).shape[-1] > 0:
            self.eval_page.set_snapshot(snap, self._builtin_analogies())

    def _builtin_analogies(self):
        spec = self.corpus_spec() if self._record is None else getattr(self._record.config, "corpus", "")
        return synthetic_analogies() if spec == "builtin:synthetic" else ()

    def _show_analogy(self, a: int, b: int, c: int, hits) -> None:
        """Mark a, b, c and the best answer, with arrows b → a and c → answer (the parallelogram)."""
        if not hits:
            return
        d = hits[0][0]
        self.map.mark([d, a, b, c], arrows=[(b, a), (c, d)])

    def _on_status(self, status: str) -> None:
        if self._mine() and status in ("running", "paused"):
            self.form.set_running(True)

    def job_ended(self, tick: Tick) -> None:
        for form in (self.w2v_form, self.svd_form, self.compare_form):
            form.set_running(False)
        self.loss_panel.redraw_if_visible()
        if self._snap is not None and self.pages.currentWidget() is self.eval_page:
            self.eval_page.set_snapshot(self._snap, self._builtin_analogies())

    # -- replay -------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Replay a recorded run: its loss curve, and its snapshots on the timeline."""
        self._record = record
        metrics = record.metrics
        if not keep_curve and "loss" in metrics:
            self.loss_curve.set_data(metrics["step"], metrics["loss"])
            self.loss_panel.request_redraw()
            self.loss_panel.redraw_if_visible()
        cfg = record.config
        if isinstance(cfg, Word2VecConfig):
            what = f"{cfg.method}, dim {cfg.dim}, window {cfg.window}"
            self.family_box.setCurrentIndex(0)
            self.w2v_form.set_value(cfg)
        elif isinstance(cfg, SvdConfig):
            what = f"co-occurrence + SVD, dim {cfg.dim}, window {cfg.window}"
            self.family_box.setCurrentIndex(1)
            self.svd_form.set_value(cfg)
        else:
            what = f"{cfg.method_a} against {cfg.method_b}"
            self.compare_form.set_value(cfg)
        self.info.setText(f"Recorded run: {what}, {record.info.get('status')} after "
                          f"{record.info.get('steps', 0):,} steps ({record.folder.name}).")
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=not keep_curve)

    def _show_recorded(self, index: int) -> None:
        snap = self.recorded_snapshot(index)
        if snap is None:
            return
        self.step_line.setPos(snap.step)
        self.step_line.setVisible(True)
        self._pending = snap
        if self.isVisible():
            self._draw_pending()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self._draw_pending()

    # -- export -------------------------------------------------------------------------------------------
    def _map_csv(self):
        view = self._last_drawn()
        if view is None:
            return ["word", "count", "x", "y"], []
        rows = [(w, int(c), float(x), float(y)) for w, c, (x, y) in zip(view.words, view.counts, view.coords)]
        return ["word", "count", "x", "y"], rows

    def _last_drawn(self):
        return getattr(self.map, "last_snapshot", None)
