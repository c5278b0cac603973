"""The Embeddings tab's second-level pages: negative sampling, co-occurrence + SVD, comparison, evaluation."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QFileDialog, QGridLayout, QHBoxLayout, QLabel, QPushButton, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)
from superqt.utils import FunctionWorker

from ..widgets.embedding_map import EmbeddingMap
from ..widgets.plot_panel import PlotPanel

PULL_COLOR, PUSH_COLOR = "#009E73", "#D55E00"
MAX_TICK_WORDS = 40


def _word_ticks(words, limit: int = MAX_TICK_WORDS):
    """Axis ticks naming each row/column when there are few enough to read."""
    return [[(i, w) for i, w in enumerate(words)]] if len(words) <= limit else None


class NegativeSamplingPage(QWidget):
    """The noise distribution against the unigram one, and the pull/push of one step for the searched word."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.noise_panel = PlotPanel("Noise distribution: unigram^0.75 against the unigram", "word rank",
                                     "probability")
        self.noise_panel.set_log(x=True, y=True)
        for side in ("left", "bottom"):
            self.noise_panel.plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.unigram_curve = self.noise_panel.add_curve("unigram P(w)")
        self.noise_curve = self.noise_panel.add_curve("noise P(w)^0.75 / Z")
        self.pull_panel = PlotPanel("Search a word: the pulls and pushes on its vector in one step",
                                    "size of the step on v_c (learning rate × gradient)", "")
        self.pull_panel.plot_item.showGrid(x=True, y=False, alpha=0.15)
        self.pull_panel.plot_item.getAxis("bottom").enableAutoSIPrefix(False)
        self.pull_panel.plot_item.getAxis("left").setStyle(maxTickLevel=0)
        self.bars = pg.BarGraphItem(x0=[0.0], y=[0.0], width=[0.0], height=0.7, brush=PULL_COLOR,
                                    pen=pg.mkPen(None))
        self.bars.setVisible(False)
        self.pull_panel.plot_item.addItem(self.bars)
        self.pull_panel.set_data_provider(self._csv)
        self.note = QLabel("Positives (green) pull the word's vector towards their context vectors u_o with "
                           "strength lr·(1 − σ(u_o·v_c))·|u_o|; sampled negatives (red) push it away with "
                           "lr·σ(u_n·v_c)·|u_n|. Frequent words are drawn less often as noise than as data "
                           "(the ^0.75 flattens the distribution).")
        self.note.setWordWrap(True)
        self._rows: list[tuple[str, str, float, float]] = []
        lay = QGridLayout(self)
        lay.addWidget(self.noise_panel, 0, 0)
        lay.addWidget(self.pull_panel, 0, 1)
        lay.addWidget(self.note, 1, 0, 1, 2)
        self._counts_id = None

    def show_snapshot(self, snap) -> None:
        counts = np.asarray(snap.counts, dtype=np.float64)
        if self._counts_id != (len(counts), float(counts.sum())):
            self._counts_id = (len(counts), float(counts.sum()))
            order = np.sort(counts)[::-1]
            unigram = order / order.sum()
            noise = order ** 0.75 / (order ** 0.75).sum()
            rank = np.arange(1, len(order) + 1)
            self.unigram_curve.set_data(rank, unigram)
            self.noise_curve.set_data(rank, noise)
            top = f"the most frequent word: {unigram[0]:.2%} of the data, {noise[0]:.2%} of the noise"
            self.noise_panel.set_title(f"Noise distribution: unigram^0.75 against the unigram ({top})")
        word = getattr(snap, "ns_word", "")
        objective = getattr(snap, "objective", "negative sampling")
        if objective != "negative sampling":
            self._set_rows([], f"The {objective} objective has no sampled negatives: every word of the "
                               "vocabulary is scored at each step.")
        elif not word:
            self._set_rows([], "Search a word (left) to see its positives and sampled negatives here.")
        else:
            rows = [("+", w, float(s), float(p)) for w, s, p in
                    zip(snap.ns_positive, snap.ns_positive_score, snap.ns_positive_step)]
            rows += [("−", w, float(s), float(p)) for w, s, p in
                     zip(snap.ns_negative, snap.ns_negative_score, snap.ns_negative_step)]
            pull = sum(r[3] for r in rows if r[0] == "+")
            push = sum(r[3] for r in rows if r[0] == "−")
            self._set_rows(rows, f"'{word}' at step {snap.step:,}: {len(snap.ns_positive)} context words pull "
                                 f"(total {pull:.2g}), {len(snap.ns_negative)} sampled negatives push "
                                 f"(total {push:.2g})")
        for p in (self.noise_panel, self.pull_panel):
            p.request_redraw()
            p.redraw_if_visible()

    def _set_rows(self, rows, title: str) -> None:
        self._rows = rows
        self.pull_panel.set_title(title)
        n = len(rows)
        y = np.arange(n)[::-1].astype(float)  # the first positive at the top
        width = np.array([r[3] for r in rows], dtype=float)
        brushes = [pg.mkBrush(PULL_COLOR if r[0] == "+" else PUSH_COLOR) for r in rows]
        if n:
            self.bars.setOpts(x0=np.zeros(n), y=y, width=width, height=0.7, brushes=brushes, pen=pg.mkPen(None))
        self.bars.setVisible(bool(n))
        axis = self.pull_panel.plot_item.getAxis("left")
        axis.setTicks([[(float(yy), f"{r[0]} {r[1]}  σ={r[2]:.2f}") for yy, r in zip(y, rows)]] if n else None)
        if n:
            self.pull_panel.plot_item.setRange(xRange=(0, max(1e-12, width.max()) * 1.05), yRange=(-0.6, n - 0.4),
                                               padding=0)

    def _csv(self):
        return ["role", "word", "sigma", "step_size"], [("positive" if r[0] == "+" else "negative", r[1], r[2], r[3])
                                                         for r in self._rows]


class SvdPage(QWidget):
    """The co-occurrence counts of the most frequent words (log colours) and the singular-value spectrum."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heat_panel = PlotPanel("Co-occurrence counts of the most frequent words (log₁₀(1 + count))",
                                    "context word", "word")
        self.heat_panel.add_heatmap("counts", "viridis")
        self.heat_panel.plot_item.invertY(True)
        self.heat_panel.set_data_provider(self._heat_csv)
        self.spec_panel = PlotPanel("Singular-value spectrum", "component", "share of ‖M‖²")
        self.spec_panel.plot_item.getAxis("left").enableAutoSIPrefix(False)
        self.share_curve = self.spec_panel.add_curve("share of each component")
        self.share_curve.item.setSymbol("o")
        self.share_curve.item.setSymbolSize(5)
        self.cumulative_curve = self.spec_panel.add_curve("cumulative share")
        self.hint = QLabel("Train the co-occurrence + SVD method (Method, left) to fill these views.")
        self.hint.setWordWrap(True)
        self._words: tuple[str, ...] = ()
        self._counts = np.zeros((0, 0))
        lay = QGridLayout(self)
        lay.addWidget(self.hint, 0, 0, 1, 2)
        lay.addWidget(self.heat_panel, 1, 0)
        lay.addWidget(self.spec_panel, 1, 1)
        lay.setColumnStretch(0, 3)
        lay.setColumnStretch(1, 2)

    def show_snapshot(self, snap) -> None:
        heat = np.asarray(getattr(snap, "heatmap", np.zeros((0, 0))), dtype=np.float64)
        if heat.size:
            self._words, self._counts = tuple(snap.heatmap_words), heat
            n = len(self._words)
            self.heat_panel.set_heatmap("counts", np.log10(1.0 + heat), rect=(-0.5, -0.5, n, n))
            self.heat_panel.plot_item.getAxis("left").setTicks(_word_ticks(self._words))
            every = max(1, int(np.ceil(n / 14)))  # columns are narrow: name every few, hover names them all
            self.heat_panel.plot_item.getAxis("bottom").setTicks(
                [[(i, w) for i, w in enumerate(self._words) if i % every == 0]] if n <= MAX_TICK_WORDS else None)
            weighting = getattr(snap, "weighting", "")
            self.heat_panel.set_title(f"Co-occurrence counts of the {n} most frequent words "
                                      f"(log₁₀(1 + count); {weighting} window weighting)")
            self.hint.setVisible(False)
        sv = np.asarray(getattr(snap, "singular_values", np.zeros(0)), dtype=np.float64)
        share = np.asarray(getattr(snap, "explained_variance", np.zeros(0)), dtype=np.float64)
        if sv.size and share.size:
            k = np.arange(1, len(share) + 1)
            self.share_curve.set_data(k, share)
            self.cumulative_curve.set_data(k, np.cumsum(share))
            matrix = "PPMI" if getattr(snap, "ppmi", False) else "count"
            self.spec_panel.set_title(f"Singular values of the {matrix} matrix: the first {len(sv)} carry "
                                      f"{share.sum():.0%} of ‖M‖² (σ₁ = {sv[0]:.3g})")
        for p in (self.heat_panel, self.spec_panel):
            p.request_redraw()
            p.redraw_if_visible()

    def _heat_csv(self):
        rows = [(a, b, float(self._counts[i, j])) for i, a in enumerate(self._words)
                for j, b in enumerate(self._words)]
        return ["word", "context", "count"], rows


class ComparePage(QWidget):
    """Two methods trained together: their maps side by side and their neighbour quality by word frequency."""

    startRequested = Signal()

    def __init__(self, form: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.form = form
        self.start_button = QPushButton("Train both")
        self.start_button.setToolTip("Train both methods on the corpus chosen on the left, with the same seed")
        self.panel_a = PlotPanel("Method A", "PC 1", "PC 2")
        self.panel_b = PlotPanel("Method B (aligned to A)", "PC 1", "PC 2")
        self.maps = []
        for panel in (self.panel_a, self.panel_b):
            panel.plot_item.showGrid(False, False)
            emap = EmbeddingMap(panel.plot_item, n_labels=20)
            emap.show_key = False  # the main map has the key; here it would cover half the points
            self.maps.append(emap)
            for side in ("left", "bottom"):
                panel.plot_item.getAxis(side).enableAutoSIPrefix(False)
        self.quality_panel = PlotPanel("Neighbour purity by word frequency", "frequency group of labelled words",
                                       "neighbour purity (k = 5)")
        self.quality_panel.plot_item.setYRange(0, 1.02)
        self.quality_panel.set_data_provider(self._csv)
        self.curve_a = self.quality_panel.add_curve("A")
        self.curve_b = self.quality_panel.add_curve("B")
        for c in (self.curve_a, self.curve_b):
            c.item.setSymbol("o")
            c.item.setSymbolBrush(c.item.opts["pen"].color())
            c.item.setSymbolPen(None)
        self.note = QLabel("Purity: the share of a word's 5 nearest neighbours that belong to its class; needs a "
                           "corpus with known word classes (the generated one).")
        self.note.setWordWrap(True)
        self._last = None
        left = QVBoxLayout()
        left.addWidget(form)
        left.addWidget(self.start_button)
        left.addWidget(self.note)
        left.addStretch(1)
        lay = QGridLayout(self)
        lay.addLayout(left, 0, 0, 2, 1)
        lay.addWidget(self.panel_a, 0, 1)
        lay.addWidget(self.panel_b, 0, 2)
        lay.addWidget(self.quality_panel, 1, 1, 1, 2)
        lay.setColumnStretch(1, 1)
        lay.setColumnStretch(2, 1)
        lay.setRowStretch(0, 3)
        lay.setRowStretch(1, 2)
        self.start_button.clicked.connect(self.startRequested)

    def show_snapshot(self, snap) -> None:
        self._last = snap
        for n, (panel, emap) in enumerate(zip((self.panel_a, self.panel_b), self.maps)):
            coords = snap.coords_a if n == 0 else snap.coords_b
            view = _MapView(snap.words, snap.counts, snap.classes, coords)
            if len(coords) and np.isfinite(coords).all() and np.abs(coords).sum() > 0:
                emap.draw(view)
            loss = snap.loss_a if n == 0 else snap.loss_b
            progress = snap.progress_a if n == 0 else snap.progress_b
            panel.set_title(f"{'AB'[n]}: {snap.methods[n]} ({progress:.0%} trained, loss {loss:.3g})"
                            + (" — aligned to A" if n else ""))
        if len(snap.purity_a):
            x = np.arange(len(snap.purity_a))
            self.curve_a.set_data(x, snap.purity_a)
            self.curve_b.set_data(x, snap.purity_b)
            for item, name in ((self.quality_panel.curves["A"], snap.methods[0]),
                               (self.quality_panel.curves["B"], snap.methods[1])):
                self.quality_panel.legend.getLabel(item.item).setText(name) if hasattr(
                    self.quality_panel.legend, "getLabel") else None
            ticks = [(i, f"{'rare' if i == 0 else 'frequent' if i == len(x) - 1 else 'middle'}: "
                         f"{lo}–{hi} ({n} words)")
                     for i, (lo, hi, n) in enumerate(zip(snap.bin_low, snap.bin_high, snap.bin_size))]
            self.quality_panel.plot_item.getAxis("bottom").setTicks([ticks])
            self.quality_panel.plot_item.setXRange(-0.5, len(x) - 0.5, padding=0)
            a, b = snap.purity_a, snap.purity_b
            self.quality_panel.set_title(
                f"Neighbour purity by frequency: rare words {snap.methods[0]} {a[0]:.2f} vs {snap.methods[1]} "
                f"{b[0]:.2f}; frequent {a[-1]:.2f} vs {b[-1]:.2f}")
            self.note.setText("Purity: the share of a word's 5 nearest neighbours that belong to its class. "
                              f"Blue: A = {snap.methods[0]}; orange: B = {snap.methods[1]}.")
        for p in (self.panel_a, self.panel_b, self.quality_panel):
            p.request_redraw()
            p.redraw_if_visible()

    def _csv(self):
        snap = self._last
        if snap is None or not len(snap.purity_a):
            return ["group", "lowest_count", "highest_count", "words", "purity_a", "purity_b"], []
        return (["group", "lowest_count", "highest_count", "words", f"purity {snap.methods[0]}",
                 f"purity {snap.methods[1]}"],
                [(i, int(lo), int(hi), int(n), float(pa), float(pb)) for i, (lo, hi, n, pa, pb) in
                 enumerate(zip(snap.bin_low, snap.bin_high, snap.bin_size, snap.purity_a, snap.purity_b))])


class _MapView:
    """What the embedding map needs to draw: words, counts, classes and 2-D coordinates."""

    def __init__(self, words, counts, classes, coords) -> None:
        self.words, self.counts, self.classes = words, counts, classes
        self.coords = np.asarray(coords, dtype=np.float64)


class EvaluationPage(QWidget):
    """Scores of the vectors on screen: a similarity file (Spearman), an analogy file (accuracy), built-in tests."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.sim_button = QPushButton("Load word-similarity file…")
        self.sim_button.setToolTip("Tab- or space-separated: word1 word2 score (e.g. WordSim-353, SimLex-999)")
        self.analogy_button = QPushButton("Load analogy file…")
        self.analogy_button.setToolTip("The questions-words format: ': section' lines, then 'a b c d' per line")
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["test", "score", "covered", "what it means"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.message = QLabel("Scores follow the snapshot on screen. On the generated corpus the built-in tests "
                              "use its known word classes and analogies.")
        self.message.setWordWrap(True)
        self.similarity = None
        self.analogies = None
        self._snap = None
        self._worker: FunctionWorker | None = None
        self._again = False
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

        from ...data.errors import CorpusError

        try:
            self.similarity = read_similarity_file(path)
        except (OSError, ValueError, CorpusError) as exc:
            self.message.setText(f"Could not read {path}: {exc}")
            return False
        self.message.setText(f"Loaded {path}.")
        self.evaluate()
        return True

    def load_analogies(self, path: str) -> bool:
        from ...analysis.evaluation import read_analogy_file

        from ...data.errors import CorpusError

        try:
            self.analogies = read_analogy_file(path)
        except (OSError, ValueError, CorpusError) as exc:
            self.message.setText(f"Could not read {path}: {exc}")
            return False
        self.message.setText(f"Loaded {path}.")
        self.evaluate()
        return True

    def set_snapshot(self, snap, builtin_analogies=()) -> None:
        self._snap = (snap, tuple(builtin_analogies))
        if self.isVisible():
            self.evaluate()

    def evaluate(self) -> None:
        """Score the current vectors in the background (the newest request wins)."""
        if self._snap is None:
            return
        if self._worker is not None:
            self._again = True
            return
        snap, builtin = self._snap
        self._worker = FunctionWorker(evaluate_vectors, snap.words, np.asarray(snap.vectors), snap.classes,
                                      builtin, self.similarity, self.analogies)
        self._worker.returned.connect(self._show_rows)
        self._worker.errored.connect(lambda exc: self.message.setText(f"Evaluation failed: {exc}"))
        self._worker.finished.connect(self._done)
        self._worker.start()

    def _done(self) -> None:
        self._worker = None
        if self._again:
            self._again = False
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

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.evaluate()


def evaluate_vectors(words, vectors, classes, builtin_analogies, similarity, analogies) -> list[tuple[str, ...]]:
    """Table rows (test, score, coverage, meaning) for the vectors; runs in a worker thread."""
    from ...analysis.evaluation import similarity_spearman
    from ...analysis.neighbours import class_separation, neighbour_purity

    rows: list[tuple[str, ...]] = []
    vectors = np.asarray(vectors, dtype=np.float32)
    if not vectors.size or vectors.shape[1] == 0:
        return [("—", "", "", "no vectors yet")]
    index = {w: i for i, w in enumerate(words)}
    if any(classes):
        try:
            rows.append(("built-in: neighbour purity", f"{neighbour_purity(vectors, classes):.3f}",
                         f"{sum(1 for c in classes if c)} labelled words",
                         "share of the 5 nearest neighbours in the word's own class (1 = perfect)"))
            rows.append(("built-in: class separation", f"{class_separation(vectors, classes):.3f}", "",
                         "mean cosine within classes minus between classes"))
        except ValueError:
            pass
    if builtin_analogies:
        rows += _analogy_rows("built-in analogies", index, vectors, {"built-in": list(builtin_analogies)})
    if similarity is not None:
        rho, used, missing = similarity_spearman(vectors, index, similarity)
        rows.append(("similarity file: Spearman ρ", f"{rho:.3f}" if rho == rho else "n/a",
                     f"{used} of {used + missing} pairs", "rank correlation of cosine with the human scores"))
    if analogies is not None:
        rows += _analogy_rows("analogy file", index, vectors, analogies)
    return rows or [("—", "", "", "load a file, or train on the generated corpus for the built-in tests")]


def _analogy_rows(name: str, index, vectors, sections) -> list[tuple[str, ...]]:
    from ...analysis.evaluation import analogy_accuracy

    acc, used, missing = analogy_accuracy(vectors, index, sections)
    rows = [(f"{name}: accuracy", f"{acc:.1%}" if acc == acc else "n/a", f"{used} of {used + missing}",
             "a:b :: c:d answered by the word nearest b − a + c (a, b, c left out)")]
    if len(sections) > 1:
        for section, quads in sections.items():
            acc, used, missing = analogy_accuracy(vectors, index, quads)
            rows.append((f"    {section}", f"{acc:.1%}" if acc == acc else "n/a", f"{used} of {used + missing}", ""))
    return rows
