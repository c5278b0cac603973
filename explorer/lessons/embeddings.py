"""Lessons of the word-embedding part of the lecture (distributional hypothesis, SVD, word2vec)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..analysis.neighbours import neighbour_purity
from .lesson import Lesson, LessonRun, Undecided, Verdict, num, register

PURITY_K = 5  # neighbours checked per word


def _labelled_purity(vectors: np.ndarray, classes) -> float:
    try:
        return neighbour_purity(np.asarray(vectors, dtype=np.float32), classes, k=PURITY_K)
    except ValueError as exc:
        raise Undecided(f"neighbour purity cannot be measured: {exc}") from None


def measure_contexts(run: LessonRun) -> dict[str, float]:
    """Neighbour purity of the trained vectors, of the same vectors before training, and of random vectors."""
    run.finished()
    final, first = run.final, run.first
    classes = list(final.classes)
    labelled = [c for c in classes if c]
    if len(set(labelled)) < 2:
        raise Undecided("the corpus has no known word classes to check neighbours against (use builtin:synthetic)")
    rng = np.random.default_rng(int(getattr(run.config, "seed", 0)))
    random_vectors = rng.standard_normal(np.asarray(final.vectors).shape).astype(np.float32)
    sizes = {c: labelled.count(c) for c in set(labelled)}
    chance = sum(s * (s - 1) for s in sizes.values()) / (len(labelled) * (len(labelled) - 1))
    return {
        "trained": _labelled_purity(final.vectors, classes),
        "untrained": _labelled_purity(first.vectors, classes),
        "random": _labelled_purity(random_vectors, classes),
        "chance": chance,
        "words": float(len(labelled)),
        "step": float(final.step),
    }


def decide_contexts(n: Mapping[str, float]) -> Verdict:
    """Holds when trained neighbours share their class clearly more often than untrained and random ones."""
    baseline = max(n["untrained"], n["random"])
    holds = n["trained"] >= baseline + 0.2 and n["trained"] >= 2 * baseline
    evidence = (f"neighbour purity ({PURITY_K} nearest) {num(n['trained'])} after training against "
                f"{num(n['untrained'])} untrained and {num(n['random'])} for random vectors "
                f"(chance {num(n['chance'])}; {n['words']:.0f} words of known class)")
    return Verdict(holds, evidence, dict(n))


register(Lesson(
    name="similar-contexts",
    topic="Word embeddings",
    claim="Words that appear in similar contexts have similar meanings (the distributional hypothesis): "
          "trained on context prediction, similar words get similar vectors.",
    tab="Embeddings",
    kind="word2vec",
    measure=measure_contexts,
    decide=decide_contexts,
    config=dict(corpus="builtin:synthetic", method="skip-gram", epochs=2),
    quick=dict(epochs=1, dim=16),
    figures=("map", "loss"),
))


# -- co-occurrence + SVD: slow, and hard to extend ------------------------------------------------------------
def _slope_of(names, sizes, seconds, name: str, upper: float = 1.0) -> tuple[float, float, float]:
    """(fitted log-log slope, smallest size's seconds, largest size's seconds) of one method's rows."""
    from ..analysis.embedding_cost import loglog_slope

    idx = [i for i, n in enumerate(names) if n == name]
    if len(idx) < 2:
        raise Undecided(f"fewer than two sizes were timed for the {name}")
    n, t = np.asarray(sizes, float)[idx], np.asarray(seconds, float)[idx]
    order = np.argsort(n)
    return loglog_slope(n, t, upper), float(t[order[0]]), float(t[order[-1]])


def _in_class(classes, cls: str) -> float:
    return sum(1 for c in classes if c and c == cls) / len(classes) if len(classes) else 0.0


def measure_svd(run: LessonRun) -> dict[str, float]:
    """Slopes of the full and truncated SVD's time, and the new-word experiment's times and neighbours."""
    run.finished()
    s = run.final
    full, f_lo, f_hi = _slope_of(s.methods, s.vocab, s.seconds, "full SVD")
    trunc, _, t_hi = _slope_of(s.methods, s.vocab, s.seconds, "truncated SVD")
    if not (np.isfinite(s.w2v_update_s) and np.isfinite(s.svd_update_s)) or not len(s.w2v_neighbours):
        raise Undecided("the new-word experiment did not run to its end")
    return {
        "full_slope": full, "truncated_slope": trunc, "full_smallest_s": f_lo, "full_largest_s": f_hi,
        "truncated_largest_s": t_hi, "smallest_vocab": float(np.min(s.vocab)), "largest_vocab": float(np.max(s.vocab)),
        "svd_update_s": float(s.svd_update_s), "w2v_update_s": float(s.w2v_update_s),
        "update_ratio": float(s.svd_update_s) / max(float(s.w2v_update_s), 1e-9),
        "svd_base_s": float(s.svd_base_s), "w2v_base_s": float(s.w2v_base_s),
        "w2v_in_class": _in_class(s.w2v_neighbour_classes, s.new_class),
        "svd_in_class": _in_class(s.svd_neighbour_classes, s.new_class),
        "base_words": float(s.base_words), "new_words": float(s.new_words), "neighbours": float(len(s.w2v_neighbours)),
    }


def decide_svd(n: Mapping[str, float]) -> Verdict:
    """Holds when the full SVD grows faster than quadratically with the vocabulary, recounting + SVD takes
    at least twice as long as word2vec's training on the new text, and word2vec puts the new word mostly among
    its class."""
    slow = n["full_slope"] >= 2.0
    extends = n["update_ratio"] >= 2.0 and n["w2v_in_class"] >= 0.6
    k = int(n["neighbours"])
    evidence = (f"the full SVD's time grows as |V|^{n['full_slope']:.1f} ({num(n['full_smallest_s'], 3)} s at "
                f"{n['smallest_vocab']:,.0f} words, {num(n['full_largest_s'])} s at {n['largest_vocab']:,.0f}; "
                f"truncated to 50 dimensions |V|^{n['truncated_slope']:.1f}, {num(n['truncated_largest_s'])} s); "
                f"a new word in {n['new_words']:,.0f} words of new text: SVD recounts "
                f"{n['base_words'] + n['new_words']:,.0f} words and decomposes again in {num(n['svd_update_s'])} s, "
                f"word2vec trains on the new text only in "
                f"{num(n['w2v_update_s'])} s ({num(n['update_ratio'], 1)}x less) and puts "
                f"{round(n['w2v_in_class'] * k)} of its {k} nearest words in its class "
                f"(SVD {round(n['svd_in_class'] * k)}); "
                f"learning the base corpus took word2vec {num(n['w2v_base_s'], 1)} s, SVD {num(n['svd_base_s'], 1)} s")
    if not slow:
        evidence += " — the full SVD did not grow faster than |V|²"
    if not extends:
        evidence += " — word2vec's update was not clearly cheaper, or did not place the word in its class"
    return Verdict(slow and extends, evidence, dict(n))


register(Lesson(
    name="svd-slow",
    topic="Word embeddings",
    claim="Co-occurrence counts reduced by SVD are slow to compute and hard to extend with new words; word2vec "
          "continues training on the new text.",
    tab="Embeddings",
    kind="svd_cost",
    measure=measure_svd,
    decide=decide_svd,
    config=dict(),
    quick=dict(scaling_corpus="builtin:synthetic", vocab_sizes=(20, 40, 80), repeats=1, background="",
               corpus="builtin:synthetic", epochs=1, new_epochs=2),
    figures=("svd_time", "new_word"),
))


# -- skip-gram and CBOW on rare words ---------------------------------------------------------------------------
def measure_rare(run: LessonRun) -> dict[str, float]:
    """Each method's neighbour purity in the rarest and the most frequent band, the bands' counts, and words/s."""
    run.finished()
    s = run.final
    if tuple(s.methods) != ("skip-gram", "CBOW"):
        raise Undecided(f"the run compares {' and '.join(s.methods)}, not skip-gram (A) and CBOW (B)")
    if len(s.purity_a) < 2:
        raise Undecided("the corpus has no known word classes to score neighbours (use builtin:zipf)")
    if not (np.isfinite(s.words_per_s_a) and np.isfinite(s.words_per_s_b)):
        raise Undecided("the run did not measure the words per second of both methods")
    return {
        "sg_rare": float(s.purity_a[0]), "cbow_rare": float(s.purity_b[0]),
        "sg_frequent": float(s.purity_a[-1]), "cbow_frequent": float(s.purity_b[-1]),
        "rare_low": float(s.bin_low[0]), "rare_high": float(s.bin_high[0]), "rare_words": float(s.bin_size[0]),
        "frequent_low": float(s.bin_low[-1]), "frequent_high": float(s.bin_high[-1]),
        "sg_words_per_s": float(s.words_per_s_a), "cbow_words_per_s": float(s.words_per_s_b),
        "speed_ratio": float(s.words_per_s_b) / max(float(s.words_per_s_a), 1e-9),
    }


def decide_rare(n: Mapping[str, float]) -> Verdict:
    """Holds when skip-gram's rare-word purity beats CBOW's by 0.05 or more and CBOW trains at least 1.5x as
    many words a second."""
    rare_gap = n["sg_rare"] - n["cbow_rare"]
    better = rare_gap >= 0.05
    faster = n["speed_ratio"] >= 1.5
    evidence = (f"neighbour purity of the {n['rare_words']:.0f} rarest words (seen {n['rare_low']:.0f}–"
                f"{n['rare_high']:.0f} times): skip-gram {num(n['sg_rare'])}, CBOW {num(n['cbow_rare'])}; of the "
                f"most frequent (seen {n['frequent_low']:,.0f}–{n['frequent_high']:,.0f} times): skip-gram "
                f"{num(n['sg_frequent'])}, CBOW {num(n['cbow_frequent'])}; CBOW trains "
                f"{n['cbow_words_per_s']:,.0f} words/s, skip-gram {n['sg_words_per_s']:,.0f} "
                f"({num(n['speed_ratio'], 1)}x)")
    if not better:
        evidence += " — skip-gram is not clearly better on the rare words here"
    if not faster:
        evidence += " — CBOW is not clearly faster here"
    return Verdict(better and faster, evidence, dict(n))


register(Lesson(
    name="skipgram-rare-words",
    topic="Word embeddings",
    claim="Skip-gram is good for rare words; CBOW is weak for them, and faster.",
    tab="Embeddings",
    kind="embedding_compare",
    measure=measure_rare,
    decide=decide_rare,
    config=dict(corpus="builtin:zipf", method_a="skip-gram", method_b="CBOW", min_count=3, epochs=5),
    quick=dict(epochs=1, dim=16),
    figures=("purity", "compare_a", "compare_b"),
    page="Compare two methods",
))


# -- the full softmax against negative sampling -----------------------------------------------------------------
def measure_softmax(run: LessonRun) -> dict[str, float]:
    """Slopes of a step's time against the vocabulary (over the larger half of the sizes) and the ratio at the
    largest vocabulary."""
    run.finished()
    s = run.final
    full, _, full_hi = _slope_of(s.objectives, s.vocab, s.seconds, "full softmax", upper=0.5)
    neg, _, neg_hi = _slope_of(s.objectives, s.vocab, s.seconds, "negative sampling", upper=0.5)
    return {"full_slope": full, "ns_slope": neg, "full_largest_s": full_hi, "ns_largest_s": neg_hi,
            "ratio": full_hi / max(neg_hi, 1e-12), "largest_vocab": float(np.max(s.vocab)),
            "negatives": float(s.negatives), "batch": float(s.batch)}


def decide_softmax(n: Mapping[str, float]) -> Verdict:
    """Holds when the full softmax's step grows about linearly with |V| (slope >= 0.7), negative sampling's
    stays about flat (slope <= 0.3), and the full softmax is at least 10x slower at the largest vocabulary."""
    holds = n["full_slope"] >= 0.7 and n["ns_slope"] <= 0.3 and n["ratio"] >= 10
    evidence = (f"one training step of {n['batch']:.0f} pairs grows as |V|^{n['full_slope']:.2f} with the full "
                f"softmax and |V|^{n['ns_slope']:.2f} with negative sampling ({n['negatives']:.0f} noise words); "
                f"at |V| = {n['largest_vocab']:,.0f}: {num(n['full_largest_s'], 3)} s against "
                f"{num(n['ns_largest_s'], 3)} s ({num(n['ratio'], 0)}x)")
    return Verdict(holds, evidence, dict(n))


register(Lesson(
    name="negative-sampling-cost",
    topic="Word embeddings",
    claim="The softmax normalisation over the whole vocabulary is very costly; negative sampling is not.",
    tab="Embeddings",
    kind="softmax_cost",
    measure=measure_softmax,
    decide=decide_softmax,
    config=dict(),
    quick=dict(vocab_sizes=(500, 2000, 8000), repeats=2),
    figures=("step_time",),
))
