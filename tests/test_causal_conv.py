"""The causal convolution stack: dilation schedules, padding as torch does it, no look into the future."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.models.causal_conv import CausalConvStack, DilatedConv1d, conv_padding, dilation_schedule


def test_dilation_schedules():
    assert dilation_schedule("constant", 3) == (1, 1, 1)
    assert dilation_schedule("doubling", 5) == (1, 2, 4, 8, 16)
    assert dilation_schedule("doubling, repeated in blocks", 8, block=4) == (1, 2, 4, 8, 1, 2, 4, 8)
    assert dilation_schedule("doubling, repeated in blocks", 5, block=3) == (1, 2, 4, 1, 2)
    assert dilation_schedule("custom", 3, custom=(3, 1, 5)) == (3, 1, 5)


def test_bad_custom_dilations_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"has 2 value.*3 layer"):
        dilation_schedule("custom", 3, custom=(1, 2))
    with pytest.raises(ValueError, match="at least 1"):
        dilation_schedule("custom", 2, custom=(1, 0))
    with pytest.raises(ValueError, match="Unknown dilation schedule"):
        dilation_schedule("tripling", 2)


@pytest.mark.parametrize("k,d", [(2, 1), (2, 4), (3, 2), (5, 3)])
def test_causal_layer_equals_torch_conv_with_its_right_end_cut_off(k, d):
    torch.manual_seed(0)
    ours = DilatedConv1d(3, 4, k, d, causal=True)
    ref = nn.Conv1d(3, 4, k, dilation=d, padding=(k - 1) * d)  # pads both sides; the causal part is the first T
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 20)
    torch.testing.assert_close(ours(x), ref(x)[:, :, :20])


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("k,d", [(3, 1), (3, 2), (2, 1), (4, 3)])
def test_centred_layer_equals_torch_same_padding(k, d):
    torch.manual_seed(1)
    ours = DilatedConv1d(3, 4, k, d, causal=False)
    ref = nn.Conv1d(3, 4, k, dilation=d, padding="same")
    ref.load_state_dict(ours.state_dict())
    x = torch.randn(2, 3, 17)
    torch.testing.assert_close(ours(x), ref(x))
    assert sum(conv_padding(k, d, causal=False)) == (k - 1) * d


@pytest.mark.parametrize("gated,residual", [(True, True), (False, False), (True, False), (False, True)])
def test_output_t_has_zero_gradient_from_later_inputs_and_centred_has_not(gated, residual):
    torch.manual_seed(2)
    x = torch.randint(0, 6, (3, 24))
    t = 9
    for causal in (True, False):
        model = CausalConvStack(6, 8, 3, 2, (1, 2, 4), residual=residual, gated=gated, causal=causal)
        e = model.embed(x).detach().requires_grad_(True)
        model.forward_embedded(e)[:, t, :].sum().backward()
        after = e.grad[:, t + 1:, :]
        if causal:
            assert torch.count_nonzero(after) == 0  # exactly zero, not merely small
            assert e.grad[:, t, :].abs().sum() > 0
        else:
            assert after.abs().sum() > 0


def test_changing_the_future_leaves_the_past_outputs_alone():
    torch.manual_seed(3)
    x = torch.randint(0, 5, (2, 30))
    y = x.clone()
    y[:, 20:] = (y[:, 20:] + 1) % 5
    causal = CausalConvStack(5, 8, 4, 2, (1, 2, 4, 8), causal=True)
    centred = CausalConvStack(5, 8, 4, 2, (1, 2, 4, 8), causal=False)
    centred.load_state_dict(causal.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(causal(x)[:, :20], causal(y)[:, :20])
        assert not torch.allclose(causal(x)[:, 20:], causal(y)[:, 20:])
        assert (centred(x)[:, :20] - centred(y)[:, :20]).abs().max() > 1e-3  # the centred stack looks ahead


def test_shapes_and_receptive_field():
    model = CausalConvStack(7, 16, 4, 2, (1, 2, 4, 8), out_dim=11)
    x = torch.randint(0, 7, (5, 40))
    assert model(x).shape == (5, 40, 16)
    assert model.logits(x).shape == (5, 40, 11)
    assert model.receptive_field == 16
    assert CausalConvStack(7, 16, 4, 3, (1, 1, 1, 1)).receptive_field == 9
    with pytest.raises(ValueError, match="without an output head"):
        CausalConvStack(7, 16, 2, 2).logits(x)
    with pytest.raises(ValueError, match="3 dilations given for 2 layers"):
        CausalConvStack(7, 16, 2, 2, (1, 2, 4))


def test_an_embedding_narrower_than_the_channels_still_runs():
    model = CausalConvStack(4, 12, 3, 2, (1, 2, 4), residual=True, embed_dim=5)
    assert model(torch.randint(0, 4, (2, 10))).shape == (2, 10, 12)
