"""Query the vectors on show: a word's nearest neighbours, analogies a − b + c, and export of the vectors.

A thin view of `EmbeddingsState`: searches and analogies go to the state, which computes them from the snapshot
on show (and marks them on the map); `refresh()` shows what the state holds, so nothing stays from an older run.
"""
from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt
from PySide6.QtWidgets import (
    QCompleter,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...export.vectors import write_projector_tsv, write_word2vec_text
from ...state.embeddings import EmbeddingsState, has_vectors


class WordExplorer(QWidget):
    """Search with completion, neighbour list, analogy box and vector export over the snapshot on show."""

    def __init__(self, state: EmbeddingsState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self._vocabulary: tuple[str, ...] | None = None
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
        self.refresh()

    @property
    def words(self) -> tuple[str, ...]:
        return self.state.words

    @property
    def index(self) -> dict[str, int]:
        return self.state.index_of

    def look_up(self, text: str) -> list[tuple[int, float]]:
        """Search a word: its nearest neighbours by cosine, listed here and ringed on the map."""
        hits = self.state.set_query(text)
        if hits:
            self.search.setText(self.state.query)
        self.refresh()
        return hits

    def solve_analogy(self) -> list[tuple[int, float]]:
        """Answer a − b + c (king − man + woman ≈ queen) with the top words and their cosine scores."""
        hits = self.state.set_analogy(self.a.text(), self.b.text(), self.c.text())
        self.refresh()
        return hits

    def refresh(self) -> None:
        """Show the state's neighbours, answers and message for the snapshot on show."""
        state = self.state
        words = state.words
        if words is not self._vocabulary and words != self._vocabulary:
            self._vocabulary = words
            self._completion.setStringList(list(words))
        answers = state.analogy_answers() if state.analogy_words is not None else []
        hits = state.neighbours()  # after the answers: the message is about the search ...
        if state.mode == "analogy":
            state.analogy_answers()  # ... unless an analogy was the last thing asked
        _set_rows(self.neighbours, [f"{words[j]}   {score:.3f}" for j, score in hits])
        _set_rows(self.answers, [f"{words[j]}   {score:.3f}" for j, score in answers])
        self.message.setText(state.search_message)
        self.setEnabled(has_vectors(state.snapshot))

    def export_vectors(self, kind: str, path: str, metadata_path: str | None = None) -> None:
        """Write the vectors on show as word2vec text ('w2v') or as projector TSVs ('tsv')."""
        snap = self.state.snapshot
        if kind == "w2v":
            write_word2vec_text(path, snap.words, snap.vectors)
        else:
            extra = {"count": [int(c) for c in snap.counts]}
            if any(snap.classes):
                extra["class"] = list(snap.classes)
            write_projector_tsv(path, metadata_path, snap.words, snap.vectors, extra)

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


def _set_rows(widget: QListWidget, rows: list[str]) -> None:
    """Replace a list's rows (left alone when they are the same, so a selection survives a redraw)."""
    if [widget.item(i).text() for i in range(widget.count())] != rows:
        widget.clear()
        widget.addItems(rows)
