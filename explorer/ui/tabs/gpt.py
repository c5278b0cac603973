"""Pre-train & fine-tune tab: pre-train the tiny GPT, fine-tune it four ways, see what pays off and what changed.

Pages: Pre-train (a GPT on characters of a corpus, saved with its run), Fine-tune (four ways side by side on the
same data, seed and budget), Data efficiency (final accuracy of each way against the amount of labelled data),
What changed (per-layer weight change, linear probes before and after, attention before and after) and Training
vs generation (one parallel training pass against token-by-token generation, with and without the KV cache).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFileDialog, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSizePolicy, QSlider, QSplitter,
                               QStackedWidget, QTabWidget, QVBoxLayout, QWidget)

from ...data.finetune_tasks import CLASSIFY_SOURCES, NEXT_TOKEN_SOURCES
from ...training.jobs.finetune_job import SHARES, WAYS, FinetuneConfig, FinetuneJob, FinetuneSnapshot, way_label
from ...training.jobs.finetune_sweep_job import FinetuneSweepConfig, FinetuneSweepJob, FinetuneSweepSnapshot
from ...training.jobs.gpt_job import GptSnapshot
from ...training.jobs.pretrain_job import PRESETS, PretrainConfig, PretrainJob, apply_preset
from ...training.jobs.pretrained import find_pretrained
from ...training.record import RunRecord
from ...training.runner import Tick
from ..app_state import AppState
from ..widgets.control_bar import ControlBar
from ..widgets.corpus_box import CorpusBox
from ..widgets.frame_budget import FrameBudget
from ..widgets.layer_diagram import LayerDiagram
from ..widgets.param_form import ParamForm
from ..widgets.plot_panel import PlotPanel
from ..widgets.timeline import Timeline
from .changes_page import ChangesPage, way_color
from .generation_page import GenerationPage
from .job_tab import JobTab, side_panel

PRETRAIN, FINETUNE, SWEEP, CHANGES, COST = range(5)
START_TEXT = {PRETRAIN: "Pre-train", FINETUNE: "Fine-tune", SWEEP: "Run sweep", CHANGES: "Fine-tune",
              COST: "Fine-tune"}


def layer_names(layers: int) -> list[str]:
    """The groups of a GPT with `layers` blocks, bottom-up, as the transfer code names them."""
    return ["embedding"] + [f"block {i + 1}" for i in range(layers)] + ["output"]


class GptTab(JobTab):
    """Pre-training, fine-tuning four ways, data efficiency, what changed, and training against generation."""

    kinds = ("gpt_pretrain", "finetune", "finetune_sweep")

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self._pending = None
        self._ft: FinetuneSnapshot | None = None
        self._sweep: FinetuneSweepSnapshot | None = None
        self._pre: GptSnapshot | None = None
        self._file = ""
        self._preset = None
        self._running_kind = ""
        self.models: list = []

        # -- left: the model, then the settings of the page in front ------------------------------------------
        self.model_box = QComboBox()
        self.model_box.setToolTip("The pre-trained model that fine-tuning and the measurements start from "
                                  "(every finished pre-training run; saved with its run folder)")
        self.model_box.currentIndexChanged.connect(self._model_chosen)
        for box in (self.model_box,):  # long labels must not widen the side panel (they elide; tooltips tell)
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            box.setMinimumContentsLength(16)
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

        self.pre_form = ParamForm(PretrainConfig)
        self.pre_form.set_hidden_fields(["task", "probe_text", "corpus", "preset"])
        self.preset_box = QComboBox()
        for name, numbers in PRESETS.items():
            self.preset_box.addItem(f"{name} ({numbers['layers']} × {numbers['width']}, context {numbers['context']})",
                                    name)
        self.preset_box.setToolTip(PretrainConfig.__dataclass_fields__["preset"].metadata["param"]["help"])
        self.preset_box.activated.connect(lambda _i: self._preset_chosen())
        self.preset_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.preset_box.setMinimumContentsLength(16)
        self.corpus_box = CorpusBox(state, "builtin:austen", builtins=("austen", "stdlib"))
        pre_group = QGroupBox("Pre-training")
        pre_lay = QVBoxLayout(pre_group)
        corpus_row = QFormLayout()
        corpus_row.addRow("Corpus", self.corpus_box)
        corpus_row.addRow("Model size", self.preset_box)
        pre_lay.addLayout(corpus_row)
        pre_lay.addWidget(self.pre_form)

        self.ft_form = ParamForm(FinetuneConfig)
        self.ft_form.set_hidden_fields(["pretrained", "file", "ways", "lower", "probe_text", "share"])
        self.share_slider = QSlider(Qt.Orientation.Horizontal)
        self.share_slider.setRange(0, len(SHARES) - 1)
        self.share_slider.setPageStep(1)
        self.share_slider.setTickPosition(QSlider.TickPosition.TicksBelow)
        self.share_slider.setTickInterval(1)
        self.share_slider.setValue(SHARES.index(FinetuneConfig().share))
        self.share_slider.setToolTip("How much of the task's labelled training set every way fine-tunes on")
        self.share_label = QLabel("")
        self.share_slider.valueChanged.connect(self._share_moved)
        self.file_button = QPushButton("Choose your file…")
        self.file_button.setToolTip("The text file of the 'your file' sources")
        self.file_button.clicked.connect(self._choose_file)
        self.source_label = QLabel("")
        self.source_label.setWordWrap(True)
        self.file_label = QLabel("")
        self.file_label.setWordWrap(True)
        self.way_boxes: dict[str, QCheckBox] = {}
        ways_group = QGroupBox("Ways, side by side (same data, seed and steps)")
        ways_lay = QVBoxLayout(ways_group)
        for way in WAYS:
            box = QCheckBox(way_label(way, 0))
            box.setChecked(True)
            box.setStyleSheet(f"QCheckBox {{ color: {pg.mkColor(way_color(way)).name()}; font-weight: bold; }}")
            self.way_boxes[way] = box
            box.toggled.connect(lambda _on: self._sync_hidden())
            ways_lay.addWidget(box)
        self.diagram = LayerDiagram()
        self.diagram.lowerChanged.connect(self._lower_changed)
        diagram_group = QGroupBox("Lower layers N: copied / frozen")
        diagram_lay = QVBoxLayout(diagram_group)
        note = QLabel("Click a layer: it and every layer below it are the lower N. The output layer is always "
                      "trained (a new head for classification).")
        note.setWordWrap(True)
        diagram_lay.addWidget(note)
        diagram_lay.addWidget(self.diagram)
        ft_group = QGroupBox("Fine-tuning task")
        ft_lay = QVBoxLayout(ft_group)
        share_row = QHBoxLayout()
        share_row.addWidget(QLabel("Labelled data"))
        share_row.addWidget(self.share_slider, 1)
        share_row.addWidget(self.share_label)
        ft_lay.addLayout(share_row)
        ft_lay.addWidget(self.ft_form)
        ft_lay.addWidget(self.source_label)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_button)
        file_row.addWidget(self.file_label, 1)
        ft_lay.addLayout(file_row)
        ft_page = QWidget()
        ft_page_lay = QVBoxLayout(ft_page)
        ft_page_lay.setContentsMargins(0, 0, 0, 0)
        for w in (ft_group, ways_group, diagram_group):
            ft_page_lay.addWidget(w)
        ft_page_lay.addStretch(1)
        pre_page = QWidget()
        pre_page_lay = QVBoxLayout(pre_page)
        pre_page_lay.setContentsMargins(0, 0, 0, 0)
        pre_page_lay.addWidget(pre_group)
        pre_page_lay.addStretch(1)
        self.forms = QStackedWidget()
        self.forms.addWidget(pre_page)
        self.forms.addWidget(ft_page)
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
        self.pages = QTabWidget()
        self.pages.addTab(self._pretrain_page(), "Pre-train")
        self.pages.addTab(self._finetune_page(), "Fine-tune")
        self.pages.addTab(self._sweep_page(), "Data efficiency")
        self.changes = ChangesPage()
        self.generation = GenerationPage(state, self.current_model, self.show_banner)
        self.pages.addTab(self.changes, "What changed")
        self.pages.addTab(self.generation, "Training vs generation")
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
        self.frames = FrameBudget(self._draw_pending, max_fps=10, share=0.08, parent=self)
        self.ft_form.widget_for("task").currentIndexChanged.connect(self._task_edited)
        self.ft_form.widget_for("source").currentIndexChanged.connect(lambda _i: self._ft_form_changed())
        self.pre_form.valueChanged.connect(self._pre_form_changed)
        self.ft_form.valueChanged.connect(self._ft_form_changed)
        for form in (self.pre_form, self.ft_form):
            form.liveValueChanged.connect(self.on_live_value)
        self.controls.startRequested.connect(self.start_current)
        self.runner.snapshotReady.connect(self._on_snapshot)
        self.runner.progress.connect(self._on_progress)
        self.pages.currentChanged.connect(self._page_changed)
        self._pre_form_changed()
        self._share_moved(self.share_slider.value())
        self._task_edited()
        self._ft_form_changed()
        self.refresh_models()
        self.pages.setCurrentIndex(FINETUNE if self.models else PRETRAIN)
        self._page_changed(self.pages.currentIndex())

    # -- pages ------------------------------------------------------------------------------------------------
    def _pretrain_page(self) -> QWidget:
        self.pre_loss_panel = PlotPanel("Pre-training: next-character loss", "step", "cross-entropy (nats)")
        self.pre_train_curve = self.pre_loss_panel.add_curve("training loss")
        self.pre_val_curve = self.pre_loss_panel.add_curve("validation loss")
        self.pre_loss_panel.plot_item.getAxis("left").enableAutoSIPrefix(False)
        self.pre_sample = QLabel("Pick a corpus and a size on the left, then press Pre-train: the model learns to "
                                 "predict the next character; samples of its writing appear here.")
        self.pre_sample.setWordWrap(True)
        self.pre_sample.setTextFormat(Qt.TextFormat.RichText)
        self.pre_sample.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(self.pre_loss_panel, 1)
        lay.addWidget(self.pre_sample)
        return page

    def _finetune_page(self) -> QWidget:
        self.ft_loss_panel = PlotPanel("Fine-tuning: training loss", "step", "cross-entropy (nats)")
        self.ft_acc_panel = PlotPanel("Validation accuracy", "step", "accuracy")
        for panel in (self.ft_loss_panel, self.ft_acc_panel):
            panel.plot_item.getAxis("left").enableAutoSIPrefix(False)
        self.ft_acc_panel.legend.setOffset((-10, -10))  # bottom right: with the axis from 0, below chance is empty
        self.ft_acc_panel.plot_item.setYRange(0, 1.02, padding=0)
        self.ft_acc_panel.plot_item.enableAutoRange(y=False)
        self.ft_chance = pg.InfiniteLine(angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine),
                                         label="chance", labelOpts={"position": 0.05})
        self.ft_chance.setVisible(False)
        self.ft_acc_panel.plot_item.addItem(self.ft_chance)
        self.ft_info = QLabel("Choose the task and the ways on the left, then press Fine-tune: every way trains on "
                              "the same batches with the same seed and the same number of steps.")
        self.ft_info.setWordWrap(True)
        plots = QSplitter(Qt.Orientation.Horizontal)
        plots.addWidget(self.ft_loss_panel)
        plots.addWidget(self.ft_acc_panel)
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(plots, 1)
        lay.addWidget(self.ft_info)
        return page

    def _sweep_page(self) -> QWidget:
        self.sweep_panel = PlotPanel("Final validation accuracy against labelled data", "labelled training examples",
                                     "accuracy")
        self.sweep_panel.set_log(x=True)
        for side in ("left", "bottom"):
            self.sweep_panel.plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.sweep_panel.legend.setOffset((10, 10))
        self.sweep_chance = pg.InfiniteLine(angle=0, pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine),
                                            label="chance", labelOpts={"position": 0.95})
        self.sweep_chance.setVisible(False)
        self.sweep_panel.plot_item.addItem(self.sweep_chance)
        self.shares_edit = QLineEdit("0.01, 0.03, 0.1, 0.3, 1")
        self.shares_edit.setToolTip("Shares of the task's training set to fine-tune on, each in (0, 1]; every "
                                    "share gets the same number of steps")
        self.sweep_progress = QProgressBar()
        self.sweep_progress.setRange(0, 1000)
        self.sweep_progress.setValue(0)
        self.sweep_info = QLabel("Press Run sweep: every way is fine-tuned on 1%, 3%, 10%, 30% and 100% of the "
                                 "task's training set (same steps each), in the background. Where the warm starts "
                                 "stay above 'from scratch', pre-training pays off.")
        self.sweep_info.setWordWrap(True)
        page = QWidget()
        lay = QVBoxLayout(page)
        row = QHBoxLayout()
        row.addWidget(QLabel("Shares of the labelled data"))
        row.addWidget(self.shares_edit, 1)
        row.addWidget(self.sweep_progress, 2)
        lay.addLayout(row)
        lay.addWidget(self.sweep_panel, 1)
        lay.addWidget(self.sweep_info)
        return page

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
            self.diagram.set_groups(layer_names(2))
            self._sync_hidden()
            return
        self.model_box.setToolTip(f"{info.label}\n{info.folder}")
        self.model_info.setText(f"{info.layers} blocks, {info.heads} heads, width {info.width}, context "
                                f"{info.context}, {info.positional} positions; validation loss "
                                f"{info.val_loss:.3f} after {info.step:,} steps.")
        self.diagram.set_groups(layer_names(info.layers), lower=min(self.diagram.lower or FinetuneConfig().lower, info.layers + 1))
        self.generation.set_model(info)
        self._lower_changed(self.diagram.lower)

    def _lower_changed(self, n: int) -> None:
        for way, box in self.way_boxes.items():
            box.setText(way_label(way, n))
        self._sync_hidden()

    def pretrain_now(self) -> None:
        """The offer when no model exists: pre-train the tiny preset on Austen."""
        self.pages.setCurrentIndex(PRETRAIN)
        self.pre_form.set_value(apply_preset(self.pre_form.last_valid_value() or PretrainConfig(), "tiny"))
        self._pre_form_changed()
        self.corpus_box.setCurrentIndex(max(0, self.corpus_box.findData("builtin:austen")))
        self.start_pretrain()

    # -- forms --------------------------------------------------------------------------------------------------
    def _preset_chosen(self) -> None:
        """A model size sets layers, heads, width, context, batch size, steps and learning rate together."""
        cfg = self.pre_form.last_valid_value() or PretrainConfig()
        self.pre_form.set_value(apply_preset(cfg, self.preset_box.currentData()))

    def _pre_form_changed(self, _cfg=None) -> None:
        """Show which preset the numbers are (or that they are the user's own)."""
        cfg = self.pre_form.last_valid_value()
        if cfg is None:
            return
        name = next((n for n in PRESETS if apply_preset(cfg, n) == cfg), None)
        if name is not None:
            self.preset_box.setCurrentIndex(self.preset_box.findData(name))
        self.preset_box.setToolTip("" if name else "Your own numbers (no preset)")

    def _task_edited(self, _index: int = 0) -> None:
        """Offer only the data sources of the chosen task (and switch to its first when the old one is not)."""
        task = self.ft_form.widget_for("task").currentText()
        sources = CLASSIFY_SOURCES if task == "classify" else NEXT_TOKEN_SOURCES
        box = self.ft_form.widget_for("source")
        view = box.view()
        for i in range(box.count()):
            view.setRowHidden(i, box.itemText(i) not in sources)
        if box.currentText() not in sources:
            box.setCurrentIndex(box.findText(next(iter(sources))))

    def _ft_form_changed(self, _cfg=None) -> None:
        """Describe the chosen data and ask for a file where it needs one (read from the widgets: the form may
        not be valid yet, e.g. before a model exists)."""
        task = self.ft_form.widget_for("task").currentText()
        source = self.ft_form.widget_for("source").currentText()
        sources = CLASSIFY_SOURCES if task == "classify" else NEXT_TOKEN_SOURCES
        self.source_label.setText(f"Data: {sources[source]}" if source in sources else "")
        needs_file = source == "file" or source.endswith("-file")
        self.file_button.setVisible(needs_file)
        self.file_label.setVisible(needs_file)
        self.file_label.setText(Path(self._file).name if self._file else "no file chosen")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Text for fine-tuning", "", "Text (*.txt *.gz *.md);;All (*)")
        if path:
            self.set_file(path)

    def set_file(self, path: str) -> None:
        self._file = path
        self._sync_hidden()
        self._ft_form_changed()

    def _page_changed(self, index: int) -> None:
        self.forms.setCurrentIndex(0 if index == PRETRAIN else 1)
        for i in range(self.forms.count()):  # the stack takes the height of the page in front only
            policy = QSizePolicy.Policy.Preferred if i == self.forms.currentIndex() else QSizePolicy.Policy.Ignored
            self.forms.widget(i).setSizePolicy(policy, policy)
        self.forms.adjustSize()
        if not self.runner.is_active() or not self._mine():
            self.form = self.pre_form if index == PRETRAIN else self.ft_form
        self.controls.set_start_text(START_TEXT[index])
        if index == CHANGES:
            self.changes.draw()

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
        cfg = self.pre_form.value()
        cfg.corpus = self.corpus_box.currentData() or "builtin:austen"
        job = PretrainJob(cfg, self.state.device)
        for curve in (self.pre_train_curve, self.pre_val_curve):
            curve.clear()
        self.pre_loss_panel.request_redraw()
        self._begin(job)

    def _share_moved(self, index: int) -> None:
        share = SHARES[index]
        self.share_label.setText(f"{share:.0%}")
        self.ft_form.set_fields(share=share)

    def _sync_hidden(self) -> None:
        """Put what the tab chooses outside the form (model, file, ways, N) into the form's config."""
        info = self.current_model()
        ways = [w for w, box in self.way_boxes.items() if box.isChecked()]
        self.ft_form.set_fields(pretrained=str(info.folder) if info is not None else "", file=self._file,
                                ways=",".join(ways), lower=self.diagram.lower)

    def _finetune_config(self, cls):
        self.form = self.ft_form
        info = self.current_model()
        if info is None:
            self.show_banner("There is no pre-trained model yet: every way starts from one (or compares with "
                             "one). Press 'Pre-train one now' on the left, or pre-train on the Pre-train page.")
            return None
        ways = [w for w, box in self.way_boxes.items() if box.isChecked()]
        if not ways:
            self.show_banner("Tick at least one way to fine-tune.")
            return None
        self._sync_hidden()
        if not self.form_is_ready():
            return None
        base = self.ft_form.value()
        fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
        fields.update(shares=self.shares_edit.text().replace(" ", ""))
        known = cls.__dataclass_fields__
        cfg = cls(**{k: v for k, v in fields.items() if k in known})
        problems = cfg.check()
        if problems:
            self.show_banner(" ".join(problems.values()))
            return None
        return cfg

    def start_finetune(self) -> None:
        cfg = self._finetune_config(FinetuneConfig)
        if cfg is None:
            return
        self._reset_finetune_views()
        self._begin(FinetuneJob(cfg, self.state.device))

    def start_sweep(self) -> None:
        cfg = self._finetune_config(FinetuneSweepConfig)
        if cfg is None:
            return
        for name in list(self.sweep_panel.curves):
            self.sweep_panel.remove_curve(name)
        self.sweep_progress.setValue(0)
        self._sweep = None
        self._begin(FinetuneSweepJob(cfg, self.state.device))

    def _begin(self, job) -> None:
        self._running_kind = job.kind
        self.timeline.set_steps([])
        self._record = None
        self.start_job(job)

    def _reset_finetune_views(self) -> None:
        for panel in (self.ft_loss_panel, self.ft_acc_panel):
            for name in list(panel.curves):
                panel.remove_curve(name)
        self.changes.clear()
        self._ft = None

    # -- live updates -------------------------------------------------------------------------------------------
    def _on_progress(self, tick: Tick) -> None:
        if not self._mine():
            return
        if tick.metrics:
            self._add_metrics(self._running_kind, tick.metrics)
        if self._running_kind == "finetune_sweep" and tick.total:
            self.sweep_progress.setValue(int(1000 * tick.step / tick.total))

    def _add_metrics(self, kind: str, metrics: dict) -> None:
        steps = np.asarray(metrics.get("step", []), dtype=np.float64)

        def add(panel, curve_name, values, color, width=2):
            values = np.asarray(values, dtype=np.float64)
            keep = np.isfinite(values)
            if not keep.any():
                return
            curve = panel.curves.get(curve_name) or panel.add_curve(curve_name, color, width)
            curve.append(steps[keep], values[keep])

        if kind == "gpt_pretrain":
            for name, curve in (("loss", self.pre_train_curve), ("val_loss", self.pre_val_curve)):
                if name in metrics:
                    values = np.asarray(metrics[name], dtype=np.float64)
                    keep = np.isfinite(values)
                    curve.append(steps[keep], values[keep])
            self.pre_loss_panel.request_redraw()
            self.pre_loss_panel.redraw_if_visible()
        elif kind == "finetune":
            lower = self._lower_of_run()
            for way in WAYS:
                label = way_label(way, lower)
                if f"loss_{way}" in metrics:
                    add(self.ft_loss_panel, label, metrics[f"loss_{way}"], way_color(way), 1)
                if f"accuracy_{way}" in metrics:
                    add(self.ft_acc_panel, label, metrics[f"accuracy_{way}"], way_color(way))
            for panel in (self.ft_loss_panel, self.ft_acc_panel):
                panel.request_redraw()
                panel.redraw_if_visible()

    def _lower_of_run(self) -> int:
        if self._ft is not None:
            return int(self._ft.lower)
        cfg = self._record.config if self._record is not None else None
        return int(getattr(cfg, "lower", self.diagram.lower))

    def _on_snapshot(self, snap) -> None:
        if not self._mine():
            return
        self._pending = snap
        if self.isVisible():
            self.frames.request()

    def _draw_pending(self) -> None:
        snap, self._pending = self._pending, None
        if snap is not None and self.isVisible():
            self._show_snapshot(snap)

    def _show_snapshot(self, snap) -> None:
        if isinstance(snap, FinetuneSnapshot):
            self._show_finetune(snap)
        elif isinstance(snap, FinetuneSweepSnapshot):
            self._show_sweep(snap)
        elif isinstance(snap, GptSnapshot):
            self._show_pretrain(snap)

    def _show_pretrain(self, snap: GptSnapshot) -> None:
        self._pre = snap
        sample = (snap.sample or "").replace("&", "&amp;").replace("<", "&lt;").replace("\n", "⏎ ")
        self.pre_sample.setText(f"<b>Step {snap.step:,}</b> · validation loss {snap.val_loss:.3f} · "
                                f"accuracy {snap.accuracy:.0%}<br>The model writes: <tt>{sample}</tt>")

    def _show_finetune(self, snap: FinetuneSnapshot) -> None:
        self._ft = snap
        if snap.chance > 0:
            self.ft_chance.setPos(snap.chance)
            self.ft_chance.setVisible(True)
        rows = []
        for i, way in enumerate(snap.ways):
            acc = snap.val_accuracy[i]
            rows.append(f"<span style='color:{pg.mkColor(way_color(way)).name()}'>■</span> "
                        f"{way_label(way, snap.lower)}: {'–' if not np.isfinite(acc) else f'{acc:.0%}'}")
        dropped = f" {snap.dropped:.1%} of the characters were unknown to the model and dropped." \
            if getattr(snap, "dropped", 0) else ""
        self.ft_info.setText(f"{snap.description} · {snap.examples:,} labelled training examples · step "
                             f"{snap.step:,}.{dropped}")
        self.summary.setText(f"<b>Validation accuracy at step {snap.step:,}</b><br>" + "<br>".join(rows))
        stopped = [m for m in getattr(snap, "diverged", ()) if m]
        if stopped:  # a way that blew up stops with its message; the others go on
            self.show_banner(" ".join(stopped))
        self.changes.set_snapshot(snap)
        if self.pages.currentIndex() == CHANGES:
            self.changes.draw()

    def _show_sweep(self, snap: FinetuneSweepSnapshot) -> None:
        self._sweep = snap
        if getattr(snap, "chance", 0) > 0:
            self.sweep_chance.setPos(snap.chance)
            self.sweep_chance.setVisible(True)
        examples = np.asarray(snap.examples, dtype=np.float64)
        acc = np.asarray(snap.final_accuracy, dtype=np.float64)
        lower = self._lower_of_run()
        for i, way in enumerate(snap.ways):
            label = way_label(way, lower)
            keep = np.isfinite(acc[:, i])
            curve = self.sweep_panel.curves.get(label)
            if curve is None:
                curve = self.sweep_panel.add_curve(label, way_color(way))
                curve.item.setSymbol("o")
                curve.item.setSymbolSize(7)
                curve.item.setSymbolBrush(way_color(way))
            curve.set_data(examples[keep], acc[keep, i])
        if len(examples):
            self.sweep_panel.plot_item.getAxis("bottom").setTicks(
                [[(float(np.log10(e)), f"{int(e):,}") for e in examples if e > 0]])
        self.sweep_panel.request_redraw()
        self.sweep_panel.redraw_if_visible()
        self.sweep_info.setText(f"{snap.done} of {len(examples)} amounts of labelled data done. Where the warm "
                                f"starts stay above 'from scratch', pre-training pays off.")

    def job_ended(self, tick: Tick) -> None:
        if self._running_kind == "gpt_pretrain" and tick.status == "finished" and self._live_folder is not None:
            self.refresh_models(select=self._live_folder)
            self.state.message.emit("Pre-trained model saved with its run; it is now the starting point of "
                                    "fine-tuning.", 10000)
        if self._running_kind == "finetune_sweep" and tick.status == "finished":
            self.sweep_progress.setValue(1000)
        self._page_changed(self.pages.currentIndex())

    # -- training vs generation -----------------------------------------------------------------------------
    # -- replay ---------------------------------------------------------------------------------------------------
    def show_run(self, record: RunRecord, keep_curve: bool = False) -> None:
        """Replay a recorded run on the page of its kind."""
        self._record = record
        page = {"gpt_pretrain": PRETRAIN, "finetune": FINETUNE, "finetune_sweep": SWEEP}.get(record.kind, FINETUNE)
        if not keep_curve:
            self._running_kind = record.kind
            if record.kind == "finetune":
                self._reset_finetune_views()
            elif record.kind == "gpt_pretrain":
                for curve in (self.pre_train_curve, self.pre_val_curve):
                    curve.clear()
                self.pre_form.set_value(record.config)
                self._pre_form_changed()
            self._record = record
            self._add_metrics(record.kind, record.metrics)
            self.pages.setCurrentIndex(page)
        self.timeline.set_steps(record.snapshot_steps(), title="recorded run", emit=not keep_curve)

    def _show_recorded(self, index: int) -> None:
        snap = self.recorded_snapshot(index)
        if snap is not None:
            self._show_snapshot(snap)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        window = self.window()
        if window is not self and not window.property("gptFilter"):
            window.installEventFilter(self)
            window.setProperty("gptFilter", True)
        self._draw_pending()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Close:
            self.generation.stop()
        return False

