"""The Embeddings tab's projection choice (side panel) and its pages: negative sampling, co-occurrence + SVD,
comparison, evaluation.

Each page is a layout of panels that show the figures of the tab's states (the tab binds them); the evaluation
page scores the vectors on show in the tab's background runner.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...analysis.projection import PROJECTIONS
from ...state.embedding_pages import evaluate_vectors
from ...state.embeddings import CUSTOM_AXES, EmbeddingsState, has_vectors
from ..tasks import TaskRunner
from ..widgets.embedding_map import install_cloud
from ..widgets.plot_panel import PlotPanel


class ProjectionBox(QGroupBox):
    """How the map places the words: PCA, a slower projection of the most frequent, or two word-pair axes."""

    def __init__(self, state: EmbeddingsState, parent: QWidget | None = None) -> None:
        super().__init__("Projection to 2-D", parent)
        self.state = state
        self.projection_box = QComboBox()
        self.projection_box.addItems([*PROJECTIONS, CUSTOM_AXES])
        self.projection_box.setToolTip("PCA shows every word at once; t-SNE and the others show the N most "
                                       "frequent words (N below); custom axes use two word-pair directions")
        self.sample_box = QSpinBox()
        self.sample_box.setRange(10, 1_000_000)
        self.sample_box.setSingleStep(500)
        self.sample_box.setValue(state.sample_size)
        self.sample_box.setToolTip("How many of the most frequent words the slower projections place")
        self.axis1_edit, self.axis2_edit = QLineEdit(), QLineEdit()
        for edit, pair in zip((self.axis1_edit, self.axis2_edit), state.axis_words, strict=True):
            edit.setPlaceholderText(" ".join(pair))
            edit.setToolTip("Two words: the axis runs from the first to the second")
            edit.returnPressed.connect(self.apply)
        self.trails_box = QCheckBox("Fading trails of the marked words")
        self.trails_box.setToolTip("Show where the searched word and its neighbours came from over the last "
                                   "snapshots")
        self.projection_note = QLabel("")
        self.projection_note.setWordWrap(True)
        self.form = QFormLayout(self)
        for label, widget in (("Method", self.projection_box), ("Words shown", self.sample_box),
                              ("x axis", self.axis1_edit), ("y axis", self.axis2_edit)):
            self.form.addRow(label, widget)
        self.form.addRow(self.trails_box)
        self.form.addRow(self.projection_note)
        self.projection_box.currentTextChanged.connect(lambda _t: self.apply())
        self.sample_box.editingFinished.connect(self.apply)
        self.trails_box.toggled.connect(state.set_trails)
        self.apply()

    def apply(self) -> None:
        """Hand the choice to the state (the map and the note follow)."""
        method = self.projection_box.currentText()
        custom = method == CUSTOM_AXES
        for widget, show in ((self.sample_box, method not in ("PCA", CUSTOM_AXES)), (self.axis1_edit, custom),
                             (self.axis2_edit, custom)):
            self.form.setRowVisible(widget, show)
        if custom:
            self.state.set_axes(*(e.text() or e.placeholderText() for e in (self.axis1_edit, self.axis2_edit)))
        self.state.set_projection(method, self.sample_box.value())


class NegativeSamplingPage(QWidget):
    """The noise distribution against the unigram one, and the pull/push of one step for the searched word."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.noise_panel = PlotPanel("Noise distribution")
        self.pull_panel = PlotPanel("Pulls and pushes of one step")
        self.panels = {"noise": self.noise_panel, "pulls": self.pull_panel}
        lay = QGridLayout(self)
        lay.addWidget(self.noise_panel, 0, 0)
        lay.addWidget(self.pull_panel, 0, 1)


class SvdPage(QWidget):
    """The co-occurrence counts of the most frequent words (log colours) and the singular-value spectrum."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heat_panel = PlotPanel("Co-occurrence counts")
        self.spec_panel = PlotPanel("Singular-value spectrum")
        self.panels = {"cooccurrence": self.heat_panel, "spectrum": self.spec_panel}
        lay = QGridLayout(self)
        lay.addWidget(self.heat_panel, 0, 0)
        lay.addWidget(self.spec_panel, 0, 1)
        lay.setColumnStretch(0, 3)
        lay.setColumnStretch(1, 2)


class ComparePage(QWidget):
    """Two methods trained together: their maps side by side, their losses, and neighbour quality by frequency."""

    startRequested = Signal()

    def __init__(self, form: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = form
        self.start_button = QPushButton("Train both")
        self.start_button.setToolTip("Train both methods on the corpus chosen on the left, with the same seed")
        self.panel_a, self.panel_b = PlotPanel("Method A"), PlotPanel("Method B")
        self.clouds = [install_cloud(p.canvas) for p in (self.panel_a, self.panel_b)]
        self.quality_panel = PlotPanel("Neighbour purity by word frequency")
        self.loss_panel = PlotPanel("Training loss of both methods")
        self.panels = {"compare_a": self.panel_a, "compare_b": self.panel_b, "purity": self.quality_panel,
                       "loss": self.loss_panel}
        note = QLabel("Purity: the share of a word's 5 nearest neighbours that belong to its class; it needs a "
                      "corpus with known word classes (the generated one).")
        note.setWordWrap(True)
        left = QVBoxLayout()
        left.addWidget(form)
        left.addWidget(self.start_button)
        left.addWidget(note)
        left.addStretch(1)
        lay = QGridLayout(self)
        lay.addLayout(left, 0, 0, 2, 1)
        lay.addWidget(self.panel_a, 0, 1)
        lay.addWidget(self.panel_b, 0, 2)
        lay.addWidget(self.quality_panel, 1, 1)
        lay.addWidget(self.loss_panel, 1, 2)
        lay.setColumnStretch(1, 1)
        lay.setColumnStretch(2, 1)
        lay.setRowStretch(0, 3)
        lay.setRowStretch(1, 2)
        self.start_button.clicked.connect(self.startRequested)


class EvaluationPage(QWidget):
    """Scores of the vectors on show: a similarity file (Spearman), an analogy file (accuracy), built-in tests."""

    def __init__(self, tasks: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.tasks = tasks
        self.sim_button = QPushButton("Load word-similarity file…")
        self.sim_button.setToolTip("Tab- or space-separated: word1 word2 score (e.g. WordSim-353, SimLex-999)")
        self.analogy_button = QPushButton("Load analogy file…")
        self.analogy_button.setToolTip("The questions-words format: ': section' lines, then 'a b c d' per line")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["test", "score", "covered", "what it means"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.message = QLabel("Scores follow the snapshot on show. On the generated corpus the built-in tests "
                              "use its known word classes and analogies.")
        self.message.setWordWrap(True)
        self.similarity = None
        self.analogies = None
        self.rows: list[tuple[str, ...]] = []
        self._snap = None
        self._scored = None  # the (snapshot, files) the table shows
        self._due = False
        row = QHBoxLayout()
        row.addWidget(self.sim_button)
        row.addWidget(self.analogy_button)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addLayout(row)
        lay.addWidget(self.message)
        lay.addWidget(self.table, 1)
        self.sim_button.clicked.connect(self._ask_similarity)
        self.analogy_button.clicked.connect(self._ask_analogies)

    def _ask_similarity(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Word-similarity file", "", "Text (*.txt *.tsv *.csv);;All (*)")
        if path:
            self.load_similarity(path)

    def _ask_analogies(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Analogy file", "", "Text (*.txt);;All (*)")
        if path:
            self.load_analogies(path)

    def load_similarity(self, path: str) -> bool:
        from ...analysis.evaluation import read_similarity_file

        return self._load(path, read_similarity_file, "similarity")

    def load_analogies(self, path: str) -> bool:
        from ...analysis.evaluation import read_analogy_file

        return self._load(path, read_analogy_file, "analogies")

    def _load(self, path: str, read, attr: str) -> bool:
        from ...data.errors import CorpusError

        try:
            setattr(self, attr, read(path))
        except (OSError, ValueError, CorpusError) as exc:
            self.message.setText(f"Could not read {path}: {exc}")
            return False
        self.message.setText(f"Loaded {path}.")
        self._scored = None
        self.evaluate()
        return True

    def set_snapshot(self, snap, builtin_analogies=()) -> None:
        """The vectors to score (scored now if the page is on show, else when it is shown)."""
        self._snap = (snap, tuple(builtin_analogies))
        if self.isVisible():
            self.evaluate()

    def evaluate(self) -> None:
        """Score the vectors on show in the background: one scoring at a time, the newest vectors next."""
        if self._snap is None or not has_vectors(self._snap[0]):
            self._show_rows([("—", "", "", "no vectors yet: train or open a run")])
            return
        key = (self._snap[0], self.similarity, self.analogies)
        if self._scored is not None and all(a is b for a, b in zip(self._scored, key, strict=True)):
            return
        if self.tasks.busy("evaluate"):
            self._due = True
            return
        snap, builtin = self._snap
        self.tasks.submit("evaluate", evaluate_vectors, snap.words, np.asarray(snap.vectors), snap.classes,
                          builtin, self.similarity, self.analogies,
                          on_done=lambda rows, k=key: self._done(k, rows),
                          on_error=lambda msg: self._done(None, None, f"Evaluation failed: {msg}"))

    def _done(self, key, rows, error: str = "") -> None:
        if error:
            self.message.setText(error)
        else:
            self._scored = key
            self._show_rows(rows)
        if self._due:
            self._due = False
            self.evaluate()

    def _show_rows(self, rows) -> None:
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c == 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.evaluate()
