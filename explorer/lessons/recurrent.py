"""Lessons of the recurrent part of the lecture (registered by explorer.lessons.catalog): gradients through time
vanish and explode, gates keep them, and the three RNN problem types."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..state.recurrent_scales import activation_name, median_ratios
from .lesson import Lesson, LessonRun, Undecided, Verdict, num, pct, register

VANISHED = 1e-3  # ‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖ below this: vanished
EXPLODED = 1e3  # above this: exploded
GATED = ("GRU", "LSTM")
ACCURACY_MARGIN = 0.3  # gated cells must beat the plain RNN and guessing by this much at the longest T
RATIO_FACTOR = 10.0  # and keep at least this many times the plain RNN's share of the gradient after training
ABOVE_CHANCE = 0.2  # each problem type must beat guessing by this much


# ---- 5: vanishing and exploding gradients ---------------------------------------------------------------------
def measure_scales(run: LessonRun) -> dict[str, float]:
    """The median ratio ‖∂L/∂h(0)‖ / ‖∂L/∂h(T−1)‖ at the lowest scale, the one nearest 1 and the highest."""
    run.finished()
    snap = run.final
    scales = np.asarray(snap.scales, dtype=np.float64)
    ratios = median_ratios(snap.grad_norms)
    if len(scales) < 2 or not np.isfinite(ratios).all():
        raise Undecided("the run measured fewer than two weight scales")
    low, high = int(np.argmin(scales)), int(np.argmax(scales))
    mid = int(np.argmin(np.abs(np.log(scales))))
    if scales[low] >= 1 or scales[high] <= 1:
        raise Undecided("the weight scales must reach below and above 1 (e.g. 0.5, 1, 1.5)")
    numbers = {"scale_low": scales[low], "ratio_low": ratios[low], "scale_mid": scales[mid],
               "ratio_mid": ratios[mid], "scale_high": scales[high], "ratio_high": ratios[high],
               "length": float(snap.length), "hidden": float(snap.hidden),
               "networks": float(np.asarray(snap.grad_norms).shape[1]),
               "linear": float(snap.activation == "identity"), "relu": float(snap.activation == "relu")}
    tanh = median_ratios(snap.tanh_grad_norms)
    if tanh.size and np.isfinite(tanh[high]):
        numbers["tanh_ratio_high"] = tanh[high]
    return {k: float(v) for k, v in numbers.items()}


def decide_scales(n: Mapping[str, float]) -> Verdict:
    """Holds when the ratio is tiny below scale 1, huge above it, and in between at the scale nearest 1."""
    holds = (n["ratio_low"] < VANISHED and n["ratio_high"] > EXPLODED
             and n["ratio_low"] < n["ratio_mid"] < n["ratio_high"])
    act = "linear" if n.get("linear") else "ReLU" if n.get("relu") else activation_name("tanh")
    last = int(n["length"]) - 1
    evidence = (f"‖∂L/∂h(0)‖ / ‖∂L/∂h({last})‖ = {num(n['ratio_low'])} at weight scale {n['scale_low']:g}, "
                f"{num(n['ratio_mid'])} at {n['scale_mid']:g}, {num(n['ratio_high'])} at {n['scale_high']:g} "
                f"({act} plain RNN, H = {n['hidden']:.0f}, T = {n['length']:.0f}, median of "
                f"{n['networks']:.0f} fresh networks; vanished below {VANISHED:g}, exploded above {EXPLODED:g})")
    if "tanh_ratio_high" in n:
        tamed = n["tanh_ratio_high"] * 100 < n["ratio_high"]
        evidence += (f"; with tanh at {n['scale_high']:g}: {num(n['tanh_ratio_high'])}"
                     + (" (tanh saturates and hides the explosion)" if tamed else ""))
    return Verdict(holds, evidence, dict(n))


register(Lesson(
    name="vanishing-exploding",
    topic="Recurrent networks",
    claim="The BPTT gradient ∂L/∂h(t) depends on a product over the future steps: in a plain RNN it vanishes "
          "when the recurrent weight scale is below 1 and explodes when it is above 1.",
    tab="Recurrent",
    kind="rnn_scales",
    measure=measure_scales,
    decide=decide_scales,
    config=dict(activation="identity", scales=(0.5, 1.0, 1.5), length=40, hidden=64, networks=8),
    quick=dict(length=30, hidden=16, networks=2),
    figures=("ratio_by_scale", "gradient_by_scale"),
))


# ---- 6: gates keep the gradient ---------------------------------------------------------------------------------
def measure_gates(run: LessonRun) -> dict[str, float]:
    """Accuracy and gradient ratio (before and after training) of each cell at the longest length."""
    run.finished()
    snap = run.final
    lengths = np.asarray(snap.lengths)
    j = int(np.argmax(lengths))
    cells = list(snap.cells)
    if any(c not in cells for c in ("RNN", *GATED)):
        raise Undecided("the run must train the plain RNN, the GRU and the LSTM")
    acc, init, trained = (np.asarray(a, dtype=np.float64) for a in (snap.accuracy, snap.ratio_initial,
                                                                      snap.ratio_trained))
    if acc.shape != init.shape or not np.isfinite(acc[:, j]).all() or not np.isfinite(trained[:, j]).all():
        raise Undecided("the run did not train every cell at the longest length")
    numbers = {"length": float(lengths[j]), "shortest": float(lengths.min()), "chance": float(snap.chance),
               "lecture_gru": float(getattr(snap, "gru_variant", "torch") == "lecture")}
    for cell in ("RNN", *GATED):
        c = cells.index(cell)
        numbers[f"acc_{cell}"] = acc[c, j]
        numbers[f"acc_short_{cell}"] = acc[c, int(np.argmin(lengths))]
        numbers[f"ratio_init_{cell}"] = init[c, j]
        numbers[f"ratio_trained_{cell}"] = trained[c, j]
    return {k: float(v) for k, v in numbers.items()}


def decide_gates(n: Mapping[str, float]) -> Verdict:
    """Holds when, at the longest length, both gated cells beat the plain RNN and guessing clearly in accuracy
    and keep at least RATIO_FACTOR times its share of the gradient after training."""
    gated_acc = min(n[f"acc_{c}"] for c in GATED)
    gated_ratio = min(n[f"ratio_trained_{c}"] for c in GATED)
    holds = (gated_acc >= n["acc_RNN"] + ACCURACY_MARGIN and gated_acc >= n["chance"] + ACCURACY_MARGIN
             and gated_ratio >= RATIO_FACTOR * n["ratio_trained_RNN"])
    T = int(n["length"])
    cells = ("RNN", *GATED)
    init_kept = min(n[f"ratio_init_{c}"] for c in GATED) >= n["ratio_init_RNN"]
    trained_kept = gated_ratio >= RATIO_FACTOR * n["ratio_trained_RNN"]
    evidence = (f"at T = {T} (adding problem, chance {pct(n['chance'])}): accuracy "
                + ", ".join(f"{c} {pct(n[f'acc_{c}'])}" for c in cells)
                + f"; ‖∂L/∂h(0)‖ / ‖∂L/∂h({T - 1})‖ after training "
                + ", ".join(f"{c} {num(n[f'ratio_trained_{c}'])}" for c in cells)
                + ", at initialisation " + ", ".join(f"{c} {num(n[f'ratio_init_{c}'])}" for c in cells)
                + (" (the gated cells keep more of it already at initialisation" if init_kept else
                   " (at initialisation the gated cells keep less of it than the plain RNN")
                + (f"; after training at least {RATIO_FACTOR:g}× as much)" if trained_kept else
                   f"; after training less than {RATIO_FACTOR:g}× as much)"))
    if not n.get("lecture_gru", 1.0):
        evidence += "; GRU: torch's variant"
    return Verdict(holds, evidence, dict(n))


register(Lesson(
    name="gates-keep-gradient",
    topic="Recurrent networks",
    claim="Gates let the GRU and the LSTM keep the gradient and learn long dependencies where the plain RNN "
          "cannot be trained.",
    tab="Recurrent",
    kind="rnn_distance",
    measure=measure_gates,
    decide=decide_gates,
    config=dict(task="adding", lengths=(10, 20, 40), hidden=32, steps_per_point=1000, lr=1e-2),
    quick=dict(lengths=(5, 12), hidden=8, steps_per_point=25, batch_size=8),
    figures=("accuracy_by_length", "gradient_by_length"),
))


# ---- 7: problem types ---------------------------------------------------------------------------------------------
def measure_types(run: LessonRun) -> dict[str, float]:
    """Accuracy and chance of every task, by its problem type."""
    run.finished()
    snap = run.final
    acc = np.asarray(snap.accuracy, dtype=np.float64)
    if not np.isfinite(acc).all():
        raise Undecided("not every task was trained")
    numbers: dict[str, float] = {}
    for task, kind, a, c in zip(snap.tasks, snap.problem_types, acc, snap.chance, strict=True):
        key = kind.replace(" ", "_")
        numbers[f"acc_{key}"], numbers[f"chance_{key}"] = float(a), float(c)
        numbers[f"task_{key}"] = float(("count", "adding", "copy", "characters").index(task))
    if len(numbers) != 9:
        raise Undecided("the run must train one task of each type (one to many, many to one, many to many)")
    return numbers


TYPE_KEYS = ("one_to_many", "many_to_one", "many_to_many")
TASK_NAMES = ("count", "adding", "copy", "characters")


def decide_types(n: Mapping[str, float]) -> Verdict:
    """Holds when every problem type's task is learned clearly above guessing."""
    holds = all(n[f"acc_{k}"] >= n[f"chance_{k}"] + ABOVE_CHANCE for k in TYPE_KEYS)
    parts = [f"{k.replace('_', ' ')} ({TASK_NAMES[int(n[f'task_{k}'])]}) {pct(n[f'acc_{k}'])} "
             f"(chance {pct(n[f'chance_{k}'])})" for k in TYPE_KEYS]
    return Verdict(holds, "accuracy after training: " + "; ".join(parts), dict(n))


register(Lesson(
    name="problem-types",
    topic="Recurrent networks",
    claim="RNNs handle the problem types one to many, many to one and many to many.",
    tab="Recurrent",
    kind="rnn_types",
    measure=measure_types,
    decide=decide_types,
    config=dict(cell="GRU", length=10, hidden=32, steps_per_task=600, lr=1e-2),
    quick=dict(length=4, hidden=16, steps_per_task=60),
    figures=("accuracy_by_type", "loss_by_type"),
))
