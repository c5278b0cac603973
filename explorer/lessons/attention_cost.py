"""Lesson 11 of the attention part: attention's cost grows quadratically with the sequence length, and the
lecture's three remedies (a local window, a low-rank approximation, downsampling the length) grow linearly.

Registered from explorer.lessons.attention (below its `# --- cost ---` line), so that it follows lessons 9-10.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..analysis.attention_cost import MEASURED
from ..state.measurements import fitted_slope
from .lesson import Lesson, LessonRun, Undecided, Verdict, num, register

REMEDIES = {"local": "local attention", "low_rank": "low-rank attention", "downsampled": "downsampled attention"}
REMEDY_NAMES = {"local": "local window", "low_rank": "low-rank", "downsampled": "downsampled"}
QUADRATIC_TIME = 1.6  # full attention's fitted time slope must reach this (measured 1.97-2.4 on a 2-core CPU)
QUADRATIC_MEMORY = 1.8  # and its memory slope this (the T x T weights: exactly 2)
LINEAR_TIME = 1.5  # every remedy's time slope must stay at or below this (measured 0.8-1.3: caches bend it up)
LINEAR_MEMORY = 1.2  # and its memory slope at or below this (exactly 1)


def _kind(snap, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    idx = np.array([i for i, k in enumerate(snap.kinds) if k == kind], dtype=np.int64)
    if idx.size < 2:
        raise Undecided(f"the run measured {kind} at {idx.size} length(s); a slope needs two or more")
    lengths = np.asarray(snap.lengths, dtype=np.float64)[idx]
    return lengths, np.asarray(snap.seconds, dtype=np.float64)[idx], np.asarray(snap.memory, dtype=np.float64)[idx]


def measure_quadratic(run: LessonRun) -> dict[str, float]:
    """Fitted slopes (log cost on log T, over each layer's longer half of lengths) of time and memory, for full
    attention and each remedy; full attention's median seconds at its longest length and the remedies' there."""
    run.finished()
    snap = run.final
    n, t, m = _kind(snap, "full attention")
    methods = {snap.methods[i] for i, k in enumerate(snap.kinds) if k == "full attention"}
    numbers = {"time_full": fitted_slope(n, t), "memory_full": fitted_slope(n, m),
               "memory_measured": float(methods == {MEASURED}),
               "full_longest": float(n.max()), "full_seconds": float(t[np.argmax(n)])}
    longest = n.max()
    for key, kind in REMEDIES.items():
        rn, rt, rm = _kind(snap, kind)
        numbers[f"time_{key}"], numbers[f"memory_{key}"] = fitted_slope(rn, rt), fitted_slope(rn, rm)
        at = np.flatnonzero(rn == longest)
        numbers[f"seconds_{key}"] = float(rt[at[0]]) if at.size else float("nan")
        numbers["longest"] = max(numbers.get("longest", 0.0), float(rn.max()))
    numbers["repeats"] = float(getattr(snap, "repeats", 0) or getattr(run.config, "repeats", 0))
    bad = [k for k, v in numbers.items() if k.startswith(("time_", "memory_")) and not np.isfinite(v)]
    if bad:
        raise Undecided(f"no slope could be fitted for {', '.join(bad)} (a timing of zero or no lengths)")
    return numbers


def decide_quadratic(n: Mapping[str, float]) -> Verdict:
    """Holds when full attention's cost grows about quadratically and every remedy's about linearly.

    Full attention: its memory slope, and its time slope where the memory is a formula (CPU: the analytic bytes
    of the largest tensor); where the memory was measured (CUDA's peak allocation) that measurement suffices, as
    a GPU's time at these sizes is mostly kernel launches. Remedies: time and memory slopes both."""
    timed_full = n["time_full"] >= QUADRATIC_TIME or n.get("memory_measured", 0) == 1
    full_ok = timed_full and n["memory_full"] >= QUADRATIC_MEMORY
    remedies_ok = all(n[f"time_{k}"] <= LINEAR_TIME and n[f"memory_{k}"] <= LINEAR_MEMORY for k in REMEDIES)
    remedies = ", ".join(f"{REMEDY_NAMES[k]} {num(n[f'time_{k}'])} ({num(n[f'memory_{k}'])})" for k in REMEDIES)
    memory = "measured" if n.get("memory_measured", 0) == 1 else "analytic"
    evidence = (f"slope of log time (log {memory} memory) on log T: full attention {num(n['time_full'])} "
                f"({num(n['memory_full'])}) against {remedies}; medians of {n['repeats']:.0f} timed runs, full "
                f"attention up to T = {n['full_longest']:,.0f}, the remedies up to {n['longest']:,.0f}")
    seconds = [n.get(f"seconds_{k}", float("nan")) for k in REMEDIES]
    if all(np.isfinite(seconds)):
        evidence += (f"; at T = {n['full_longest']:,.0f} full attention takes {1e3 * n['full_seconds']:.0f} ms, "
                     f"the remedies {1e3 * min(seconds):.1f}–{1e3 * max(seconds):.1f} ms")
    return Verdict(full_ok and remedies_ok, evidence, dict(n))


ATTENTION_QUADRATIC = register(Lesson(
    name="attention-quadratic",
    topic="Attention",
    claim="Attention has quadratic complexity (one weight per input and output), intractable for long sequences; "
          "the remedies (a different structure of the weights such as a local window, low-rank approximations, "
          "downsampling the sequence length n) grow linearly.",
    tab="Attention",
    page="Cost",
    kind="attention_cost",
    measure=measure_quadratic,
    decide=decide_quadratic,
    config=dict(layers="full vs the three remedies", lengths=(128, 256, 512, 1024, 2048, 4096, 8192, 16384),
                full_longest=2048, width=64, heads=4, repeats=9, window=32, rank=32, pooled=32),
    quick=dict(lengths=(32, 64, 128, 256), full_longest=256, width=32, heads=2, repeats=1, window=8, rank=8,
               pooled=8),
    figures=("time", "memory"),
))
