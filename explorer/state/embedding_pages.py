"""The Embeddings tab's page figures, each built from one snapshot: the noise distribution, one negative-sampling
step's pulls and pushes, the co-occurrence counts, the singular-value spectrum; and the evaluation table."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..figures import Axis, Figure, Heatmap, RefLine, Segments, Series, Table, Text

PULL_COLOR, PUSH_COLOR = "#009E73", "#D55E00"
MAX_TICK_WORDS = 40
MAX_BAR_LABELS = 32
SVD_HINT = "Train the co-occurrence + SVD method (Method, left) to fill this view."


def _word_ticks(words, every: int = 1) -> tuple[tuple[float, str], ...] | None:
    """Axis ticks naming the rows (cell centres) when there are few enough to read."""
    if len(words) > MAX_TICK_WORDS:
        return None
    return tuple((i + 0.5, w) for i, w in enumerate(words) if i % every == 0)


def loss_figure(metrics: Any, cfg: Any, snap: Any, end: float | None, planned_steps: int | None) -> Figure:
    """The word2vec loss per example, with where it starts (all scores σ = 0.5, or a uniform softmax)."""
    x, y = metrics.curve("loss", end)
    objective = getattr(cfg, "objective", "negative sampling")
    start = None
    if objective == "negative sampling" and cfg is not None:
        k = int(cfg.negatives)
        start = RefLine((k + 1) * math.log(2), f"at the start: (k + 1)·ln 2 = {(k + 1) * math.log(2):.2f}")
    elif snap is not None and getattr(snap, "words", None):
        start = RefLine(math.log(len(snap.words)), f"at the start: ln V = {math.log(len(snap.words)):.2f}")
    top = max([start.value if start else 0.0] + ([float(np.nanmax(y))] if y.size else []))
    caption = ""
    if y.size:
        lr = metrics.curve("lr", end)[1]
        caption = (f"last loss {y[-1]:.4f} nats at step {int(x[-1]):,}" + (f"; learning rate {lr[-1]:.3g}" if lr.size
                   else "") + f"; {objective}")
    title = "Training loss" + (f" of {cfg.method}, {objective}" if hasattr(cfg, "method") else "")
    what = "per pair" if getattr(cfg, "method", "skip-gram") == "skip-gram" else "per example"
    return Figure("loss", title, x=Axis("training step", range=(0.0, float(planned_steps)) if planned_steps else None),
                  y=Axis(f"loss {what}", "nats", range=(0.0, 1.3 * top) if top > 0 else None),
                  series=(Series("loss", x, y, color=0),), lines=(start,) if start else (), caption=caption,
                  hint="Press Train to see the loss.")


def svd_progress_figure(metrics: Any, end: float | None) -> Figure:
    """A co-occurrence run's progress: the share of the corpus counted, then the SVD's relative residual."""
    x, counted = metrics.curve("counted", end)
    rx, residual = metrics.curve("loss", end)
    caption = f"{counted[-1]:.0%} of the corpus counted at step {int(x[-1]):,}" if counted.size else ""
    if residual.size:
        caption = (f"relative residual ‖M − M_k‖_F / ‖M‖_F = {residual[-1]:.3f} after the SVD at step "
                   f"{int(rx[-1]):,} (no training: the corpus is counted chunk by chunk, then factorised)")
    return Figure(
        "loss", "Counting co-occurrences, then the SVD" + (f": residual {residual[-1]:.3f}" if residual.size else ""),
        x=Axis("step"), y=Axis("share", range=(0.0, 1.05)),
        series=(Series("share of the corpus counted", x, counted, color=0, symbol="o"),
                Series("relative residual of the rank-k SVD", rx, residual, color=1, symbol="s", line=False)),
        caption=caption, hint="Press Train: the counting progress and the SVD's residual appear here.")


def noise_figure(snap: Any) -> Figure:
    """The unigram distribution of the vocabulary and the unigram^0.75 one that negative samples are drawn from,
    on log-log axes."""
    axes = dict(x=Axis("word rank", log=True), y=Axis("probability", log=True))
    title = "Noise distribution: unigram^0.75 against the unigram"
    names = ("unigram P(w)", "noise P(w)^0.75 / Z")
    counts = np.asarray(getattr(snap, "counts", ()), dtype=np.float64)
    if snap is None or counts.size == 0 or counts.sum() <= 0:
        return Figure("noise", title, **axes, series=(Series(names[0], color=0), Series(names[1], color=1)),
                      hint="Press Train: the corpus's word frequencies appear here.")
    order = np.argsort(-counts, kind="stable")
    ranked = counts[order]
    unigram = ranked / ranked.sum()
    noise = ranked ** 0.75 / (ranked ** 0.75).sum()
    rank = np.arange(1, ranked.size + 1)
    top, last = snap.words[order[0]], snap.words[order[-1]]
    return Figure(
        "noise", f"{title}: '{top}' is {unigram[0]:.2%} of the data but {noise[0]:.2%} of the noise",
        **axes,  # the renderer's log ticks: as many powers of ten as fit, in one notation
        series=(Series(names[0], rank, unigram, color=0), Series(names[1], rank, noise, color=1)),
        caption=f"{ranked.size:,} words; the most frequent, '{top}': {unigram[0]:.3%} of the data, {noise[0]:.3%} of "
                f"the noise; the rarest, '{last}': {unigram[-1]:.4%} and {noise[-1]:.4%}. The power 0.75 flattens "
                "the distribution: frequent words are drawn less often as noise than as data, rare ones more often.",
        data=Table(("rank", "word", "count", "unigram P(w)", "noise P(w)^0.75 / Z"),
                   [(int(r), snap.words[i], int(c), float(u), float(q))
                    for r, i, c, u, q in zip(rank, order, ranked, unigram, noise, strict=True)]))


def _pull_rows(snap: Any) -> list[tuple[str, str, float, float]]:
    """(role, word, σ, step size) rows: each positive followed by its own noise words (CBOW: one positive)."""
    pos = list(zip(snap.ns_positive, np.asarray(snap.ns_positive_score, float),
                   np.asarray(snap.ns_positive_step, float), strict=True))
    neg = list(zip(snap.ns_negative, np.asarray(snap.ns_negative_score, float),
                   np.asarray(snap.ns_negative_step, float), strict=True))
    k = len(neg) // max(1, len(pos))
    rows = []
    for j, (w, s, p) in enumerate(pos):
        rows.append(("+", w, float(s), float(p)))
        rows += [("−", nw, float(ns), float(np_)) for nw, ns, np_ in neg[j * k:(j + 1) * k]]
    rows += [("−", nw, float(ns), float(np_)) for nw, ns, np_ in neg[len(pos) * k:]]
    return rows


def pulls_figure(snap: Any, query: str = "") -> Figure:
    """One training example of the focus word: how hard each true context word pulls its vector and each noise
    word pushes it, in one SGD step."""
    axes = dict(x=Axis("size of the step on v_c (learning rate × gradient)"), y=Axis("word (+ true, − noise)"))
    legend = (Segments("pull towards u_o (true context word)", np.zeros((0, 4)), color=PULL_COLOR, width=8,
                       legend=True),
              Segments("push away from u_n (sampled noise word)", np.zeros((0, 4)), color=PUSH_COLOR, width=8,
                       legend=True))
    title = "Search a word: the pulls and pushes on its vector in one step"
    objective = getattr(snap, "objective", "negative sampling")
    word = getattr(snap, "ns_word", "")
    if snap is None:
        return Figure("pulls", title, **axes, segments=legend, hint="Search a word (left) and press Train.")
    if objective != "negative sampling":
        return Figure("pulls", title, **axes, segments=legend, hint=f"The {objective} objective has no sampled "
                      "negatives: every word of the vocabulary is scored at each step.")
    if not word or not len(snap.ns_positive):
        hint = "Search a word (left) to see its positives and sampled negatives here."
        if query:
            hint = f"'{query}' is searched: the next run's snapshots show its training example (press Train)."
        return Figure("pulls", title, **axes, segments=legend, hint=hint)
    rows = _pull_rows(snap)
    n = len(rows)
    y = np.arange(n)[::-1].astype(float)  # the first row at the top
    size = np.array([r[3] for r in rows])
    width = float(np.clip(300.0 / n, 2.0, 14.0))
    segs = []
    for role, name, color in (("+", legend[0].name, PULL_COLOR), ("−", legend[1].name, PUSH_COLOR)):
        keep = [i for i, r in enumerate(rows) if r[0] == role]
        xy = np.column_stack([np.zeros(len(keep)), y[keep], size[keep], y[keep]]) if keep else np.zeros((0, 4))
        segs.append(Segments(name, xy, color=color, width=width, legend=True))
    # each bar named at its end (axis ticks would be dropped by the axis once they fill it)
    labelled = range(n) if n <= MAX_BAR_LABELS else \
        sorted([i for i, r in enumerate(rows) if r[0] == "+"] +
               sorted((i for i, r in enumerate(rows) if r[0] == "−"), key=lambda i: -rows[i][3])
               [:max(0, MAX_BAR_LABELS - sum(r[0] == "+" for r in rows))])
    texts = tuple(Text(float(size[i]), float(y[i]), f" {rows[i][0]} {rows[i][1]} (σ {rows[i][2]:.2f})",
                       color=PULL_COLOR if rows[i][0] == "+" else PUSH_COLOR, anchor=(0.0, 0.5)) for i in labelled)
    pull = sum(r[3] for r in rows if r[0] == "+")
    push = sum(r[3] for r in rows if r[0] == "−")
    n_pos, n_neg = sum(r[0] == "+" for r in rows), sum(r[0] == "−" for r in rows)
    cbow = getattr(snap, "method", "") == "CBOW"
    what = (f"'{word}' predicted from {len(snap.ns_context)} context words" if cbow else
            f"'{word}': {n_pos} context words pull")
    return Figure(
        "pulls", f"{what} (total {pull:.2g}), {n_neg} sampled negatives push (total {push:.2g}) at step "
                 f"{snap.step:,}",
        x=Axis(axes["x"].label, range=(0.0, max(1e-12, float(size.max())) * 1.6)),
        y=Axis("example (+ true context word, − its noise words)", ticks=(), range=(-0.8, n - 0.2)),
        segments=tuple(segs), texts=texts,
        caption="σ = the model's probability that the pair is real. A true context word o pulls v_c towards u_o by "
                "lr·(1 − σ(u_o·v_c))·|u_o|; a noise word n pushes it away by lr·σ(u_n·v_c)·|u_n|"
                + (" (CBOW: v_c is the mean of the context's input vectors)." if cbow else "."),
        data=Table(("role", "word", "σ (probability the pair is real)", "step size on v_c"),
                   [("positive" if r[0] == "+" else "negative", r[1], r[2], r[3]) for r in rows]))


def cooccurrence_figure(snap: Any) -> Figure:
    """The windowed co-occurrence counts of the most frequent words, on a log colour scale."""
    heat = np.asarray(getattr(snap, "heatmap", np.zeros((0, 0))), dtype=np.float64)
    title = "Co-occurrence counts of the most frequent words"
    if heat.ndim != 2 or heat.size == 0:
        return Figure("cooccurrence", title, x=Axis("context word"), y=Axis("word", inverted=True), hint=SVD_HINT)
    words = tuple(snap.heatmap_words)
    n = len(words)
    every = max(1, int(np.ceil(n / 9)))  # columns are narrow: name every few (the rows name them all)
    off = heat.copy()
    np.fill_diagonal(off, -1)
    i, j = np.unravel_index(int(np.argmax(off)), off.shape)
    weighting = getattr(snap, "weighting", "uniform")
    counted = float(getattr(snap, "counted", 1.0))
    return Figure(
        "cooccurrence", f"Co-occurrence counts of the {n} most frequent words, window {getattr(snap, 'window', '?')} "
                        f"({weighting} weighting)",
        x=Axis("context word", ticks=_word_ticks(words, every), range=(0.0, float(n))),
        y=Axis("word", ticks=_word_ticks(words), inverted=True, range=(0.0, float(n))),
        heatmaps=(Heatmap("log₁₀ (count + 1)", np.log10(1.0 + heat), "log₁₀ (count + 1)", row_name="word",
                          col_name="context word"),),
        caption=f"{counted:.0%} of the corpus counted; the largest count between two words: '{words[i]}'–'{words[j]}'"
                f" {heat[i, j]:,.0f}" + (" (1/distance weighted)" if weighting != "uniform" else "")
                + "; a word next to itself counts twice on the diagonal",
        data=Table(("word", "context word", "count"),
                   [(a, b, float(heat[r, c])) for r, a in enumerate(words) for c, b in enumerate(words)]))


def spectrum_figure(snap: Any) -> Figure:
    """The share of ‖M‖²_F that each singular component carries, and the running total."""
    axes = dict(x=Axis("component i"), y=Axis("share of ‖M‖²_F"))
    empty = (Series("share of each component σ_i² / ‖M‖²_F", color=0, symbol="o"),
             Series("cumulative share", color=1))
    sv = np.asarray(getattr(snap, "singular_values", np.zeros(0)), dtype=np.float64)
    share = np.asarray(getattr(snap, "explained_variance", np.zeros(0)), dtype=np.float64)
    title = "Singular-value spectrum"
    if not sv.size or not share.size:
        hint = SVD_HINT if getattr(snap, "heatmap", None) is None else \
            "The spectrum appears after the last step (the weighting and the SVD)."
        return Figure("spectrum", title, **axes, series=empty, hint=hint)
    k = np.arange(1, share.size + 1)
    matrix = "PPMI" if getattr(snap, "ppmi", False) else "count"
    return Figure(
        "spectrum", f"Singular values of the {matrix} matrix: the first {sv.size} carry {share.sum():.0%} of ‖M‖²_F",
        **axes, series=(Series(empty[0].name, k, share, color=0, symbol="o"),
                        Series(empty[1].name, k, np.cumsum(share), color=1)),
        caption=f"σ₁ = {sv[0]:.3g}, σ_{sv.size} = {sv[-1]:.3g}; the vectors are U_k S_k^0.5; "
                f"{getattr(snap, 'solver', '')} solver")


def evaluate_vectors(words, vectors, classes, builtin_analogies, similarity, analogies) -> list[tuple[str, ...]]:
    """Table rows (test, score, coverage, meaning) for the vectors; slow on large files: run it in a worker."""
    from ..analysis.evaluation import similarity_spearman
    from ..analysis.neighbours import class_separation, neighbour_purity

    rows: list[tuple[str, ...]] = []
    vectors = np.asarray(vectors, dtype=np.float32)
    if not vectors.size or vectors.ndim != 2 or vectors.shape[1] == 0:
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
    from ..analysis.evaluation import analogy_accuracy

    acc, used, missing = analogy_accuracy(vectors, index, sections)
    rows = [(f"{name}: accuracy", f"{acc:.1%}" if acc == acc else "n/a", f"{used} of {used + missing}",
             "a:b :: c:d answered by the word nearest b − a + c (a, b, c left out)")]
    if len(sections) > 1:
        for section, quads in sections.items():
            acc, used, missing = analogy_accuracy(vectors, index, quads)
            rows.append((f"    {section}", f"{acc:.1%}" if acc == acc else "n/a", f"{used} of {used + missing}", ""))
    return rows
