"""Embeddings tab: train word2vec live on a corpus, watch the loss and the 2-D map of the word vectors move."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QScrollArea, QSplitter, QVBoxLayout,
    QWidget,
)

from ...data.builtin import BUILTIN_CORPORA
from ...training.jobs.word2vec_job import EmbeddingSnapshot, Word2VecConfig, Word2VecJob
from ...training.record import RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..widgets.control_bar import ControlBar
from ..widgets.embedding_map import EmbeddingMap
from ..widgets.frame_budget import FrameBudget
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from ..widgets.word_explorer import WordExplorer
from .job_tab import JobTab

OPEN_FILE = "__open__"


class EmbeddingsTab(JobTab):
    """Pick a corpus and a method, press Train, and see the vectors learned live; replay recorded runs."""

    kinds = ("word2vec",)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._pending: EmbeddingSnapshot | None = None

        self.corpus_box = QComboBox()
        for key, name in BUILTIN_CORPORA.items():
            self.corpus_box.addItem(name, f"builtin:{key}")
        self.corpus_box.addItem("Open a text file…", OPEN_FILE)
        self.corpus_box.setCurrentIndex(max(0, self.corpus_box.findData("builtin:synthetic")))
        self.corpus_box.activated.connect(self._on_corpus_chosen)
        state.corpusAdded.connect(self._add_corpus_choice)

        self.form = ParamForm(Word2VecConfig)
        self.form.liveValueChanged.connect(self.on_live_value)
        self.controls = ControlBar(self.runner, owner=self)
        self.controls.startRequested.connect(self.start_training)
        self.info = QLabel("Choose a corpus and press Train.")
        self.info.setWordWrap(True)

        left = QWidget()
        left_lay = QVBoxLayout(left)
        corpus_group = QGroupBox("Corpus")
        QFormLayout(corpus_group).addRow(self.corpus_box)
        params = QGroupBox("word2vec with negative sampling")
        QVBoxLayout(params).addWidget(self.form)
        self.explorer = WordExplorer()
        explore = QGroupBox("Explore the vectors")
        QVBoxLayout(explore).addWidget(self.explorer)
        self.explorer.highlight.connect(lambda i, hits: self.map.mark([i] + [j for j, _ in hits]))
        self.explorer.analogyShown.connect(self._show_analogy)
        left_lay.addWidget(corpus_group)
        left_lay.addWidget(params)
        left_lay.addWidget(self.info)
        left_lay.addWidget(explore)
        left_lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setMinimumWidth(360)
        scroll.setMaximumWidth(400)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        self.map_panel = PlotPanel("Embedding map (PCA of the input vectors)", "PC 1", "PC 2")
        self.map_panel.plot_item.setAspectLocked(False)
        self.map_panel.plot_item.showGrid(x=False, y=False)  # PCA coordinates have no meaningful grid
        for side in ("left", "bottom"):
            self.map_panel.plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.map = EmbeddingMap(self.map_panel.plot_item)
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

        right = QWidget()
        right_lay = QVBoxLayout(right)
        right_lay.addWidget(self.controls)
        right_lay.addWidget(self.banner)
        right_lay.addWidget(plots, 1)
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

    # -- corpus -------------------------------------------------------------------------------------------
    def corpus_spec(self) -> str:
        return self.corpus_box.currentData()

    def _add_corpus_choice(self, spec: str, name: str) -> None:
        if self.corpus_box.findData(spec) < 0:
            self.corpus_box.insertItem(self.corpus_box.count() - 1, name, spec)
        self.corpus_box.setCurrentIndex(self.corpus_box.findData(spec))

    def _on_corpus_chosen(self, _index: int) -> None:
        if self.corpus_box.currentData() != OPEN_FILE:
            return
        self.corpus_box.setCurrentIndex(0)
        path, _ = QFileDialog.getOpenFileName(self, "Open corpus", "", "Text (*.txt *.gz *.md);;All files (*)")
        if path:
            self.window().open_corpus(path)

    # -- training -----------------------------------------------------------------------------------------
    def start_training(self) -> None:
        """Build a job from the form and the corpus choice and start it (stopping any job that runs)."""
        if not self.form_is_ready():
            return
        config = self.form.value()
        config.corpus = self.corpus_spec()
        job = Word2VecJob(config, self.state.device)
        if config.corpus in self.state.corpora:
            job.preloaded_corpus = self.state.corpora[config.corpus]
        self.loss_curve.clear()
        self.map.clear()
        self.timeline.set_steps([])
        self.step_line.setVisible(False)
        self._record = None
        self.info.setText(f"Setting up {config.method} on {self.corpus_box.currentText()}…")
        self.start_job(job)

    def _on_progress(self, tick: Tick) -> None:
        if not self._mine():
            return
        metrics = tick.metrics
        if metrics and "loss" in metrics:
            self.loss_curve.append(metrics["step"], metrics["loss"])
            self.loss_panel.request_redraw()
            self.loss_frames.request()

    def _on_snapshot(self, snap) -> None:
        if not self._mine() or not isinstance(snap, EmbeddingSnapshot):
            return
        if snap.step == 0:
            job = self.runner.job
            self.loss_panel.plot_item.setXRange(0, max(1, job.total_steps), padding=0.02)
            self.info.setText(
                f"{len(snap.words):,} words in the vocabulary; {job.total_steps:,} steps of "
                f"{job.config.batch_size} pairs; corpus: {getattr(job, 'corpus_name', '')}."
            )
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
        self.map.draw(snap)
        self.explorer.set_snapshot(snap)
        ev = snap.explained
        self.map_panel.set_title(f"Embedding map at step {snap.step:,} (PCA: {ev[0]:.0%} + {ev[1]:.0%} "
                                 f"of the variance; {self.map.legend_text})")
        self.map_panel.request_redraw()

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
        self.loss_panel.redraw_if_visible()

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
        self.info.setText(f"Recorded run: {cfg.method}, dim {cfg.dim}, window {cfg.window}, "
                          f"{record.info.get('status')} after {record.info.get('steps', 0):,} steps "
                          f"({record.folder.name}).")
        self.form.set_value(cfg)
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
        snap = self._last_drawn()
        if snap is None:
            return ["word", "count", "x", "y"], []
        rows = [(w, int(c), float(x), float(y)) for w, c, (x, y) in zip(snap.words, snap.counts, snap.coords)]
        return ["word", "count", "x", "y"], rows

    def _last_drawn(self):
        return getattr(self.map, "last_snapshot", None)
