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
