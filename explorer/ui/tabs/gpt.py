"""Pre-train & fine-tune tab: pre-train the tiny GPT, fine-tune it four ways, see what pays off and what changed.

Pages: Pre-train (a GPT on characters of a corpus, saved with its run), Fine-tune (four ways side by side on the
same data, seed and budget), Data efficiency (final accuracy of each way against the amount of labelled data),
What changed (per-layer weight change, linear probes before and after, attention before and after) and Training
vs generation (one parallel training pass against token-by-token generation, with and without the KV cache).

A thin binding: each kind of run has its Qt-free state (`PretrainState`, `FinetuneState`, `FinetuneSweepState`)
that takes the live or recorded snapshots and builds the figures; the panels show them.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from ...state.base import TabState
from ...state.finetune import FinetuneState, FinetuneSweepState
from ...state.gpt import PretrainState
from ...training.jobs.finetune_job import FinetuneConfig, FinetuneJob
from ...training.jobs.finetune_sweep_job import FinetuneSweepConfig, FinetuneSweepJob
from ...training.jobs.pretrain_job import PretrainJob
from ...training.jobs.pretrained import find_pretrained
from ...training.record import RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..tasks import TaskRunner
from ..widgets.animation_dialog import export_animation
from ..widgets.control_bar import ControlBar
from ..widgets.frame_budget import FrameBudget
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from .changes_page import ChangesPage
from .generation_page import GenerationPage
from .gpt_pages import FinetunePage, PretrainPage, SweepPage
from .gpt_settings import FinetuneSettings, PretrainSettings, form_stack, show_form
from .job_tab import FitPages, JobTab, run_source, side_panel

PRETRAIN, FINETUNE, SWEEP, CHANGES, COST = range(5)
START_TEXT = {PRETRAIN: "Pre-train", FINETUNE: "Fine-tune", SWEEP: "Run sweep", CHANGES: "Fine-tune",
              COST: "Fine-tune"}
PAGE_OF_KIND = {"gpt_pretrain": PRETRAIN, "finetune": FINETUNE, "finetune_sweep": SWEEP}


class GptTab(JobTab):
    """Pre-training, fine-tuning four ways, data efficiency, what changed, and training against generation."""

    kinds = ("gpt_pretrain", "finetune", "finetune_sweep")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.pre_state, self.ft_state, self.sweep_state = PretrainState(), FinetuneState(), FinetuneSweepState()
        self.states: dict[str, TabState] = {"gpt_pretrain": self.pre_state, "finetune": self.ft_state,
                                            "finetune_sweep": self.sweep_state}
        self.tasks = TaskRunner(self)
        self._dirty: set[tuple[str, str]] = set()
        self._running_kind = ""
        self._timeline_kind = ""  # the kind of the recorded run on the timeline
        self.models: list = []

        # -- left: the model, then the settings of the page in front ------------------------------------------
        self.model_box = QComboBox()
        self.model_box.setToolTip("The pre-trained model that fine-tuning and the measurements start from "
                                  "(every finished pre-training run; saved with its run folder)")
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_box.setMinimumContentsLength(16)
        self.model_box.currentIndexChanged.connect(self._model_chosen)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setToolTip("Look again for finished pre-training runs")
        self.refresh_button.clicked.connect(lambda: self.refresh_models())
        self.offer_button = QPushButton("Pre-train one now")
        self.offer_button.setToolTip("Pre-train the tiny preset on Jane Austen's novels (about a minute on a "
                                     "laptop CPU): every way below starts from it")
        self.offer_button.clicked.connect(self.pretrain_now)
        self.model_info = QLabel("")
        self.model_info.setWordWrap(True)
        model_group = QGroupBox("Pre-trained model")
        model_lay = QVBoxLayout(model_group)
        row = QHBoxLayout()
        row.addWidget(self.model_box, 1)
        row.addWidget(self.refresh_button)
        model_lay.addLayout(row)
        model_lay.addWidget(self.model_info)
        model_lay.addWidget(self.offer_button)

        self.pre_settings = PretrainSettings(state)
        self.ft_settings = FinetuneSettings()
        self.pre_form, self.ft_form = self.pre_settings.form, self.ft_settings.form
        self.corpus_box, self.preset_box = self.pre_settings.corpus_box, self.pre_settings.preset_box
        s = self.ft_settings
        self.share_slider, self.share_label, self.way_boxes, self.diagram = (s.share_slider, s.share_label,
                                                                            s.way_boxes, s.diagram)
        self.file_button, self.file_label, self.source_label = s.file_button, s.file_label, s.source_label
        self.forms = form_stack(self.pre_settings, self.ft_settings)
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.summary.setTextFormat(Qt.TextFormat.RichText)
        left = QWidget()
        left_lay = QVBoxLayout(left)
        left_lay.addWidget(model_group)
        left_lay.addWidget(self.forms)
        left_lay.addWidget(self.summary)
        left_lay.addStretch(1)
        scroll = side_panel(left, 330, 380)

        # -- right: control bar, pages, timeline --------------------------------------------------------------
        self.controls = ControlBar(self.runner, owner=self)
        self.pre_page, self.ft_page, self.sweep_page = PretrainPage(), FinetunePage(), SweepPage()
        self.changes = ChangesPage(self.ft_state)
        self.generation = GenerationPage(state, self.tasks, self.current_model, self.show_banner)
        self.pre_loss_panel = self.pre_page.loss_panel
        self.ft_loss_panel, self.ft_acc_panel = self.ft_page.loss_panel, self.ft_page.acc_panel
        self.sweep_panel, self.sweep_progress = self.sweep_page.panel, self.sweep_page.progress
        self.shares_edit = self.sweep_page.shares_edit
        self.panels: dict[str, dict[str, PlotPanel]] = {
            "gpt_pretrain": self.pre_page.panels, "finetune": {**self.ft_page.panels, **self.changes.panels},
            "finetune_sweep": self.sweep_page.panels}
        for kind, panels in self.panels.items():
            for name, panel in panels.items():
                panel.set_animator(lambda path, k=kind, n=name: self.animate(k, n, path))
        self.pages = FitPages()
        for page, title in ((self.pre_page, "Pre-train"), (self.ft_page, "Fine-tune"),
                            (self.sweep_page, "Data efficiency"), (self.changes, "What changed"),
                            (self.generation, "Training vs generation")):
            self.pages.addTab(page, title)
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

        self.form = self.pre_form
        self.frames = FrameBudget(self._draw_dirty, max_fps=10, share=0.08, parent=self)
        for kind, view_state in self.states.items():
            view_state.changed.connect(lambda names, k=kind: self._state_changed(k, names))
            view_state.message.connect(self.show_banner)
        self.ft_settings.changed.connect(self._settings_changed)
        for form in (self.pre_form, self.ft_form):
            form.liveValueChanged.connect(self.on_live_value)
        self.controls.startRequested.connect(self.start_current)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self.pages.currentChanged.connect(self._page_changed)
        self.refresh_models()
        self.pages.setCurrentIndex(FINETUNE if self.models else PRETRAIN)
        self._page_changed(self.pages.currentIndex())
        self._state_changed("", ())

    @property
    def main_panel(self) -> PlotPanel:
        """The panel that File > Export figure writes: the first of the page in front."""
        return (self.pre_loss_panel, self.ft_acc_panel, self.sweep_panel, self.changes.change_panel,
                self.generation.panel)[self.pages.currentIndex()]

    # -- models ------------------------------------------------------------------------------------------------
    def refresh_models(self, select: str | Path | None = None) -> None:
        """List the finished pre-training runs (newest first); select `select` (a run folder) if given."""
        try:
            self.models = find_pretrained()
        except OSError as exc:
            self.models = []
            self.show_banner(f"Could not look for pre-trained models: {exc}")
        current = select if select is not None else self.model_box.currentData()
        self.model_box.blockSignals(True)
        self.model_box.clear()
        for info in self.models:
            self.model_box.addItem(info.label, str(info.folder))
        if not self.models:
            self.model_box.addItem("none yet: pre-train one", "")
        index = self.model_box.findData(str(current)) if current else -1
        self.model_box.setCurrentIndex(max(0, index))
        self.model_box.blockSignals(False)
        self.offer_button.setVisible(not self.models)
        self._model_chosen()

    def current_model(self):
        """The PretrainedInfo chosen in the list, or None."""
        folder = self.model_box.currentData()
        return next((m for m in self.models if str(m.folder) == folder), None)

    def _model_chosen(self, _index: int = 0) -> None:
        info = self.current_model()
        if info is None:
            self.model_info.setText("No pre-trained model yet. Fine-tuning starts from one: pre-train one first "
                                    "(the tiny preset takes about a minute on a laptop CPU).")
        else:
            self.model_box.setToolTip(f"{info.label}\n{info.folder}")
            self.model_info.setText(f"{info.layers} blocks, {info.heads} heads, width {info.width}, context "
                                    f"{info.context}, {info.positional} positions; validation loss "
                                    f"{info.val_loss:.3f} after {info.step:,} steps.")
        self.generation.set_model(info)
        self.ft_settings.set_model(info)

    def _settings_changed(self) -> None:
        """Ways, N or the file changed: into the form, and into the legends of a page that shows no run yet."""
        self.ft_settings.sync_hidden(self.current_model())
        preview = self.ft_settings.preview()
        self.ft_state.preview(preview)
        self.sweep_state.preview(FinetuneSweepConfig(ways=preview.ways, lower=preview.lower))

    def pretrain_now(self) -> None:
        """The offer when no model exists: pre-train the tiny preset on Austen."""
        self.pages.setCurrentIndex(PRETRAIN)
        self.pre_settings.use_preset("tiny")
        self.corpus_box.setCurrentIndex(max(0, self.corpus_box.findData("builtin:austen")))
        self.start_pretrain()

    def set_file(self, path: str) -> None:
        """The user's text file for the 'your file' sources."""
        self.ft_settings.set_file(path)

    def _page_changed(self, index: int) -> None:
        show_form(self.forms, 0 if index == PRETRAIN else 1)
        if not self.runner.is_active() or not self._mine():
            self.form = self.pre_form if index == PRETRAIN else self.ft_form
        self.controls.set_start_text(START_TEXT[index])
        self._draw_dirty()  # the panels of the page now in front catch up

    # -- starting jobs ------------------------------------------------------------------------------------------
    def start_current(self) -> None:
        """Train what the page in front is about: pre-training, fine-tuning, or the data-efficiency sweep."""
        page = self.pages.currentIndex()
        if page == PRETRAIN:
            self.start_pretrain()
        elif page == SWEEP:
            self.start_sweep()
        else:
            self.start_finetune()

    def start_pretrain(self) -> None:
        self.form = self.pre_form
        if not self.form_is_ready():
            return
        cfg = self.pre_settings.config()
        self._begin(PretrainJob(cfg, self.state.device), cfg)

    def _finetune_config(self, cls):
        self.form = self.ft_form
        info = self.current_model()
        if info is None:
            self.show_banner("There is no pre-trained model yet: every way starts from one (or compares with "
                             "one). Press 'Pre-train one now' on the left, or pre-train on the Pre-train page.")
            return None
        if not self.ft_settings.ways():
            self.show_banner("Tick at least one way to fine-tune.")
            return None
        self.ft_settings.sync_hidden(info)
        if not self.form_is_ready():
            return None
        base = dataclasses.asdict(self.ft_form.value())
        base.update(shares=self.shares_edit.text().replace(" ", ""))
        cfg = cls(**{k: v for k, v in base.items() if k in cls.__dataclass_fields__})
        problems = cfg.check()
        if problems:
            self.show_banner(" ".join(problems.values()))
            return None
        return cfg

    def start_finetune(self) -> None:
        cfg = self._finetune_config(FinetuneConfig)
        if cfg is not None:
            self._begin(FinetuneJob(cfg, self.state.device), cfg)

    def start_sweep(self) -> None:
        cfg = self._finetune_config(FinetuneSweepConfig)
        if cfg is not None:
            self.sweep_progress.setValue(0)
            self._begin(FinetuneSweepJob(cfg, self.state.device), cfg)

    def _begin(self, job, cfg) -> None:
        self._running_kind = job.kind
        self.timeline.set_steps([])
        self._record = None
        self._timeline_kind = ""
        self.states[job.kind].reset(cfg)
        self.start_job(job)

    # -- live updates -------------------------------------------------------------------------------------------
    def _on_progress(self, tick: Tick) -> None:
        if not self._mine():
            return
        if tick.metrics:
            self.states[self._running_kind].take_metrics(tick.metrics)
        if self._running_kind == "finetune_sweep" and tick.total:
            self.sweep_progress.setValue(int(1000 * tick.step / tick.total))

    def _on_snapshot(self, snap) -> None:
        if self._mine() and self._running_kind in self.states:
            self.states[self._running_kind].take_snapshot(snap)
            stopped = self.ft_state.diverged() if self._running_kind == "finetune" else []
            if stopped:  # a way that blew up stops with its message; the others go on
                self.show_banner(" ".join(stopped))

    def job_ended(self, tick: Tick) -> None:
        if self._running_kind == "gpt_pretrain" and tick.status == "finished" and self._live_folder is not None:
            self.refresh_models(select=self._live_folder)
            self.state.message.emit("Pre-trained model saved with its run; it is now the starting point of "
                                    "fine-tuning.", 10000)
        if self._running_kind == "finetune_sweep" and tick.status == "finished":
            self.sweep_progress.setValue(1000)
        self._page_changed(self.pages.currentIndex())

    # -- binding: states -> panels ------------------------------------------------------------------------------
    def _state_changed(self, kind: str, names: tuple[str, ...]) -> None:
        kinds = [kind] if kind else list(self.states)
        for k in kinds:
            self._dirty.update((k, n) for n in (names or self.states[k].figure_names))
        self._dirty.add(("", "texts"))
        if self.isVisible():
            self.frames.request()

    def _draw_dirty(self) -> None:
        """Draw what changed on the panels that are on screen (the others catch up when their page is shown)."""
        if not self.isVisible():
            return
        for kind, name in list(self._dirty):
            panel = self.panels.get(kind, {}).get(name)
            if panel is not None and panel.isVisible():
                panel.show_figure(self.states[kind].figure(name))
                self._dirty.discard((kind, name))
        if ("", "texts") in self._dirty:
            self._dirty.discard(("", "texts"))
            self._show_texts()

    def _show_texts(self) -> None:
        self.summary.setText(self.ft_state.summary_html())
        self.ft_page.info.setText(self.ft_state.info_text())
        self.changes.sync_choices()
        sweeping = self.runner.is_active() and self._mine() and self._running_kind == "finetune_sweep"
        if self.sweep_state.snapshot is not None and not sweeping:
            self.sweep_progress.setValue(int(1000 * self.sweep_state.progress()))

    def animate(self, kind: str, name: str, path: str) -> None:
        """Export figure `name` over the recorded run's snapshots (the panel's Export > Animation)."""
        message = export_animation(self, self.states[kind], name, path)
        if message.startswith("Wrote"):
            self.state.message.emit(message, 10000)
        else:
            self.show_banner(message)

    # -- replay ---------------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Show a recorded run on the page of its kind: everything that page shows comes from it."""
        self._record = record
        self._timeline_kind = record.kind
        view_state = self.states.get(record.kind, self.ft_state)
        if keep_curve:  # the live run that just ended: what it drew stays, its snapshots join the timeline
            view_state.attach_run(run_source(record))
        else:
            self._running_kind = record.kind
            view_state.load_run(run_source(record))
            if record.kind == "gpt_pretrain":
                self.pre_settings.show_config(record.config)
            else:
                self.ft_settings.show_config(record.config)
                if record.kind == "finetune_sweep":
                    self.shares_edit.setText(", ".join(f"{v:g}" for v in record.config.share_list()))
            self.pages.setCurrentIndex(PAGE_OF_KIND.get(record.kind, FINETUNE))
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=False)

    def _show_recorded(self, index: int) -> None:
        view_state = self.states.get(self._timeline_kind)
        if view_state is not None:
            view_state.select(index)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        window = self.window()
        if window is not self and not window.property("gptFilter"):
            window.installEventFilter(self)
            window.setProperty("gptFilter", True)
        self._draw_dirty()

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    def shutdown(self) -> None:
        """Stop the background measurement (called when the window closes)."""
        self.generation.stop()
        self.tasks.shutdown()

