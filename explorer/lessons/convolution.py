"""Lessons of the convolution part of the lecture (registered by explorer.lessons.catalog)."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..state.conv_field import log2_slope
from .lesson import Lesson, LessonRun, Undecided, Verdict, register


def measure_causal_dilated(run: LessonRun) -> dict[str, float]:
    """The leak check of a middle output, the measured against the computed field at every depth, and WaveNet's."""
    run.finished()
    snap = run.final
    causal, centred, t = np.asarray(snap.leak_causal), np.asarray(snap.leak_centred), int(snap.leak_t)
    if not causal.size or t + 1 >= causal.size:
        raise Undecided("the leak check has no inputs after its output t")
    depths = np.asarray(snap.depths)
    if depths.size < 2:
        raise Undecided("fewer than two depths were measured: no growth to fit")
    if int(snap.wavenet_rf_measured) < 0:
        raise Undecided("WaveNet's configuration was not probed (wavenet_blocks = 0)")
    dt, dm = np.asarray(snap.rf_doubling_theory), np.asarray(snap.rf_doubling_measured)
    ct, cm = np.asarray(snap.rf_constant_theory), np.asarray(snap.rf_constant_measured)
    dils = np.asarray(snap.wavenet_dilations)
    return {
        "leak_t": float(t),
        "leak_length": float(causal.size),
        "leak_future_nonzero": float((causal[t + 1:] != 0).sum()),
        "leak_past_nonzero": float((causal[: t + 1] != 0).sum()),
        "centred_future_nonzero": float((centred[t + 1:] != 0).sum()),
        "depths": float(depths.size),
        "rf_mismatches": float((dt != dm).sum() + (ct != cm).sum()),
        "depth_future_nonzero": float(np.max(snap.future_doubling)),
        "rf_doubling_deepest": float(dm[-1]),
        "rf_constant_deepest": float(cm[-1]),
        "log2_slope_doubling": log2_slope(depths, dm),
        "log2_slope_constant": log2_slope(depths, cm),
        "wavenet_layers": float(dils.size),
        "wavenet_largest_dilation": float(dils.max()),
        "wavenet_rf_theory": float(snap.wavenet_rf_theory),
        "wavenet_rf_measured": float(snap.wavenet_rf_measured),
        "wavenet_future_nonzero": float(snap.wavenet_future),
        "wavenet_future_inputs": float(np.asarray(snap.wavenet_grad).size - int(snap.wavenet_t) - 1),
    }


def decide_causal_dilated(n: Mapping[str, float]) -> Verdict:
    """Holds when no later input moves a causal output (while earlier ones do, and centred padding leaks), the
    measured field equals 1 + Σ (k−1)·d everywhere, it doubles per layer with doubling dilations (log₂ slope
    near 1, far above the constant stack's), and WaveNet's measured field equals its computed one."""
    causal = (n["leak_future_nonzero"] == 0 and n["leak_past_nonzero"] > 0 and n["centred_future_nonzero"] > 0
              and n["depth_future_nonzero"] == 0 and n["wavenet_future_nonzero"] == 0)
    exponential = (n["rf_mismatches"] == 0 and n["log2_slope_doubling"] >= 0.9
                   and n["log2_slope_constant"] < 0.6 * n["log2_slope_doubling"])
    wavenet = n["wavenet_rf_measured"] == n["wavenet_rf_theory"] > 1
    later = n["leak_length"] - n["leak_t"] - 1
    evidence = (f"output t = {n['leak_t']:.0f} of {n['leak_length']:.0f}: gradient exactly 0 for "
                f"{later - n['leak_future_nonzero']:.0f} of {later:.0f} later inputs, non-zero for "
                f"{n['leak_past_nonzero']:.0f} up to t (centred padding: {n['centred_future_nonzero']:.0f} later "
                f"inputs reach t); field measured = 1 + Σ(k−1)d at {n['depths'] * 2 - n['rf_mismatches']:.0f} of "
                f"{n['depths'] * 2:.0f} stacks, log₂ growth {n['log2_slope_doubling']:.2f}/layer with doubling "
                f"dilations against {n['log2_slope_constant']:.2f} without ({n['rf_doubling_deepest']:,.0f} against "
                f"{n['rf_constant_deepest']:.0f} inputs at {n['depths']:.0f} layers); WaveNet "
                f"({n['wavenet_layers']:.0f} layers, dilations up to {n['wavenet_largest_dilation']:.0f}): "
                f"{n['wavenet_rf_theory']:,.0f} computed, {n['wavenet_rf_measured']:,.0f} measured, "
                f"{n['wavenet_future_nonzero']:.0f} of {n['wavenet_future_inputs']:,.0f} later inputs reach t")
    return Verdict(causal and exponential and wavenet, evidence, dict(n))


register(Lesson(
    name="causal-dilated",
    topic="Convolutions",
    claim="A causal convolution only looks into the past; dilated convolutions grow the receptive field "
          "exponentially with depth (WaveNet).",
    tab="Convolution",
    kind="conv_field",
    measure=measure_causal_dilated,
    decide=decide_causal_dilated,
    config=dict(max_layers=10, wavenet_blocks=3, wavenet_block=10),
    quick=dict(max_layers=5, wavenet_blocks=2, wavenet_block=6, leak_length=32),
    figures=("leak", "depth", "wavenet"),
))
