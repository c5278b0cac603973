"""The hand-written recurrent cells: the same numbers as torch.nn's cells, the lecture's GRU by hand, two paths."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from explorer.models.recurrent import CELLS, GRUCell, LSTMCell, RNNCell
from explorer.models.recurrent_net import RecurrentNet


def _inputs(n=5, d=4, h=6, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return (torch.randn(n, d, generator=gen), torch.randn(n, h, generator=gen), torch.randn(n, h, generator=gen))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rnn_cell_equals_torch_both_ways(activation):
    torch.manual_seed(1)
    x, h, _ = _inputs()
    ref = nn.RNNCell(4, 6, nonlinearity=activation)
    ours = RNNCell(4, 6, activation)
    ours.load_torch_cell(ref)
    torch.testing.assert_close(ours(x, h), ref(x, h), atol=1e-5, rtol=0)
    torch.testing.assert_close(RNNCell(4, 6, activation).to_torch_cell()(x, h).shape, ref(x, h).shape)
    back = ours.to_torch_cell()
    torch.testing.assert_close(back(x, h), ours(x, h), atol=1e-5, rtol=0)


def test_gru_cell_resetting_after_the_product_equals_torch():
    torch.manual_seed(2)
    x, h, _ = _inputs()
    ref = nn.GRUCell(4, 6)
    ours = GRUCell(4, 6, reset_after=True)
    ours.load_torch_cell(ref)
    torch.testing.assert_close(ours(x, h), ref(x, h), atol=1e-5, rtol=0)
    torch.testing.assert_close(ours(x), ref(x), atol=1e-5, rtol=0)  # zero initial state
    torch.testing.assert_close(ours.to_torch_cell()(x, h), ref(x, h), atol=1e-5, rtol=0)
    # our z is the share of new content: torch's update gate is its complement
    _, _, gates = ours.step(ours.input_part(x), h)
    w_ih, w_hh, b_ih, b_hh = ref.weight_ih, ref.weight_hh, ref.bias_ih, ref.bias_hh
    torch_z = torch.sigmoid(x @ w_ih[6:12].T + b_ih[6:12] + h @ w_hh[6:12].T + b_hh[6:12])
    torch.testing.assert_close(gates["z"], 1 - torch_z, atol=1e-6, rtol=0)


def test_lstm_cell_equals_torch_both_ways():
    torch.manual_seed(3)
    x, h, c = _inputs()
    ref = nn.LSTMCell(4, 6)
    ours = LSTMCell(4, 6)
    ours.load_torch_cell(ref)
    for a, b in zip(ours(x, (h, c)), ref(x, (h, c)), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    for a, b in zip(ours.to_torch_cell()(x, (h, c)), ref(x, (h, c)), strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    # torch's forget gate is its second block; ours is the first
    _, _, gates = ours.step(ours.input_part(x), h, c)
    f = torch.sigmoid(x @ ref.weight_ih[6:12].T + ref.bias_ih[6:12] + h @ ref.weight_hh[6:12].T + ref.bias_hh[6:12])
    torch.testing.assert_close(gates["f"], f, atol=1e-6, rtol=0)


def test_the_lectures_gru_by_hand():
    """One hidden unit pair, one input: h~ = tanh(W_h (r ⊙ h) + W_x x + b), h = (1 - z) h + z h~."""
    cell = GRUCell(1, 2, reset_after=False)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.tensor([[1.0], [0.5], [-1.0], [0.0], [2.0], [1.0]]))  # z, r, h~ rows
        cell.weight_hh.copy_(torch.tensor([[0.5, 0.0], [0.0, -0.5], [1.0, 1.0], [0.0, 1.0], [1.0, -1.0],
                                           [0.5, 0.5]]))
        cell.bias.copy_(torch.tensor([0.0, 0.1, 0.0, -0.2, 0.0, 0.3]))
    x, h = torch.tensor([[0.8]]), torch.tensor([[0.4, -0.6]])
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    h0, h1, xv = 0.4, -0.6, 0.8
    z = [sig(1.0 * xv + 0.5 * h0), sig(0.5 * xv + -0.5 * h1 + 0.1)]
    r = [sig(-1.0 * xv + h0 + h1), sig(0.0 * xv + h1 - 0.2)]
    rh = [r[0] * h0, r[1] * h1]
    cand = [math.tanh(2.0 * xv + rh[0] - rh[1]), math.tanh(1.0 * xv + 0.5 * rh[0] + 0.5 * rh[1] + 0.3)]
    expected = [(1 - z[k]) * [h0, h1][k] + z[k] * cand[k] for k in range(2)]
    torch.testing.assert_close(cell(x, h), torch.tensor([expected]), atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match="resets before"):
        cell.to_torch_cell()


@pytest.mark.parametrize("cell,extra", [("RNN", {}), ("RNN", {"activation": "relu"}), ("GRU", {}),
                                        ("GRU", {"reset_after": True}), ("LSTM", {}),
                                        ("RNN", {"activation": "identity", "weight_scale": 0.9})])
def test_the_fast_path_and_the_recorded_path_agree(cell, extra):
    torch.manual_seed(4)
    net = RecurrentNet(cell, 7, 12, 5, **{"weight_scale": 1.2, **extra})
    x = torch.randint(0, 7, (3, 30))
    logits, rec = net.forward_recorded(x)
    torch.testing.assert_close(net(x), logits, atol=1e-5, rtol=0)
    assert logits.shape == (3, 30, 5) and len(rec.hidden) == 30 and rec.hidden[0].shape == (3, 12)
    assert set(rec.gates) == {"RNN": set(), "GRU": {"z", "r"}, "LSTM": {"f", "i", "o"}}[cell]
    assert all(g.shape == (3, 30, 12) for g in rec.gates.values())
    assert (rec.cell is not None) == (cell == "LSTM")
    torch.testing.assert_close(net(x, tbptt=7), logits, atol=1e-5, rtol=0)  # truncation changes no value


def test_the_lecture_gru_is_the_default_and_its_fast_path_has_the_recorded_paths_gradients():
    torch.manual_seed(7)
    net = RecurrentNet("GRU", 6, 10, 4)
    assert not net.cell.reset_after and net.cell.bias_hn is None and not net.has_fast_path
    x = torch.randint(0, 6, (3, 25))
    fast = torch.autograd.grad(net(x).square().sum(), list(net.parameters()))
    slow = torch.autograd.grad(net.forward_recorded(x)[0].square().sum(), list(net.parameters()))
    for a, b in zip(fast, slow, strict=True):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_truncated_bptt_stops_the_gradient():
    torch.manual_seed(5)
    net = RecurrentNet("LSTM", 3, 8, 2)
    x = torch.ones(2, 12, dtype=torch.long)
    x[:, 0] = 0  # symbol 0 occurs only at the first step
    for tbptt, reaches in ((0, True), (4, False)):
        net.zero_grad()
        net(x, tbptt)[:, -1].sum().backward()
        column = net.cell.weight_ih.grad[:, 0]
        assert (column.abs().sum() > 0) == reaches


@pytest.mark.parametrize("cell", CELLS)
def test_initialisation_sets_the_spectral_radius_and_the_forget_bias(cell):
    torch.manual_seed(6)
    net = RecurrentNet(cell, 5, 16, 3, weight_scale=0.7, forget_bias=2.0)
    blocks = net.recurrent_blocks()
    assert list(blocks) == {"RNN": ["h"], "GRU": ["z", "r", "n"], "LSTM": ["f", "i", "o", "g"]}[cell]
    for w in blocks.values():
        assert w.shape == (16, 16)
        assert torch.linalg.eigvals(w.double()).abs().max().item() == pytest.approx(0.7, rel=1e-4)
    assert net.recurrent_matrix().shape == (16 * len(blocks), 16)
    assert net.largest_singular_value() == pytest.approx(torch.linalg.svdvals(net.recurrent_matrix()).max().item(),
                                                         rel=1e-5)
    if cell == "LSTM":
        assert torch.all(net.cell.bias[:16] == 2.0) and torch.all(net.cell.bias[16:] == 0.0)


def test_a_fixed_input_table_feeds_features_instead_of_one_hot_vectors():
    table = torch.tensor([[0.0, 0.0], [0.5, 0.0], [1.0, 1.0]])
    net = RecurrentNet("GRU", 3, 4, 1, input_table=table)
    assert net.cell.weight_ih.shape == (12, 2)
    torch.testing.assert_close(net.embed(torch.tensor([[2, 1]])), table[[2, 1]][None])
    assert "input_table" not in dict(net.named_parameters())


def test_bad_names_say_what_is_wrong():
    with pytest.raises(ValueError, match="Unknown cell 'GRUU'"):
        RecurrentNet("GRUU", 3, 4, 2)
    with pytest.raises(ValueError, match="Unknown activation 'sigmoid'"):
        RecurrentNet("RNN", 3, 4, 2, activation="sigmoid")


@pytest.mark.parametrize("cell", [RNNCell(4, 6, "tanh"), RNNCell(4, 6, "relu"), GRUCell(4, 6, reset_after=True),
                                  LSTMCell(4, 6)], ids=["rnn-tanh", "rnn-relu", "gru", "lstm"])
def test_to_torch_cell_keeps_float64_and_its_precision(cell):
    torch.manual_seed(5)
    cell = cell.double()
    with torch.no_grad():
        for p in cell.parameters():
            p.normal_(0, 0.7)
    back = cell.to_torch_cell()
    assert all(p.dtype == torch.float64 and p.device == cell.weight_ih.device for p in back.parameters())
    x, h, c = (t.double() for t in _inputs())
    state = (h, c) if isinstance(cell, LSTMCell) else h
    ours, theirs = cell(x, state), back(x, state)
    for a, b in zip(ours if isinstance(cell, LSTMCell) else [ours], theirs if isinstance(cell, LSTMCell) else [theirs],
                    strict=True):
        assert b.dtype == torch.float64
        torch.testing.assert_close(b, a, atol=1e-13, rtol=0)  # float32 would differ by ~1e-7
