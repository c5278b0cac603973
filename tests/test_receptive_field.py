"""Receptive fields: sizes, sets, path counts and edges by hand; the gradient-based field against the theory."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.analysis.conv_probe import effective_receptive_field
from explorer.analysis.receptive_field import (
    all_edges,
    connection_edges,
    path_counts,
    receptive_field_set,
    receptive_field_size,
    sizes_by_depth,
    sizes_without_dilation,
)
from explorer.models.causal_conv import CausalConvStack


def test_sizes_equal_hand_counts():
    assert receptive_field_size(2, (1, 2, 4, 8)) == 16
    assert receptive_field_size(3, (1, 1, 1, 1)) == 9
    assert receptive_field_size(2, (1, 2, 4, 1, 2, 4)) == 15
    assert receptive_field_size(5, ()) == 1
    assert sizes_by_depth(2, (1, 2, 4, 8)).tolist() == [2, 4, 8, 16]
    assert sizes_without_dilation(2, 4).tolist() == [2, 3, 4, 5]
    assert sizes_by_depth(3, (1, 2, 4)).tolist() == [3, 7, 15]
    with pytest.raises(ValueError):
        receptive_field_size(2, (1, 0))


def test_causal_sets_by_hand():
    assert receptive_field_set(2, (1, 2), 3).tolist() == [0, 1, 2, 3]
    assert receptive_field_set(2, (2,), 5).tolist() == [3, 5]
    assert receptive_field_set(2, (2, 2), 6).tolist() == [2, 4, 6]  # gaps: only even offsets are reachable
    assert receptive_field_set(3, (3, 1), 10).tolist() == list(range(2, 11))
    assert receptive_field_set(2, (1, 2), 1).tolist() == [0, 1]  # cut off at the start of the sequence
    assert len(receptive_field_set(2, (1, 2, 4, 8), 40)) == 16


def test_centred_sets_by_hand():
    assert receptive_field_set(3, (1, 1), 5, causal=False).tolist() == [3, 4, 5, 6, 7]
    # k=2 splits its one padding position like padding='same': floor on the left
    assert receptive_field_set(2, (1, 2), 5, causal=False).tolist() == [4, 5, 6, 7]
    # position -1 of the middle level is padding, so input 3 (= -1 + 4) does not reach output 0
    assert receptive_field_set(3, (4, 1), 0, causal=False, length=10).tolist() == [0, 1, 4, 5]


def test_path_counts_k2_doubling_are_all_one():
    counts = path_counts(2, (1, 2, 4), 10, 12)
    assert counts.tolist() == [0, 0, 0] + [1] * 8 + [0]


@pytest.mark.parametrize("layers", [1, 3, 6])
def test_path_counts_for_constant_dilation_are_binomial(layers):
    t = 20
    counts = path_counts(2, (1,) * layers, t, 30)
    expected = np.zeros(30, dtype=np.int64)
    for j in range(layers + 1):
        expected[t - j] = math.comb(layers, j)
    assert counts.tolist() == expected.tolist()
    trinomial = np.polynomial.polynomial.polypow([1, 1, 1], layers).astype(np.int64)  # (1 + x + x^2)^L
    assert path_counts(3, (1,) * layers, t, 30)[t - 2 * layers: t + 1][::-1].tolist() == trinomial.tolist()


def test_a_residual_layer_adds_the_identity_path():
    counts = path_counts(2, (1, 1, 1), 10, 12, residual=True)  # each layer: offset -1 once, offset 0 twice
    assert counts[7:11].tolist() == [1, 6, 12, 8]  # (x + 2)^3 = x^3 + 6x^2 + 12x + 8


def test_edges_reaching_an_output_by_hand():
    edges = connection_edges(2, (1, 2), 3, 6)
    assert [e.tolist() for e in edges] == [[[0, 1], [1, 1], [2, 3], [3, 3]], [[1, 3], [3, 3]]]
    full = all_edges(2, (1, 2), 6)
    assert [len(e) for e in full] == [11, 10]  # 2 sources per dst, 1 for the first d positions
    for reach, every in zip(edges, full, strict=True):
        assert {tuple(p) for p in reach} <= {tuple(p) for p in every}
    centred = connection_edges(3, (1,), 2, 4, causal=False)
    assert centred[0].tolist() == [[1, 2], [2, 2], [3, 2]]


@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize("gated,residual,dilations", [(True, True, (1, 2, 4)), (False, False, (1, 1, 3)),
                                                      (True, True, (2, 2, 1))])
def test_the_empirical_field_lies_inside_the_theoretical_one(causal, gated, residual, dilations):
    torch.manual_seed(4)
    k, length, t = 2, 32, 14
    model = CausalConvStack(5, 8, len(dilations), k, dilations, residual=residual, gated=gated, causal=causal)
    erf = effective_receptive_field(model, torch.randint(0, 5, (6, length)), t)
    theory = receptive_field_set(k, dilations, t, causal=causal, length=length, residual=residual)
    support = np.flatnonzero(erf)
    assert erf.shape == (length,) and set(support) <= set(theory)
    if gated:  # no dead ReLU: at random weights every theoretical position really counts
        assert support.tolist() == theory.tolist()
    if causal:
        assert np.all(erf[t + 1:] == 0)
    else:
        assert erf[t + 1:].sum() > 0
    assert all(p.grad is None for p in model.parameters())  # the measure does not touch training gradients
