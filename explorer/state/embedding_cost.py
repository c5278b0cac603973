"""States of the word-vector cost measurements: a word2vec step against vocabulary size (softmax_cost), and the
SVD against vocabulary size with the new-word experiment (svd_cost)."""
from __future__ import annotations

import math

import numpy as np

from ..figures import Axis, Bars, Figure, Series, Table
from . import register_state
from .base import TabState


def loglog_slope(sizes, values, upper: float = 1.0) -> float:
    """Least-squares slope of log(value) on log(size) over the largest `upper` share of the positive points
    (at least two; NaN under two)."""
    n, v = np.asarray(sizes, float), np.asarray(values, float)
    ok = (n > 0) & (v > 0) & np.isfinite(v)
    n, v = n[ok], v[ok]
    order = np.argsort(n)
    keep = order[-max(2, math.ceil(len(n) * upper)):]
    if len(set(n[keep].tolist())) < 2:
        return float("nan")
    return float(np.polyfit(np.log(n[keep]), np.log(v[keep]), 1)[0])


def _groups(names, sizes, seconds, fastest, slowest) -> dict[str, tuple[np.ndarray, ...]]:
    """Rows grouped by name (in first-seen order), each as (sizes, median, fastest, slowest) arrays."""
    names = list(names)
    out = {}
    for name in dict.fromkeys(names):
        idx = np.array([i for i, x in enumerate(names) if x == name])
        out[name] = tuple(np.asarray(a, float)[idx] for a in (sizes, seconds, fastest, slowest))
    return out


def _time_figure(name: str, title: str, groups: dict, x_label: str, caption: str, hint: str,
                 upper: float = 1.0) -> Figure:
    sizes = sorted({int(v) for g in groups.values() for v in g[0]})
    x = Axis(x_label, "words", log=True, ticks=tuple((float(v), f"{v:,}") for v in sizes) or None)
    y = Axis("time (median of repeats)", "s", log=True)
    if not groups:
        return Figure(name, title, x, y, hint=hint)
    series = []
    for i, (label, (n, t, lo, hi)) in enumerate(groups.items()):
        series.append(Series(f"{label} (slope {loglog_slope(n, t, upper):.2f})", n, t, color=i, symbol="o"))
        nan = np.full(len(n), np.nan)  # one vertical bar per size, from the fastest to the slowest repeat
        series.append(Series(f"{label}: fastest to slowest", np.ravel(np.c_[n, n, nan]),
                             np.ravel(np.c_[lo, hi, nan]), color=i, width=1.0, legend=False))
    rows = [(label, int(a), float(b), float(c), float(d)) for label, g in groups.items()
            for a, b, c, d in zip(*g, strict=True)]
    return Figure(name, title, x, y, series=tuple(series), caption=caption,
                  data=Table(("method", f"{x_label} (words)", "median time (s)", "fastest (s)", "slowest (s)"), rows))


@register_state
class SoftmaxCostState(TabState):
    """Seconds of one word2vec training step against vocabulary size, full softmax and negative sampling."""

    kinds = ("softmax_cost",)
    figure_names = ("step_time",)

    def groups(self) -> dict[str, tuple[np.ndarray, ...]]:
        s = self.snapshot
        return {} if s is None else _groups(s.objectives, s.vocab, s.seconds, s.fastest, s.slowest)

    def figure(self, name: str) -> Figure:
        groups, s = self.groups(), self.snapshot
        title = "Time of one skip-gram training step against vocabulary size"
        caption = ""
        if groups:
            slopes = "; ".join(f"{k} {loglog_slope(g[0], g[1], 0.5):.2f}" for k, g in groups.items())
            caption = (f"One SGD step (scores, gradients, update) on the same {s.batch} (word, context) pairs, "
                       f"{s.dim}-dimensional vectors; negative sampling with {s.negatives} noise words per pair. "
                       f"Log-log slopes fitted over the larger half of the sizes (1 = linear in |V|, 0 = flat): "
                       f"{slopes}. Bars: fastest to slowest repeat. One torch thread on {s.device}.")
        return _time_figure(name, title, groups, "vocabulary size |V|", caption,
                            "Run the measurement to time a step at each vocabulary size.", upper=0.5)


@register_state
class SvdCostState(TabState):
    """The SVD's time against vocabulary size, and what adding a word costs each method and where it lands."""

    kinds = ("svd_cost",)
    figure_names = ("svd_time", "new_word")

    def groups(self) -> dict[str, tuple[np.ndarray, ...]]:
        s = self.snapshot
        return {} if s is None else _groups(s.methods, s.vocab, s.seconds, s.fastest, s.slowest)

    def figure(self, name: str) -> Figure:
        return self.time_figure() if name == "svd_time" else self.new_word_figure()

    def time_figure(self) -> Figure:
        groups, s = self.groups(), self.snapshot
        caption = ""
        if groups:
            slopes = "; ".join(f"{k} {loglog_slope(g[0], g[1]):.2f}" for k, g in groups.items())
            caption = (f"PPMI co-occurrence matrix of the most frequent words of {s.scaling_corpus}: the full SVD "
                       f"(every singular triplet, dense LAPACK) and the truncated one (the top {s.dim}, sparse "
                       f"PROPACK). Log-log slopes fitted over all sizes (3 = cubic): {slopes}. Bars: fastest to "
                       f"slowest repeat. One BLAS thread.")
        return _time_figure("svd_time", "Time of the SVD against vocabulary size", groups, "vocabulary size |V|",
                            caption, "Run the measurement to time the SVD at each vocabulary size.")

    def new_word_figure(self) -> Figure:
        s = self.snapshot
        labels = ("SVD: learn base corpus", "SVD: add new text", "word2vec: learn base corpus",
                  "word2vec: add new text")
        x = Axis("", ticks=tuple((float(i), t) for i, t in enumerate(labels)), range=(-0.6, 3.6))
        y = Axis("time", "s")
        title = "Adding a new word: recount + SVD against continued word2vec training"
        if s is None or not math.isfinite(s.w2v_update_s):
            return Figure("new_word", title, x, y, hint="The new-word experiment runs after the SVD timings.")
        values = (s.svd_base_s, s.svd_update_s, s.w2v_base_s, s.w2v_update_s)
        bars = (Bars("co-occurrence + SVD", [0, 1], values[:2], color=0),
                Bars("word2vec (skip-gram)", [2, 3], values[2:], color=1))

        def near(words, classes, cos) -> str:
            return ", ".join(f"{w} ({c or 'no class'}, {v:.2f})" for w, c, v in zip(words, classes, cos, strict=True))

        caption = (f"'{s.new_word}' ({s.new_class}) arrives in {s.new_words:,} words of new text after a base "
                   f"corpus of {s.base_words:,} words. SVD recounts all {s.base_words + s.new_words:,} words and "
                   f"decomposes again in {s.svd_update_s:.2f} s; word2vec trains on the new text only in "
                   f"{s.w2v_update_s:.2f} s. Nearest words after the update: SVD "
                   f"{near(s.svd_neighbours, s.svd_neighbour_classes, s.svd_cosines)}; word2vec "
                   f"{near(s.w2v_neighbours, s.w2v_neighbour_classes, s.w2v_cosines)}.")
        rows = [(t, float(v)) for t, v in zip(labels, values, strict=True)]
        rows += [(f"{m} neighbour {i + 1}: {w} ({c or 'no class'})", float(v)) for m, ws, cs, vs in
                 (("SVD", s.svd_neighbours, s.svd_neighbour_classes, s.svd_cosines),
                  ("word2vec", s.w2v_neighbours, s.w2v_neighbour_classes, s.w2v_cosines))
                 for i, (w, c, v) in enumerate(zip(ws, cs, vs, strict=True))]
        return Figure("new_word", title, x, y, bars=bars, caption=caption,
                      data=Table(("what", "seconds, or cosine for a neighbour"), rows))
