"""Embeddings tab state: the projection, the searched word or analogy, the run's history, and the tab's figures.

Runs of word2vec and of co-occurrence + SVD share it. The map is placed by the job's PCA, by pair-difference axes
(computed here), or by a slower projection that the view runs in the background (`projection_request` →
`set_projection`); neighbours and analogies are always computed from the snapshot on show, so nothing from an
earlier run or corpus can stay on screen.
"""
from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np

from ..analysis import neighbours as nb
from ..figures import Figure
from . import register_state
from .base import RunSource, TabState
from .embedding_map import TRAIL_LENGTH, WordColors, map_figure, sticky_range, word_colors
from .embedding_pages import (
    cooccurrence_figure,
    loss_figure,
    noise_figure,
    pulls_figure,
    spectrum_figure,
    svd_progress_figure,
)
from .embedding_search import WordSearch, has_vectors

CUSTOM_AXES = "custom axes (word pairs)"
AXIS_NAMES = {"PCA": ("PC 1", "PC 2"), "t-SNE": ("t-SNE 1", "t-SNE 2"), "Isomap": ("Isomap 1", "Isomap 2"),
              "UMAP": ("UMAP 1", "UMAP 2")}
N_LABELS = 40
MAP_CAPTION = (f"Each point is a word, coloured by its class where the corpus knows classes, else by its frequency; "
               f"the {N_LABELS} most frequent are labelled. Search a word to ring it and its nearest neighbours.")
MAP_HINT = ("Press Train: every word of the vocabulary appears here as a point,\n"
            "placed by the first two principal components of its vector.")


@dataclasses.dataclass(frozen=True)
class ProjectionRequest:
    """A background projection the map needs: `run_projection(request)` computes it off the UI thread."""

    key: tuple  # (run generation, method, words, step): stale results are dropped by it
    method: str
    vectors: np.ndarray
    n: int
    previous: np.ndarray | None
    counts: np.ndarray


def run_projection(request: ProjectionRequest) -> Any:
    """Place the `n` most frequent words with the request's method (slow: call it from a worker)."""
    from ..analysis.projection import project

    return project(request.method, request.vectors, np.arange(request.n), request.previous, 0,
                   counts=request.counts)


@dataclasses.dataclass(frozen=True)
class _Placed:
    key: tuple
    step: int
    coords: np.ndarray
    note: str


@register_state
class EmbeddingsState(WordSearch, TabState):
    """A word2vec or co-occurrence + SVD run: the loss, the map, negative sampling, counts and spectrum."""

    kinds = ("word2vec", "cooc_svd")
    ALL_FIGURES = ("loss", "map", "noise", "pulls", "cooccurrence", "spectrum")

    def __init__(self) -> None:
        super().__init__()
        self.projection = "PCA"
        self.sample_size = 3000
        self.axis_words: tuple[tuple[str, str], tuple[str, str]] = (("man", "woman"), ("small", "big"))
        self.axis_problem = ""  # why the custom axes cannot be drawn ('' when they can)
        self.projection_error = ""
        self.trails = False
        self.follow = True  # the map's range follows the points until the user pans or zooms
        self.query = ""  # the searched word
        self.analogy_words: tuple[str, str, str] | None = None
        self.mode = "query"  # which of the two the map marks: the last one asked for
        self.search_message = ""
        self._generation = 0
        self.clear_history()

    # ----- which figures a run has
    @property
    def kind(self) -> str:
        if self.source is not None and self.source.kind:
            return self.source.kind
        return "" if self.config is None else ("cooc_svd" if hasattr(self.config, "ppmi") else "word2vec")

    @property
    def figure_names(self) -> tuple[str, ...]:  # type: ignore[override]
        """The figures this run has (all of them before a run)."""
        return {"word2vec": ("loss", "map", "noise", "pulls"),
                "cooc_svd": ("loss", "map", "cooccurrence", "spectrum")}.get(self.kind, self.ALL_FIGURES)

    # ----- history
    def clear_history(self) -> None:
        self._generation = getattr(self, "_generation", 0) + 1
        self._live_coords: collections.deque = collections.deque(maxlen=TRAIL_LENGTH + 1)  # (step, PCA coords)
        self._coords_by_step: dict[int, np.ndarray] = {}  # PCA coords of recorded snapshots
        self._placed: _Placed | None = None
        self._placed_history: collections.deque = collections.deque(maxlen=TRAIL_LENGTH + 1)
        self._custom: tuple | None = None  # (vectors, pairs, coords, problem)
        self._colors: tuple | None = None  # (words, WordColors)
        self._clear_search()
        self._range: tuple | None = None  # (projection key, x0, x1, y0, y1)
        self.projection_error = ""
        self.follow = True
        self.planned_steps: int | None = None  # the live job's steps (the loss axis spans them)

    def reduce(self, snap: Any) -> None:
        if not has_vectors(snap):
            return
        coords = np.asarray(snap.coords)
        self._live_coords.append((int(snap.step), coords))
        if self.source is not None:
            self._coords_by_step[int(snap.step)] = coords

    def metric_figures(self) -> tuple[str, ...]:
        return ("loss",)

    def attach_run(self, run: RunSource) -> None:
        """The live run just recorded becomes the run on show (its timeline), without reading it back."""
        self.source = run
        self.index = len(run.steps) - 1 if run.steps else None
        self.changed.emit(())

    # ----- selection
    def set_projection(self, method: str, sample_size: int | None = None) -> None:
        """Place the words with PCA, pair axes or a slower method (of the `sample_size` most frequent)."""
        if sample_size is not None:
            self.sample_size = max(1, int(sample_size))
        self.projection = method
        self.projection_error = ""
        self.follow = True
        self._placed_history.clear()
        self.changed.emit(("map",))

    def set_axes(self, first: str, second: str) -> None:
        """The custom axes, each two words: 'man woman' runs from man to woman."""
        pairs = []
        for text in (first, second):
            words = text.replace("→", " ").replace(",", " ").lower().split()
            if len(words) != 2:
                self.axis_problem = "Give each axis two words, e.g. 'man woman'."
                self.changed.emit(("map",))
                return
            pairs.append((words[0], words[1]))
        self.axis_words = (pairs[0], pairs[1])
        self.axis_problem = ""
        self.follow = True
        self._placed_history.clear()
        self.changed.emit(("map",))

    def set_trails(self, on: bool) -> None:
        self.trails = bool(on)
        self.changed.emit(("map",))

    def set_follow(self, on: bool) -> None:
        """False once the user pans or zooms the map: its range then stays as the user left it."""
        self.follow = bool(on)

    # ----- where the words go
    def _n_placed(self) -> int:
        return min(self.sample_size, len(self.snapshot.words))

    def projection_request(self) -> ProjectionRequest | None:
        """The background projection the map needs for the snapshot on show (None: none needed)."""
        snap = self.snapshot
        if self.projection in ("PCA", CUSTOM_AXES) or not has_vectors(snap):
            return None
        n = self._n_placed()
        key = (self._generation, self.projection, n, int(snap.step))
        if self._placed is not None and self._placed.key == key:
            return None
        previous = self._placed.coords if self._placed is not None and self._placed.key[:3] == key[:3] else None
        return ProjectionRequest(key, self.projection, np.asarray(snap.vectors), n, previous,
                                 np.asarray(snap.counts))

    def set_projection_result(self, key: tuple, result: Any) -> None:
        """A background projection finished; ignored when the run, method or number of words changed since."""
        if not has_vectors(self.snapshot) or key[:3] != (self._generation, self.projection, self._n_placed()):
            return
        coords = np.asarray(result.coords, dtype=np.float64)
        self._placed = _Placed(key, key[3], coords, result.note)
        self._placed_history.append((key[3], coords))
        self.projection_error = ""
        self.changed.emit(("map",))

    def set_projection_error(self, key: tuple, message: str) -> None:
        if key[:2] == (self._generation, self.projection):
            self.projection_error = f"{self.projection} failed: {message}"
            self.changed.emit(("map",))

    def _custom_coords(self) -> tuple[np.ndarray | None, str]:
        """Every word on the two pair-difference axes, or None and why not."""
        snap = self.snapshot
        if self.axis_problem:
            return None, self.axis_problem
        ids, problem = self.lookup([w for pair in self.axis_words for w in pair])
        if ids is None:
            return None, problem
        pairs = ((ids[0], ids[1]), (ids[2], ids[3]))
        if self._custom is None or self._custom[0] is not snap.vectors or self._custom[1] != pairs:
            try:
                coords, problem = nb.pair_axes(np.asarray(snap.vectors), *pairs).astype(np.float64), ""
            except ValueError as exc:
                coords, problem = None, str(exc).capitalize() + "."
            self._custom = (snap.vectors, pairs, coords, problem)
            if coords is not None and (not self._placed_history or self._placed_history[-1][0] != int(snap.step)):
                self._placed_history.append((int(snap.step), coords))
        return self._custom[2], self._custom[3]

    def layout(self) -> tuple[int, np.ndarray, str, tuple[str, str]] | None:
        """(step, coords of the first n words, how they were placed, axis names), or None while being placed."""
        snap = self.snapshot
        if not has_vectors(snap):
            return None
        if self.projection == "PCA":
            ev = np.asarray(snap.explained, dtype=float)
            return (int(snap.step), np.asarray(snap.coords), f"PCA of the unit vectors, {ev[0]:.0%} + {ev[1]:.0%} "
                    "of the variance", AXIS_NAMES["PCA"])
        if self.projection == CUSTOM_AXES:
            coords, _ = self._custom_coords()
            if coords is None:
                return None
            (a, b), (c, d) = self.axis_words
            return int(snap.step), coords, "custom axes", (f"{a} → {b}", f"{c} → {d} (⊥)")
        placed = self._placed
        if placed is None or placed.key[:3] != (self._generation, self.projection, self._n_placed()):
            return None
        return placed.step, placed.coords, placed.note, AXIS_NAMES.get(self.projection, ("1", "2"))

    @property
    def projection_note(self) -> str:
        """One line under the projection choice: what the map shows, or why it cannot."""
        snap = self.snapshot
        if self.projection_error:
            return self.projection_error
        if self.projection == CUSTOM_AXES:
            if not has_vectors(snap):
                return self.axis_problem
            coords, problem = self._custom_coords()
            if coords is None:
                return problem
            (a, b), (c, d) = self.axis_words
            return (f"Every word's unit vector on the direction {a} → {b} (x) and on {c} → {d} made orthogonal to "
                    "it (y).")
        if not has_vectors(snap):
            return ""
        n_words = len(snap.words)
        if self.projection == "PCA":
            return f"PCA of all {n_words:,} words (no sampling)."
        from ..analysis.projection import estimated_seconds, first_use_seconds

        n = self._n_placed()
        seconds = estimated_seconds(self.projection, n)
        loading = first_use_seconds(self.projection)
        waiting = "" if self.layout() is not None else " Placing them…" + (
            f" (the first {self.projection} also loads its library: about {loading:.0f} s more)" if loading else "")
        return (f"{self.projection} of the {n:,} most frequent of {n_words:,} words"
                + (f" (about {seconds:.0f} s each time)" if seconds >= 1 else "")
                + ("; raise 'Words shown' to place more." if n < n_words else ".") + waiting)

    def trail_history(self) -> list[np.ndarray]:
        """The map's coordinates at the last snapshots up to the one on show, oldest first."""
        shown = self.shown_step
        if self.projection != "PCA":
            return [c for s, c in self._placed_history if shown is None or s <= shown]
        if self.source is not None and self.index is not None:
            out = []
            for i in range(max(0, self.index - TRAIL_LENGTH), self.index + 1):
                coords = self._recorded_coords(i)
                if coords is not None:
                    out.append(coords)
            return out
        return [c for s, c in self._live_coords if shown is None or s <= shown]

    def _recorded_coords(self, i: int) -> np.ndarray | None:
        step = int(self.source.steps[i])
        if step not in self._coords_by_step:
            snap = self._load(i)
            if not has_vectors(snap):
                return None
            self._coords_by_step[step] = np.asarray(snap.coords)
        return self._coords_by_step[step]

    def trail(self, word: int) -> np.ndarray:
        """(n, 2) the positions of one word at the last snapshots, oldest first."""
        return np.array([c[word] for c in self.trail_history() if word < len(c)])

    def colors(self) -> WordColors:
        """Each word's colour (by class where the corpus knows classes, else by frequency), made once per run."""
        snap = self.snapshot
        if self._colors is None or self._colors[0] != snap.words:
            self._colors = (snap.words, word_colors(snap.counts, snap.classes))
        return self._colors[1]

    # ----- figures
    def figure(self, name: str) -> Figure:
        builders: dict[str, Callable[[], Figure]] = {
            "loss": self.loss_figure, "map": self.map_figure, "noise": lambda: noise_figure(self.snapshot),
            "pulls": lambda: pulls_figure(self.snapshot, self.query),
            "cooccurrence": lambda: cooccurrence_figure(self.snapshot),
            "spectrum": lambda: spectrum_figure(self.snapshot)}
        return builders[name]()

    def map_figure(self) -> Figure:
        snap = self.snapshot
        layout = self.layout()
        if layout is None:
            hint = MAP_HINT
            if snap is not None and not has_vectors(snap):
                hint = "Counting co-occurrences: the map appears after the SVD (the last step)."
            elif has_vectors(snap):
                hint = self.projection_note or "Placing the words…"
            return map_figure("map", "Embedding map", AXIS_NAMES.get(self.projection, ("x", "y")), (), (), (),
                              np.zeros((0, 2)), word_colors((), ()), hint=hint, caption=MAP_CAPTION)
        step, coords, how, axes = layout
        colors = self.colors()
        n = len(coords)
        key = (self._generation, self.projection, n, self.axis_words if self.projection == CUSTOM_AXES else None)
        previous = self._range[1:] if self._range is not None and self._range[0] == key else None
        view = sticky_range(previous, coords, self.follow or previous is None)
        self._range = (key, *view) if view is not None else None
        marks = self.marks()
        words = snap.words
        caption = (f"{n:,} of {len(words):,} words; {colors.meaning}; labelled: the {min(N_LABELS, n)} most "
                   "frequent" + (f"; {marks.text}" if marks.text else ""))
        return map_figure("map", f"Embedding map at step {step:,} ({how})", axes, words, snap.counts, snap.classes,
                          coords, colors, n_labels=N_LABELS, marks=marks,
                          trails=self.trail_history() if self.trails else (), view=view, caption=caption,
                          hint=MAP_HINT)

    def _history_end(self) -> float | None:
        if self.source is not None and self.index is not None and self.snapshot is not None:
            return float(self.snapshot.step)
        return None

    def loss_figure(self) -> Figure:
        end = self._history_end()
        if self.kind == "cooc_svd":
            return svd_progress_figure(self.metrics, end)
        return loss_figure(self.metrics, self.config, self.snapshot, end, self.planned_steps)
