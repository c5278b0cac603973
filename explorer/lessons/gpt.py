"""Lessons of the GPT part of the lecture (registered by explorer.lessons.catalog): pre-training then
fine-tuning pays off with little labelled data; a transformer trains in one parallel pass and generates token by
token (where the lecture's notes say the opposite)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .lesson import Lesson, LessonRun, Undecided, Verdict, num, register

# --- training in parallel, generation token by token ----------------------------------------------------------

SEQUENTIAL_MARGIN = 2.0  # generating T tokens must take at least this many times one training step over them
LECTURE_SAYS = "the notes say application runs in parallel while training is sequential"


def measure_parallel(run: LessonRun) -> dict[str, float]:
    """At the longest length: seconds of a training step and of generation, and the model passes of each;
    whether every length took one training pass and T generation passes."""
    run.finished()
    s = run.final
    lengths = np.asarray(s.lengths, dtype=np.int64)
    if lengths.size == 0:
        raise Undecided("the run measured no length")
    i = int(np.argmax(lengths))
    return {
        "length": float(lengths[i]),
        "batch": float(s.batch),
        "train_s": float(s.train_step_s[i]),
        "cached_s": float(s.generate_cached_s[i]),
        "uncached_s": float(s.generate_uncached_s[i]),
        "train_passes": float(np.max(s.train_passes)),
        "generate_passes": float(s.generate_passes[i]),
        "passes_are_lengths": float(np.array_equal(np.asarray(s.generate_passes), lengths)),
        "lengths": float(lengths.size),
    }


def decide_parallel(n: Mapping[str, float]) -> Verdict:
    """Holds when training took one pass at every length, generation one pass per token, and generating T tokens
    (with the cache) took clearly longer than one training step over them."""
    ratio = n["cached_s"] / n["train_s"]
    holds = n["train_passes"] == 1 and n["passes_are_lengths"] == 1 and ratio >= SEQUENTIAL_MARGIN
    T, b = n["length"], n["batch"]
    positions = f"{b:.0f} × {T:,.0f} positions" if b > 1 else f"{T:,.0f} positions"
    evidence = (f"{LECTURE_SAYS}; measured for a transformer at T = {T:,.0f}: one training step scores all "
                f"{positions} in {n['train_passes']:.0f} model pass under the causal mask and takes "
                f"{1e3 * n['train_s']:.1f} ms with backward and update, while generating {T:,.0f} tokens takes "
                f"{n['generate_passes']:,.0f} passes one after another: {1e3 * n['cached_s']:.0f} ms with the KV cache "
                f"({num(ratio, 1)}× the training step) and {1e3 * n['uncached_s']:.0f} ms without")
    return Verdict(holds, evidence, dict(n))


register(Lesson(
    name="training-parallel",
    topic="GPT",
    claim="The notes say that application can run in parallel while training is sequential; for a transformer "
          "it is the other way round: training scores every position in one parallel pass under the causal mask, "
          "generation writes one token after another.",
    tab="Pre-train & fine-tune",
    page="Training vs generation",
    kind="generation_cost",
    measure=measure_parallel,
    decide=decide_parallel,
    config=dict(lengths=(16, 32, 64, 128, 256), batch=1, repeats=5, layers=2, heads=4, width=64),
    quick=dict(lengths=(8, 16), repeats=1, layers=1, heads=2, width=16),
    figures=("generation", "per_token"),
))
