"""Lessons 8-10 (causal-dilated, order-blind, causal-mask): their probes against hand-computed values, their
states' figures, and deciders that follow the numbers they are given."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.conv_probe import field_extent, fresh_stack_field
from explorer.lessons.convolution import decide_causal_dilated
from explorer.state import state_for_kind
from explorer.training.jobs.conv_field_job import ConvFieldConfig, ConvFieldJob
from explorer.training.runner import FINISHED, run_to_end

# ----- lesson 8: causal-dilated


def test_a_fresh_causal_stack_sees_exactly_its_receptive_field_and_no_future():
    grad = fresh_stack_field(2, (1, 2, 4), length=20, t=10)
    assert np.flatnonzero(grad).tolist() == list(range(3, 11))  # 1 + (1 + 2 + 4) = 8 inputs up to t
    assert field_extent(grad, 10) == {"past": 8, "future": 0, "future_inputs": 9, "span": 8}
    centred = fresh_stack_field(2, (1, 2, 4), length=20, t=10, causal=False)
    assert field_extent(centred, 10)["future"] > 0  # the control leaks


def test_the_field_probe_job_measures_every_depth_and_wavenet():
    cfg = ConvFieldConfig(max_layers=4, wavenet_blocks=2, wavenet_block=3, leak_length=16, channels=4)
    job = ConvFieldJob(cfg)
    _, final = run_to_end(job, snapshot_interval=0.0)
    assert final.status == FINISHED
    snap = job.snapshot(final.step)
    assert snap.depths.tolist() == [1, 2, 3, 4]
    assert snap.rf_doubling_theory.tolist() == snap.rf_doubling_measured.tolist() == [2, 4, 8, 16]
    assert snap.rf_constant_measured.tolist() == [2, 3, 4, 5] and not snap.future_doubling.any()
    assert snap.wavenet_dilations.tolist() == [1, 2, 4, 1, 2, 4]
    assert snap.wavenet_rf_theory == snap.wavenet_rf_measured == 15 and snap.wavenet_future == 0
    assert snap.leak_t == 8 and not snap.leak_causal[9:].any() and snap.leak_centred[9:].any()
    state = state_for_kind("conv_field")
    state.take_snapshot(snap)
    figs = state.figures()
    assert "exactly 0 for 7 of the 7 inputs after t" in figs["leak"].caption
    assert "grows 1.00 per layer" in figs["depth"].caption and "at 0 of 8 stacks" in figs["depth"].caption
    assert "15 computed, 15 measured" in figs["wavenet"].caption
    assert not any(f.is_empty for f in figs.values())


def test_the_wavenet_configuration_is_3070():
    cfg = ConvFieldConfig()
    assert len(cfg.wavenet_dilations()) == 30 and max(cfg.wavenet_dilations()) == 512
    assert 1 + sum(cfg.wavenet_dilations()) == 3070


CAUSAL = dict(leak_t=32, leak_length=64, leak_future_nonzero=0, leak_past_nonzero=16, centred_future_nonzero=8,
              depths=10, rf_mismatches=0, depth_future_nonzero=0, rf_doubling_deepest=1024, rf_constant_deepest=11,
              log2_slope_doubling=1.0, log2_slope_constant=0.26, wavenet_layers=30, wavenet_largest_dilation=512,
              wavenet_rf_theory=3070, wavenet_rf_measured=3070, wavenet_future_nonzero=0,
              wavenet_future_inputs=3070)


@pytest.mark.parametrize("change", [
    dict(leak_future_nonzero=3), dict(leak_past_nonzero=0), dict(centred_future_nonzero=0), dict(rf_mismatches=1),
    dict(log2_slope_doubling=0.5), dict(log2_slope_constant=0.9), dict(wavenet_rf_measured=3000),
    dict(wavenet_future_nonzero=1), dict(depth_future_nonzero=2),
])
def test_causal_dilated_verdict_follows_the_numbers(change):
    good = decide_causal_dilated(CAUSAL)
    assert good.holds and "3,070 computed, 3,070 measured" in good.evidence
    assert "exactly 0 for 31 of 31 later inputs" in good.evidence
    assert not decide_causal_dilated({**CAUSAL, **change}).holds
