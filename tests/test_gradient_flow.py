"""Gradient flow through time: exact in a linear RNN, vanishing in a contracting tanh RNN, kept by the LSTM."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.analysis.gradient_flow import (
    gradient_norms,
    initial_gradient_flow,
    jacobian_spectrum,
    top_singular_values,
)
from explorer.data.recurrent_tasks import CopyTask
from explorer.models.recurrent_net import RecurrentNet


@pytest.mark.parametrize("a", [0.5, 1.5, -0.8])
def test_a_linear_rnn_scales_the_gradient_by_a_per_step(a):
    """h(t) = a h(t-1) + W_x x(t) + b: dL/dh(t) = a^(T-1-t) dL/dh(T-1), whatever the inputs."""
    torch.manual_seed(0)
    net = RecurrentNet("RNN", 5, 6, 4, activation="identity")
    with torch.no_grad():
        net.cell.weight_hh.copy_(a * torch.eye(6))
    task = CopyTask(delay=10, symbols=2, alphabet=3)  # 14 steps
    x, y = task.batch(4, torch.Generator().manual_seed(0))
    norms = gradient_norms(net, x, y, task)
    L = x.shape[1]
    assert norms.shape == (L,)
    expected = np.abs(a) ** (L - 1 - np.arange(L))
    np.testing.assert_allclose(norms / norms[-1], expected, rtol=1e-4)
    spec = jacobian_spectrum(net, x, k=3)
    np.testing.assert_allclose(spec.sv, np.full((L, 3), abs(a)), rtol=1e-5)  # J = a I
    np.testing.assert_allclose(spec.log10_product, np.log10(expected), rtol=1e-4, atol=1e-5)


def _ratio(cell: str, scale: float, forget_bias: float = 1.0) -> float:
    flow = initial_gradient_flow(cell, "tanh", 64, 50, scale, forget_bias=forget_bias, seed=0)
    return float(flow.grad_norms[0] / flow.grad_norms[-1])


def test_a_contracting_tanh_rnn_loses_its_gradient_and_an_lstm_keeps_far_more():
    # measured over seeds 0-7 (hidden 64, 50 steps, scale 0.5): RNN 2e-16 .. 8e-16 (0.5^49 ≈ 2e-15);
    # LSTM forget bias 1: 6e-6 .. 3e-5; forget bias 3: 0.24 .. 0.65; LSTM at scale 1, forget bias 1: 3e-3 .. 3e-2
    rnn = _ratio("RNN", 0.5)
    assert rnn < 1e-10  # the brief's bar is 1e-4; it vanishes by fifteen orders of magnitude
    lstm = _ratio("LSTM", 0.5, forget_bias=1.0)
    assert lstm > 1e-7 and lstm > 1e6 * rnn  # the cell path c(t) = f c(t-1) + ... decays only like f^t
    assert _ratio("LSTM", 0.5, forget_bias=3.0) > 0.05  # f = σ(3) ≈ 0.95: almost nothing is lost
    assert _ratio("LSTM", 1.0, forget_bias=1.0) > 1e-3


def _autograd_jacobian(net, x, t):
    """∂s(t)/∂s(t-1) by autograd through one step of the cell, independently of the written-out Jacobian."""
    with torch.no_grad():
        _, rec = net.forward_recorded(x[:1])
    u, H = rec.u[0, t:t + 1], net.hidden_size
    h = rec.hidden[t - 1][0] if t else torch.zeros(H)
    if rec.cell is None:
        return torch.autograd.functional.jacobian(lambda s: net.cell.step(u, s[None])[0][0], h)
    c = rec.cell[t - 1][0] if t else torch.zeros(H)

    def step(s):
        h1, c1, _ = net.cell.step(u, s[None, :H], s[None, H:])
        return torch.cat([h1[0], c1[0]])

    return torch.autograd.functional.jacobian(step, torch.cat([h, c]))


@pytest.mark.parametrize("cell,extra", [("RNN", {}), ("RNN", {"activation": "relu"}), ("GRU", {}),
                                        ("GRU", {"reset_after": False}), ("LSTM", {})])
def test_jacobian_singular_values_match_an_independent_autograd_jacobian(cell, extra):
    torch.manual_seed(1)
    net = RecurrentNet(cell, 6, 10, 3, weight_scale=1.3, **extra)
    x = torch.randint(0, 6, (2, 15))
    spec = jacobian_spectrum(net, x, k=5, sample=0)
    assert spec.sv.shape == (15, 5) and spec.steps.tolist() == list(range(15))
    for t in (0, 1, 7, 14):
        J = _autograd_jacobian(net, x, t)
        assert J.shape == (net.cell.state_size,) * 2
        np.testing.assert_allclose(spec.sv[t], torch.linalg.svdvals(J)[:5].numpy(), rtol=1e-4, atol=1e-6)
    logs = np.log10(spec.sv[:, 0].astype(np.float64))
    np.testing.assert_allclose(spec.log10_product, [logs[t + 1:].sum() for t in range(15)], atol=1e-4)


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_the_product_of_largest_singular_values_bounds_the_gradient(cell):
    torch.manual_seed(2)
    net = RecurrentNet(cell, 10, 16, 8, weight_scale=2.0)
    task = CopyTask(delay=20)
    x, y = task.batch(1, torch.Generator().manual_seed(2))
    norms = gradient_norms(net, x, y, task)
    spec = jacobian_spectrum(net, x)
    assert np.all(np.log10(norms / norms[-1]) <= spec.log10_product + 1e-4)


def test_randomized_top_singular_values_are_close_lower_bounds():
    gen = torch.Generator().manual_seed(3)
    J = torch.randn(4, 300, 300, generator=gen) / 300**0.5
    exact = torch.linalg.svdvals(J)[:, :8]
    approx = top_singular_values(J, 8, method="randomized")
    assert torch.all(approx <= exact * (1 + 1e-5))
    assert torch.all(approx[:, 0] >= 0.97 * exact[:, 0]) and torch.all(approx >= 0.93 * exact)


def test_a_small_work_budget_samples_steps_and_interpolates():
    torch.manual_seed(4)
    net = RecurrentNet("GRU", 5, 12, 5)
    x = torch.randint(0, 5, (1, 40))
    full = jacobian_spectrum(net, x, k=4)
    cheap = jacobian_spectrum(net, x, k=4, budget=10 * 12**3)
    assert len(cheap.steps) == 10 and cheap.steps[0] == 0 and cheap.steps[-1] == 39
    assert cheap.sv.shape == (40, 4) and np.all(np.isfinite(cheap.sv))
    np.testing.assert_allclose(cheap.sv[cheap.steps], full.sv[cheap.steps], rtol=1e-5)


@pytest.mark.parametrize("cell", ["RNN", "GRU", "LSTM"])
def test_initial_gradient_flow_has_the_documented_shapes(cell):
    flow = initial_gradient_flow(cell, "tanh", 12, 30, 1.0, k=8)
    n = 24 if cell == "LSTM" else 12
    assert flow.grad_norms.shape == (30,) and flow.jac_sv.shape == (30, min(8, n))
    assert flow.log10_product.shape == (30,) and flow.log10_product[-1] == 0
    assert flow.grad_norms.dtype == np.float32 and np.all(flow.grad_norms > 0)
    assert flow.w_sv_max > 1.0  # spectral radius 1: a Gaussian matrix's largest singular value is about 2
