"""Lessons of the GPT part of the lecture (registered by explorer.lessons.catalog): pre-training then
fine-tuning pays off with little labelled data; a transformer trains in one parallel pass and generates token by
token (where the lecture's notes say the opposite)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .lesson import Lesson, LessonRun, Undecided, Verdict, num, pct, register

# --- pre-training then fine-tuning -----------------------------------------------------------------------------

PAYS_OFF = 0.05  # every pre-trained way must beat from-scratch training by this much accuracy at the fewest labels
WAY_NAMES = {"scratch": "from scratch", "copy": "copying the lower layers", "warm": "warm start",
             "frozen": "warm start with frozen lower layers"}


def measure_transfer(run: LessonRun) -> dict[str, float]:
    """Final validation accuracy of each way at the smallest share of labelled data, with its example count,
    chance and the pre-trained model's validation loss."""
    run.finished()
    s = run.final
    shares = np.asarray(s.shares, dtype=np.float64)
    if int(s.done) < len(shares) or not len(shares):
        raise Undecided(f"only {int(s.done)} of {len(shares)} amounts of labelled data were trained")
    missing = [w for w in WAY_NAMES if w not in s.ways]
    if missing:
        raise Undecided(f"the run did not fine-tune {', '.join(missing)}")
    j = int(np.argmin(shares))
    acc = np.asarray(s.final_accuracy, dtype=np.float64)
    numbers = {w: float(acc[j, s.ways.index(w)]) for w in WAY_NAMES}
    if not all(np.isfinite(list(numbers.values()))):
        raise Undecided("a way diverged at the smallest share of labelled data")
    largest = int(np.argmax(shares))
    numbers.update(share=float(shares[j]), examples=float(s.examples[j]), chance=float(s.chance),
                   lower=float(getattr(run.config, "lower", 0)), pretrain_steps=float(getattr(s, "pretrain_steps", 0)),
                   pretrain_val_loss=float(getattr(s, "pretrain_val_loss", float("nan"))),
                   scratch_most=float(acc[largest, s.ways.index("scratch")]),
                   warm_most=float(acc[largest, s.ways.index("warm")]), examples_most=float(s.examples[largest]))
    return numbers


def decide_transfer(n: Mapping[str, float]) -> Verdict:
    """Holds when each pre-trained way (copy, warm, frozen) beats from scratch clearly at the fewest labels."""
    gains = {w: n[w] - n["scratch"] for w in ("copy", "warm", "frozen")}
    holds = all(g >= PAYS_OFF for g in gains.values())
    lower = int(n["lower"])
    gap = round(100 * n["copy"]) - round(100 * n["frozen"])
    if gap:
        compared = f"{'copying' if gap > 0 else 'the frozen warm start'} is ahead by {abs(gap)} points"
    else:
        compared = "copying and the frozen warm start are level"
    evidence = (f"with {n['examples']:,.0f} labelled examples ({n['share']:.0%} of the data) the validation accuracy "
                f"is {pct(n['scratch'])} from scratch against {pct(n['copy'])} copying the lower {lower} layer "
                f"groups, {pct(n['warm'])} warm start, {pct(n['frozen'])} warm start with the lower {lower} frozen "
                f"(chance {pct(n['chance'])}); {compared}")
    if np.isfinite(n.get("scratch_most", np.nan)) and n.get("examples_most", 0) > n["examples"]:
        evidence += (f"; with {n['examples_most']:,.0f} examples: {pct(n['scratch_most'])} from scratch, "
                     f"{pct(n['warm_most'])} warm start")
    if n.get("pretrain_steps", 0) > 0:
        evidence += (f"; the model was pre-trained in the run ({n['pretrain_steps']:,.0f} steps, validation loss "
                     f"{num(n['pretrain_val_loss'])} nats)")
    return Verdict(holds, evidence, dict(n))


register(Lesson(
    name="pretrain-finetune",
    topic="GPT",
    claim="Pre-training on next-token prediction, then fine-tuning on the task, pays off with little labelled "
          "data; transfer either copies parts (the lower layers) or uses the pre-trained model as a warm start "
          "(with frozen layers).",
    tab="Pre-train & fine-tune",
    page="Data efficiency",
    kind="finetune_sweep",
    measure=measure_transfer,
    decide=decide_transfer,
    config=dict(pretrained="", pretrain_steps=600, task="classify", source="scrambled", shares="0.01,0.1",
                steps=80, lower=2, pooling="mean", batch_size=32, lr=3e-4),
    quick=dict(pretrain_steps=10, shares="0.01", steps=3, batch_size=8),
    figures=("efficiency", "pretraining"),
))


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
