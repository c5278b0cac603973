"""Searching the vectors on show: a word's nearest neighbours and analogies a − b + c, and what the map marks.

Always computed from the snapshot on show (cached per snapshot), so that no word of an earlier run or corpus can
stay in a list or on the map.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis import neighbours as nb
from .embedding_map import Marks

K_NEIGHBOURS, K_ANSWERS = 10, 5


def has_vectors(snap: Any) -> bool:
    """True for a snapshot with word vectors (not a co-occurrence run still counting)."""
    v = None if snap is None else getattr(snap, "vectors", None)
    return v is not None and np.ndim(v) == 2 and np.shape(v)[1] > 0 and np.shape(v)[0] > 0


class WordSearch:
    """The searched word or analogy of a tab state (a mixin: it reads `self.snapshot`, emits `self.changed`)."""

    snapshot: Any

    def _clear_search(self) -> None:
        """Forget what was computed for earlier snapshots (the question asked stays)."""
        self._index: tuple = (None, {})  # (words, word -> id)
        self._unit: tuple | None = None  # (vectors, unit vectors)
        self._hits: tuple | None = None  # (vectors, {question: (answers, message)})

    def set_query(self, text: str) -> list[tuple[int, float]]:
        """Search a word: the map rings it and its nearest neighbours; returns (word id, cosine) of those."""
        self.query = text.strip().lower()
        self.mode = "query"
        hits = self.neighbours()
        self.changed.emit(("map",))
        return hits

    def set_analogy(self, a: str, b: str, c: str) -> list[tuple[int, float]]:
        """Ask a − b + c (king − man + woman ≈ queen); returns the answers as (word id, cosine)."""
        self.analogy_words = (a.strip().lower(), b.strip().lower(), c.strip().lower())
        self.mode = "analogy"
        hits = self.analogy_answers()
        self.changed.emit(("map",))
        return hits

    # ----- words of the snapshot on show
    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.snapshot.words) if has_vectors(self.snapshot) else ()

    @property
    def index_of(self) -> dict[str, int]:
        snap = self.snapshot
        if not has_vectors(snap):
            return {}
        if self._index[0] is not snap.words:
            self._index = (snap.words, {w: i for i, w in enumerate(snap.words)})
        return self._index[1]

    def _unit_vectors(self) -> np.ndarray:
        vectors = self.snapshot.vectors
        if self._unit is None or self._unit[0] is not vectors:
            with np.errstate(over="ignore", invalid="ignore"):  # a run about to diverge has huge vectors
                self._unit = (vectors, nb.normalise(np.asarray(vectors, dtype=np.float32)))
        return self._unit[1]

    def lookup(self, words) -> tuple[list[int] | None, str]:
        """The ids of words in the snapshot on show, or None and why not."""
        index = self.index_of
        if not index:
            return None, "Train or open a run first: there are no vectors yet."
        missing = [w for w in words if w not in index]
        if missing:
            if missing == [""]:
                return None, "Type a word."
            return None, (f"'{missing[0]}' is not in the vocabulary." if len(words) == 1 else
                          f"Not in the vocabulary: {', '.join(missing)}.")
        return [index[w] for w in words], ""

    def _cached(self, key: tuple, compute: Callable[[], list]) -> list[tuple[int, float]]:
        """Neighbour lists are asked for by the map and the list each frame: computed once per snapshot."""
        vectors = self.snapshot.vectors
        if self._hits is None or self._hits[0] is not vectors:
            self._hits = (vectors, {})
        table = self._hits[1]
        if key not in table:
            table[key] = (compute(), self.search_message)
        hits, self.search_message = table[key]
        return hits

    def neighbours(self) -> list[tuple[int, float]]:
        """The searched word's nearest neighbours by cosine in the snapshot on show (empty if none)."""
        if not self.query:
            self.search_message = ""
            return []
        ids, self.search_message = self.lookup([self.query])
        if ids is None:
            return []

        def compute() -> list[tuple[int, float]]:
            count = int(np.asarray(self.snapshot.counts)[ids[0]])
            self.search_message = f"Nearest to '{self.query}' by cosine similarity (count {count:,})."
            return nb.nearest(self._unit_vectors(), ids[0], K_NEIGHBOURS)

        return self._cached(("query", self.query), compute)

    def analogy_answers(self) -> list[tuple[int, float]]:
        """The words nearest a − b + c in the snapshot on show (empty if a word is missing)."""
        if self.analogy_words is None:
            return []
        ids, self.search_message = self.lookup(self.analogy_words)
        if ids is None:
            return []

        def compute() -> list[tuple[int, float]]:
            hits = nb.analogy(self._unit_vectors(), *ids, k=K_ANSWERS)
            a, b, c = self.analogy_words
            self.search_message = f"{a} − {b} + {c} ≈ {self.words[hits[0][0]] if hits else '?'}"
            return hits

        return self._cached(("analogy", *self.analogy_words), compute)

    def marks(self) -> Marks:
        """What the map rings, labels and joins with arrows."""
        if self.mode == "analogy" and self.analogy_words is not None:
            hits = self.analogy_answers()
            if hits:
                a, b, c = (self.index_of[w] for w in self.analogy_words)
                d, score = hits[0]
                words = self.words
                return Marks((d,), "answer a − b + c", (a, b, c), "a, b, c", arrows=((b, a), (c, d)),
                             text=f"{words[a]} − {words[b]} + {words[c]} ≈ {words[d]} (cosine {score:.2f}, orange "
                                  f"ring; a, b, c in blue); arrows {words[b]} → {words[a]} and {words[c]} → "
                                  f"{words[d]}")
            return Marks()
        hits = self.neighbours()
        if not hits:
            return Marks()
        i = self.index_of[self.query]
        near = ", ".join(f"{self.words[j]} {s:.2f}" for j, s in hits[:5])
        return Marks((i,), "searched word", tuple(j for j, _ in hits), "nearest neighbours",
                     text=f"ringed: '{self.query}' (orange) and its {len(hits)} nearest neighbours by cosine "
                          f"(blue: {near}, …)")
