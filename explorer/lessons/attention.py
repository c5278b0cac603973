"""Lessons of the attention part of the lecture (registered by explorer.lessons.catalog)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .lesson import Lesson, LessonRun, Undecided, Verdict, num, pct, register

EQUAL = 1e-9  # relative change of the outputs below which a permutation test counts as exact (double precision)
CHANGED = 1e-3  # and above which the outputs clearly changed


def measure_order(run: LessonRun) -> dict[str, float]:
    """The permutation test's relative changes and the reverse task's last accuracies."""
    run.finished()
    snap = run.final
    if not np.asarray(snap.eval_steps).size or int(snap.eval_steps[-1]) < 1:
        raise Undecided("the models were not trained")
    errors = dict(zip(snap.perm_labels, np.asarray(snap.perm_errors, dtype=float).tolist(), strict=True))
    decoder = np.asarray(snap.acc_decoder)
    return {
        "perm_plain": errors["no encoding, no mask"],
        "perm_sinusoidal": errors["sinusoidal encoding, no mask"],
        "perm_learned": errors["learned encoding, no mask"],
        "perm_mask": errors["no encoding, causal mask"],
        "acc_pe": float(snap.acc_pe[-1]),
        "acc_nope": float(snap.acc_nope[-1]),
        "bound": float(snap.bound),
        "chance": float(snap.chance),
        "acc_decoder": float(decoder[-1]) if decoder.size else -1.0,
        "length": float(snap.length),
        "steps": float(snap.eval_steps[-1]),
    }


def decide_order(n: Mapping[str, float]) -> Verdict:
    """Holds when, without encoding and mask, permuting the tokens permutes the outputs exactly while an encoding
    changes them, and the reverse task is learned far above the order-blind limit only with the encoding."""
    permutation = n["perm_plain"] < EQUAL and min(n["perm_sinusoidal"], n["perm_learned"]) > CHANGED
    reverse = n["acc_pe"] >= 0.9 and n["acc_pe"] >= n["bound"] + 0.3 and n["acc_nope"] <= n["bound"] + 0.05
    evidence = (f"no encoding, no mask: permuting the tokens permutes the outputs up to {num(n['perm_plain'])} "
                f"(relative), a sinusoidal encoding changes them by {num(n['perm_sinusoidal'])}, a learned one by "
                f"{num(n['perm_learned'])}; reversing {n['length']:.0f} symbols after {n['steps']:,.0f} steps: "
                f"{pct(n['acc_pe'])} with the encoding, {pct(n['acc_nope'])} without (an order-blind model can "
                f"reach at most {pct(n['bound'])}, chance {pct(n['chance'])})")
    if n["acc_decoder"] >= 0:
        evidence += (f"; beyond the lecture: a causal mask alone breaks the symmetry ({num(n['perm_mask'])}), and "
                     f"a causal decoder without encoding reaches {pct(n['acc_decoder'])}")
    return Verdict(permutation and reverse, evidence, dict(n))


register(Lesson(
    name="order-blind",
    topic="Attention",
    claim="Attention mechanisms do not care about token order; a positional encoding added to the embeddings "
          "fixes it.",
    tab="Attention",
    kind="order_blind",
    measure=measure_order,
    decide=decide_order,
    config=dict(length=12, steps=300),
    quick=dict(length=8, steps=150, width=32, layers=1, decoder=False),
    figures=("reverse", "permutation", "positions"),
))


def _extent(jac) -> tuple[float, float, float, float, float]:
    """(future non-zero, future pairs, past non-zero, past pairs, share of the sum on the future)."""
    jac = np.asarray(jac, dtype=np.float64)
    future = np.triu(np.ones(jac.shape, bool), 1)
    share = float(jac[future].sum() / jac.sum()) if jac.sum() > 0 else 0.0
    return (float((jac[future] != 0).sum()), float(future.sum()), float((jac[~future] != 0).sum()),
            float((~future).sum()), share)


def measure_mask(run: LessonRun) -> dict[str, float]:
    """How many (t, s > t) pairs have a non-zero gradient, with and without the mask, fresh and trained."""
    run.finished()
    final, first = run.final, run.first
    if final.step < 1:
        raise Undecided("the models were not trained")
    m_fut, pairs, m_past, past_pairs, _ = _extent(final.jac_masked)
    mf_fut, _, mf_past, _, _ = _extent(first.jac_masked)
    u_fut, _, _, _, u_share = _extent(final.jac_unmasked)
    uf_fut, _, _, _, uf_share = _extent(first.jac_unmasked)
    return {
        "masked_future_nonzero": m_fut, "masked_fresh_future_nonzero": mf_fut,
        "masked_past_nonzero": min(m_past, mf_past), "past_pairs": past_pairs, "future_pairs": pairs,
        "masked_future_max": float(np.triu(np.asarray(final.jac_masked), 1).max()),
        "unmasked_future_nonzero": u_fut, "unmasked_fresh_future_nonzero": uf_fut,
        "unmasked_future_share": u_share, "unmasked_fresh_future_share": uf_share,
        "acc_masked": float(final.acc_masked[-1]), "acc_unmasked": float(final.acc_unmasked[-1]),
        "chance": float(final.chance), "steps": float(final.step),
    }


def decide_mask(n: Mapping[str, float]) -> Verdict:
    """Holds when, with the mask, no output has a non-zero gradient on a later input (fresh and trained) while
    the earlier inputs do, and without the mask later inputs do reach the outputs."""
    masked = (n["masked_future_nonzero"] == 0 and n["masked_fresh_future_nonzero"] == 0
              and n["masked_past_nonzero"] > 0.9 * n["past_pairs"])
    unmasked = n["unmasked_future_nonzero"] > 0 and n["unmasked_fresh_future_nonzero"] > 0
    evidence = (f"with the mask ∂y_t/∂x_s is exactly 0 for {n['future_pairs'] - n['masked_future_nonzero']:.0f} of "
                f"{n['future_pairs']:.0f} pairs s > t after {n['steps']:,.0f} steps (and "
                f"{n['future_pairs'] - n['masked_fresh_future_nonzero']:.0f} fresh), non-zero for "
                f"{n['masked_past_nonzero']:.0f} of {n['past_pairs']:.0f} with s ≤ t; without it "
                f"{n['unmasked_future_nonzero']:.0f} of {n['future_pairs']:.0f} later inputs reach their output "
                f"({pct(n['unmasked_future_share'])} of the gradient after training, "
                f"{pct(n['unmasked_fresh_future_share'])} fresh); reverse-task accuracy "
                f"{pct(n['acc_unmasked'])} without the mask, {pct(n['acc_masked'])} with it")
    if n["acc_unmasked"] > n["acc_masked"] + 0.1:
        evidence += " (without it the model reads its answer from the next input)"
    return Verdict(masked and unmasked, evidence, dict(n))


register(Lesson(
    name="causal-mask",
    topic="Attention",
    claim="Masking attention for future tokens focuses it on the history: keys and values only depend on the "
          "past.",
    tab="Attention",
    kind="mask_leak",
    measure=measure_mask,
    decide=decide_mask,
    config=dict(length=8, steps=300),
    quick=dict(length=4, steps=30, width=32, layers=1),
    figures=("masked", "unmasked", "accuracy"),
))


# --- cost ---
def _register_cost_lessons() -> None:
    """Lesson 11 (attention-quadratic) lives in lessons/attention_cost.py; importing it registers it here, after
    the lessons above."""
    from . import attention_cost  # noqa: F401


_register_cost_lessons()
