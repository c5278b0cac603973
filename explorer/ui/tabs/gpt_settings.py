"""The settings column of the Pre-train & fine-tune tab: pre-training (corpus, model size, form) and fine-tuning
(task and data, labelled share, the ways, the lower N drawn as a layer stack)."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...data.finetune_tasks import CLASSIFY_SOURCES, NEXT_TOKEN_SOURCES
from ...state.finetune import way_color
from ...training.jobs.finetune_job import SHARES, WAYS, FinetuneConfig, way_label
from ...training.jobs.pretrain_job import PRESETS, PretrainConfig, apply_preset
from ..app_state import AppState
from ..widgets.corpus_box import CorpusBox
from ..widgets.layer_diagram import LayerDiagram
from ..widgets.param_form import ParamForm


def layer_names(layers: int) -> list[str]:
    """The groups of a GPT with `layers` blocks, bottom-up, as the transfer code names them."""
    return ["embedding"] + [f"block {i + 1}" for i in range(layers)] + ["output"]


def form_stack(*widgets: QWidget) -> QStackedWidget:
    """The settings of each page, one in front at a time, each at the top of its page."""
    stack = QStackedWidget()
    for widget in widgets:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(widget)
        lay.addStretch(1)
        stack.addWidget(page)
    return stack


def show_form(stack: QStackedWidget, index: int) -> None:
    """Bring settings `index` to the front; the stack takes the height of that page only."""
    stack.setCurrentIndex(index)
    for i in range(stack.count()):
        policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
        stack.widget(i).setSizePolicy(policy, policy)
    stack.adjustSize()


def _elide(box: QComboBox) -> None:
    """Long labels must not widen the side panel (they elide; tooltips tell)."""
    box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    box.setMinimumContentsLength(16)


class PretrainSettings(QGroupBox):
    """Corpus, model size (a preset sets every number together) and the pre-training form."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__("Pre-training", parent)
        self.form = ParamForm(PretrainConfig)
        self.form.set_hidden_fields(["task", "probe_text", "corpus", "preset"])
        self.preset_box = QComboBox()
        for name, numbers in PRESETS.items():
            self.preset_box.addItem(f"{name} ({numbers['layers']} × {numbers['width']}, context {numbers['context']})",
                                    name)
        self.preset_box.addItem("your own numbers", "")
        self.preset_box.setToolTip(PretrainConfig.__dataclass_fields__["preset"].metadata["param"]["help"])
        self.preset_box.activated.connect(lambda _i: self.use_preset(self.preset_box.currentData()))
        _elide(self.preset_box)
        self.corpus_box = CorpusBox(state, "builtin:austen", builtins=("austen", "stdlib"))
        lay = QVBoxLayout(self)
        rows = QFormLayout()
        rows.addRow("Corpus", self.corpus_box)
        rows.addRow("Model size", self.preset_box)
        lay.addLayout(rows)
        lay.addWidget(self.form)
        self.form.valueChanged.connect(self._form_changed)
        self._form_changed()

    def use_preset(self, name: str) -> None:
        """A model size sets layers, heads, width, context, batch size, steps and learning rate together."""
        if not name:  # "your own numbers": nothing to set
            return
        self.form.set_value(apply_preset(self.form.last_valid_value() or PretrainConfig(), name))
        self._form_changed()

    def show_config(self, cfg: PretrainConfig) -> None:
        """The settings of an opened run: its numbers, its size, its corpus (when the list has it)."""
        self.form.set_value(cfg)
        self._form_changed()
        index = self.corpus_box.findData(cfg.corpus)
        if index >= 0:
            self.corpus_box.setCurrentIndex(index)

    def _form_changed(self, _cfg=None) -> None:
        """Show which preset the numbers are (or that they are the user's own)."""
        cfg = self.form.last_valid_value()
        if cfg is None:
            return
        name = next((n for n in PRESETS if apply_preset(cfg, n) == cfg), "")
        self.preset_box.setCurrentIndex(self.preset_box.findData(name))
        self.preset_box.setToolTip("" if name else "Your own numbers (no preset)")

    def config(self) -> PretrainConfig:
        """The form's settings with the chosen corpus (the form must be valid)."""
        return dataclasses.replace(self.form.value(), corpus=self.corpus_box.currentData() or "builtin:austen")


class FinetuneSettings(QWidget):
    """The fine-tuning task, the labelled share, the ways and N; `changed` when ways, N or the file change."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.file = ""
        self.form = ParamForm(FinetuneConfig)
        self.form.set_hidden_fields(["pretrained", "file", "ways", "lower", "probe_text", "share"])
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
            box.setStyleSheet(f"QCheckBox {{ color: {way_color(way)}; font-weight: bold; }}")
            box.toggled.connect(lambda _on: self.changed.emit())
            self.way_boxes[way] = box
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
        task_group = QGroupBox("Fine-tuning task")
        task_lay = QVBoxLayout(task_group)
        share_row = QHBoxLayout()
        share_row.addWidget(QLabel("Labelled data"))
        share_row.addWidget(self.share_slider, 1)
        share_row.addWidget(self.share_label)
        task_lay.addLayout(share_row)
        task_lay.addWidget(self.form)
        task_lay.addWidget(self.source_label)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_button)
        file_row.addWidget(self.file_label, 1)
        task_lay.addLayout(file_row)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        for w in (task_group, ways_group, diagram_group):
            lay.addWidget(w)
        self.form.widget_for("task").currentIndexChanged.connect(self._task_edited)
        self.form.widget_for("source").currentIndexChanged.connect(lambda _i: self._describe())
        self.form.valueChanged.connect(lambda _c: self._describe())
        self._share_moved(self.share_slider.value())
        self._task_edited()
        self._describe()

    def ways(self) -> list[str]:
        return [w for w, box in self.way_boxes.items() if box.isChecked()]

    def set_model(self, info) -> None:
        """Draw the layers of the chosen pre-trained model (two blocks when there is none)."""
        if info is None:
            self.diagram.set_groups(layer_names(2))
        else:
            lower = min(self.diagram.lower or FinetuneConfig().lower, info.layers + 1)
            self.diagram.set_groups(layer_names(info.layers), lower=lower)
        self._lower_changed(self.diagram.lower)

    def sync_hidden(self, info) -> None:
        """Put what is chosen outside the form (model, file, ways, N) into the form's config."""
        self.form.set_fields(pretrained=str(info.folder) if info is not None else "", file=self.file,
                             ways=",".join(self.ways()), lower=self.diagram.lower)

    def preview(self) -> FinetuneConfig:
        """The chosen ways and N, for legends before any run."""
        return FinetuneConfig(ways=",".join(self.ways()), lower=self.diagram.lower)

    def show_config(self, cfg) -> None:
        """The settings of an opened run: form, labelled share, ways, N and file."""
        self.file = getattr(cfg, "file", "") or ""
        self.form.set_value(cfg)
        if cfg.share in SHARES:
            self.share_slider.setValue(SHARES.index(cfg.share))
        chosen = cfg.way_list()
        for way, box in self.way_boxes.items():
            box.blockSignals(True)
            box.setChecked(way in chosen)
            box.blockSignals(False)
        self.diagram.set_lower(cfg.lower, emit=False)
        self._lower_changed(self.diagram.lower)
        self._describe()

    def _lower_changed(self, n: int) -> None:
        for way, box in self.way_boxes.items():
            box.setText(way_label(way, n))
        self.changed.emit()

    def _share_moved(self, index: int) -> None:
        share = SHARES[index]
        self.share_label.setText(f"{share:.0%}")
        self.form.set_fields(share=share)

    def _task_edited(self, _index: int = 0) -> None:
        """Offer only the data sources of the chosen task (and switch to its first when the old one is not)."""
        task = self.form.widget_for("task").currentText()
        sources = CLASSIFY_SOURCES if task == "classify" else NEXT_TOKEN_SOURCES
        box = self.form.widget_for("source")
        view = box.view()
        for i in range(box.count()):
            view.setRowHidden(i, box.itemText(i) not in sources)
        if box.currentText() not in sources:
            box.setCurrentIndex(box.findText(next(iter(sources))))

    def _describe(self) -> None:
        """Describe the chosen data and ask for a file where it needs one (read from the widgets: the form may
        not be valid yet, e.g. before a model exists)."""
        task = self.form.widget_for("task").currentText()
        source = self.form.widget_for("source").currentText()
        sources = CLASSIFY_SOURCES if task == "classify" else NEXT_TOKEN_SOURCES
        self.source_label.setText(f"Data: {sources[source]}" if source in sources else "")
        needs_file = source == "file" or source.endswith("-file")
        self.file_button.setVisible(needs_file)
        self.file_label.setVisible(needs_file)
        self.file_label.setText(Path(self.file).name if self.file else "no file chosen")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Text for fine-tuning", "", "Text (*.txt *.gz *.md);;All (*)")
        if path:
            self.set_file(path)

    def set_file(self, path: str) -> None:
        self.file = path
        self._describe()
        self.changed.emit()
