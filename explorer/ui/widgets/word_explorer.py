"""Query the vectors on screen: a word's nearest neighbours, analogies a − b + c, and export of the vectors."""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QStringListModel, Qt, Signal
from PySide6.QtWidgets import (
    QCompleter, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QListWidget, QMessageBox, QPushButton,
    QVBoxLayout, QWidget,
)

from ...analysis.neighbours import analogy, nearest, normalise
from ...export.vectors import write_projector_tsv, write_word2vec_text


class WordExplorer(QWidget):
    """Search with completion, neighbour list, analogy box and vector export over the snapshot last drawn.

    Emits `highlight(query index, [(index, score)])` and `analogyShown(a, b, c, [(index, score)])` for the map.
    """

    highlight = Signal(int, object)
    analogyShown = Signal(int, int, int, object)

    def __init__(self, parent: QWidget | None = None, k: int = 10) -> None:
        super().__init__(parent)
        self.k = k
        self.words: tuple[str, ...] = ()
        self.index: dict[str, int] = {}
        self.unit = np.zeros((0, 1), np.float32)
        self.raw = np.zeros((0, 1), np.float32)
        self.counts = np.zeros(0)
        self.classes: tuple[str, ...] = ()
        self.search = QLineEdit()
        self.search.setPlaceholderText("search a word…")
        self._completion = QStringListModel(self)
        completer = QCompleter(self._completion, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchStartsWith)
        self.search.setCompleter(completer)
        self.neighbours = QListWidget()
        self.neighbours.setMaximumHeight(170)
        self.a, self.b, self.c = QLineEdit(), QLineEdit(), QLineEdit()
        for w, tip in ((self.a, "king"), (self.b, "man"), (self.c, "woman")):
            w.setPlaceholderText(tip)
            w.setCompleter(completer)
        self.solve = QPushButton("a − b + c")
        self.answers = QListWidget()
        self.answers.setMaximumHeight(110)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.export_w2v = QPushButton("word2vec text…")
        self.export_tsv = QPushButton("projector TSV…")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.search)
        lay.addWidget(self.neighbours)
        form = QFormLayout()
        row = QHBoxLayout()
        for w in (self.a, QLabel("−"), self.b, QLabel("+"), self.c):
            row.addWidget(w)
        form.addRow(row)
        form.addRow(self.solve)
        lay.addLayout(form)
        lay.addWidget(self.answers)
        lay.addWidget(self.message)
        export = QHBoxLayout()
        export.addWidget(QLabel("Export vectors:"))
        export.addWidget(self.export_w2v)
        export.addWidget(self.export_tsv)
        lay.addLayout(export)
        self.search.returnPressed.connect(lambda: self.look_up(self.search.text()))
        completer.activated.connect(lambda text: self.look_up(text) if self.search.hasFocus() else None)
        self.solve.clicked.connect(self.solve_analogy)
        self.c.returnPressed.connect(self.solve_analogy)
        self.export_w2v.clicked.connect(lambda: self._export("w2v"))
        self.export_tsv.clicked.connect(lambda: self._export("tsv"))
        self.setEnabled(False)

    def set_snapshot(self, snap) -> None:
        """Use the vectors of this snapshot (the one the map shows)."""
        if snap.words != self.words:
            self.words = snap.words
            self.index = {w: i for i, w in enumerate(snap.words)}
            self._completion.setStringList(list(snap.words))
        self.raw = np.asarray(snap.vectors, dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):  # a run about to diverge has huge vectors
            self.unit = normalise(self.raw)
        self.counts, self.classes = snap.counts, snap.classes
        self.setEnabled(True)

    def _id(self, text: str) -> int | None:
        word = text.strip().lower()
        if word not in self.index:
            self.message.setText(f"'{text.strip()}' is not in the vocabulary." if word else "Type a word.")
            return None
        return self.index[word]

    def look_up(self, text: str) -> list[tuple[int, float]]:
        """List and highlight the nearest neighbours of a word by cosine similarity."""
        i = self._id(text)
        if i is None:
            return []
        hits = nearest(self.unit, i, self.k)
        self.neighbours.clear()
        self.neighbours.addItems([f"{self.words[j]}   {score:.3f}" for j, score in hits])
        self.message.setText(f"Nearest to '{self.words[i]}' by cosine similarity (count {int(self.counts[i]):,}).")
        self.search.setText(self.words[i])
        self.highlight.emit(i, hits)
        return hits

    def solve_analogy(self) -> list[tuple[int, float]]:
        """Answer a − b + c (king − man + woman ≈ queen) with the top words and their cosine scores."""
        ids = [self._id(w.text()) for w in (self.a, self.b, self.c)]
        if any(i is None for i in ids):
            return []
        a, b, c = ids
        hits = analogy(self.unit, a, b, c, k=5)
        self.answers.clear()
        self.answers.addItems([f"{self.words[j]}   {score:.3f}" for j, score in hits])
        self.message.setText(f"{self.words[a]} − {self.words[b]} + {self.words[c]} ≈ "
                             f"{self.words[hits[0][0]] if hits else '?'}")
        self.analogyShown.emit(a, b, c, hits)
        return hits

    def export_vectors(self, kind: str, path: str, metadata_path: str | None = None) -> None:
        """Write the current vectors as word2vec text ('w2v') or as projector TSVs ('tsv')."""
        if kind == "w2v":
            write_word2vec_text(path, self.words, self.raw)
        else:
            extra = {"count": [int(c) for c in self.counts]}
            if any(self.classes):
                extra["class"] = list(self.classes)
            write_projector_tsv(path, metadata_path, self.words, self.raw, extra)

    def _export(self, kind: str) -> None:
        if kind == "w2v":
            path, _ = QFileDialog.getSaveFileName(self, "Export vectors", "vectors.txt", "word2vec text (*.txt)")
            meta = None
        else:
            path, _ = QFileDialog.getSaveFileName(self, "Export vectors (TSV)", "vectors.tsv", "TSV (*.tsv)")
            meta = path[:-4] + "_metadata.tsv" if path.endswith(".tsv") else path + "_metadata.tsv"
        if not path:
            return
        try:
            self.export_vectors(kind, path, meta)
        except (OSError, ValueError) as exc:
            QMessageBox.warning(self, "Export vectors", f"Could not write the vectors:\n{exc}")
            return
        self.message.setText(f"Wrote {len(self.words):,} vectors to {path}" + (f" and {meta}" if meta else ""))
