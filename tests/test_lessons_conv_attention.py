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


# ----- lessons 9 and 10: order-blind, causal-mask

def _gpt(positional: str, causal: bool, context: int = 6, vocab: int = 5):
    import torch

    from explorer.training.jobs.order_job import OrderConfig, _model

    torch.manual_seed(0)
    return _model(OrderConfig(width=8, heads=2, layers=1), positional, causal, context, vocab)


def test_the_permutation_test_separates_order_blind_from_order_aware_models():
    import torch

    from explorer.analysis.attention_probe import permutation_error

    tokens, perm = torch.tensor([[0, 1, 2, 3, 4, 0], [4, 4, 1, 0, 2, 3]]), torch.tensor([5, 0, 3, 1, 4, 2])
    assert permutation_error(_gpt("none", False), tokens, perm) < 1e-12
    assert permutation_error(_gpt("sinusoidal", False), tokens, perm) > 1e-3
    assert permutation_error(_gpt("none", True), tokens, perm) > 1e-3  # the mask alone tells positions apart


def test_the_input_jacobian_matches_autograd_row_by_row_and_the_mask_zeroes_the_future():
    import torch

    from explorer.analysis.attention_probe import _double, forward_embedded, input_jacobian

    tokens = torch.tensor([[0, 1, 2, 3, 4, 0], [4, 4, 1, 0, 2, 3]])
    for causal in (True, False):
        model = _gpt("sinusoidal", causal)
        jac = input_jacobian(model, tokens, seed=3)
        m, r = _double(model), torch.randn(5, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        e = m.embed(tokens).detach()
        for t in range(6):
            x = e.clone().requires_grad_(True)
            (g,) = torch.autograd.grad((forward_embedded(m, x)[:, t] @ r).sum(), x)
            np.testing.assert_allclose(jac[t], g.abs().sum(dim=(0, 2)).numpy(), rtol=1e-9, atol=1e-15)
        future = jac[np.triu_indices(6, 1)]
        assert (not future.any()) if causal else future.all()
        assert jac[np.tril_indices(6)].all()


def test_the_order_blind_bound_by_hand():
    from explorer.analysis.attention_probe import order_blind_bound

    # 2 symbols, length 2: the other token is the target, and it is the only one left: always right
    assert order_blind_bound(2, 2, samples=500) == pytest.approx(1.0)
    # length 4 of 2 symbols: the best guess among the 3 others is right 2/3 or 1 of the time: between
    assert 2 / 3 < order_blind_bound(4, 2, samples=4000) < 1.0


def test_the_order_and_mask_jobs_hand_out_what_their_figures_draw():
    from explorer.training.jobs.mask_job import MaskConfig, MaskJob
    from explorer.training.jobs.order_job import OrderConfig, OrderJob

    small = dict(width=16, heads=2, layers=1, steps=3)
    order = OrderJob(OrderConfig(length=4, symbols=4, **small))
    _, final = run_to_end(order, snapshot_interval=0.0)
    snap = order.snapshot(final.step)
    assert final.status == FINISHED and snap.perm_errors[0] < 1e-12 and snap.perm_errors[1] > 1e-3
    assert snap.eval_steps.tolist() == [0, 3] and snap.acc_decoder.size == 2 and snap.by_position_pe.shape == (4,)
    mask = MaskJob(MaskConfig(length=3, symbols=4, **small))
    _, final = run_to_end(mask, snapshot_interval=0.0)
    snap = mask.snapshot(final.step)
    assert snap.jac_masked.shape == (6, 6) and not np.triu(snap.jac_masked, 1).any()
    assert np.triu(snap.jac_unmasked, 1).any() and np.triu(snap.fresh_unmasked, 1).any()
    for kind, job_snap in (("order_blind", order.snapshot(3)), ("mask_leak", snap)):
        state = state_for_kind(kind)
        state.take_snapshot(job_snap)
        assert not any(f.is_empty for f in state.figures().values())
    state = state_for_kind("mask_leak")
    state.take_snapshot(snap)
    assert "exactly 0 for all 15 pairs with s > t" in state.figure("masked").caption
    assert state.figure("unmasked").caption.split(": ")[1].startswith("leak")


ORDER = dict(perm_plain=2e-16, perm_sinusoidal=0.46, perm_learned=1.05, perm_mask=0.02, acc_pe=1.0, acc_nope=0.2,
             bound=0.2, chance=0.0625, acc_decoder=0.76, length=16, steps=600)


@pytest.mark.parametrize("change", [dict(perm_plain=1e-4), dict(perm_sinusoidal=1e-12), dict(acc_pe=0.6),
                                    dict(acc_nope=0.6)])
def test_order_blind_verdict_follows_the_numbers(change):
    from explorer.lessons.attention import decide_order

    good = decide_order(ORDER)
    assert good.holds and "100% with the encoding, 20% without" in good.evidence and "76%" in good.evidence
    assert not decide_order({**ORDER, **change}).holds


MASK = dict(masked_future_nonzero=0, masked_fresh_future_nonzero=0, masked_past_nonzero=136, past_pairs=136,
            future_pairs=120, masked_future_max=0.0, unmasked_future_nonzero=120, unmasked_fresh_future_nonzero=120,
            unmasked_future_share=0.4, unmasked_fresh_future_share=0.02, acc_masked=0.5, acc_unmasked=1.0,
            chance=0.0625, steps=300)


@pytest.mark.parametrize("change", [dict(masked_future_nonzero=1), dict(masked_fresh_future_nonzero=4),
                                    dict(masked_past_nonzero=3), dict(unmasked_future_nonzero=0)])
def test_causal_mask_verdict_follows_the_numbers(change):
    from explorer.lessons.attention import decide_mask

    good = decide_mask(MASK)
    assert good.holds and "exactly 0 for 120 of 120 pairs s > t" in good.evidence
    assert not decide_mask({**MASK, **change}).holds


def test_the_attention_tab_state_shows_a_leak_check_of_its_run():
    from explorer.training.jobs.gpt_job import GptConfig, GptJob

    for causal in (True, False):
        job = GptJob(GptConfig(task="copy", context=8, layers=1, heads=2, width=16, steps=2, causal=causal))
        _, final = run_to_end(job, snapshot_interval=0.0)
        snap = job.snapshot(final.step)
        assert snap.leak.shape == (8, 8) and snap.leak[np.tril_indices(8)].all()
        future = snap.leak[np.triu_indices(8, 1)]
        assert (not future.any()) if causal else future.all()
        state = state_for_kind("gpt")
        state.take_snapshot(snap)
        fig = state.figure("leak")
        assert fig.heatmaps and fig.caption.startswith("causal mask on: no leak: ∂y_t/∂x_s is exactly 0 for all 28"
                                                       if causal else "causal mask off: leak: 28 of the 28 pairs")
    assert state_for_kind("gpt").figure("leak").is_empty  # nothing trained yet: the hint
