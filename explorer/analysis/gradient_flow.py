"""Gradient flow through time in a recurrent network: how much of the last step's loss gradient reaches h(t).

Backprop through time multiplies the gradient by one state Jacobian J(t) = ∂s(t)/∂s(t-1) per step back:

    dL/ds(t) = J(t+1)ᵀ J(t+2)ᵀ ... J(T)ᵀ dL/ds(T),  so  |dL/ds(t)| <= σ_max(J(t+1)) ... σ_max(J(T)) |dL/ds(T)|

(σ_max: the largest singular value). Products of Jacobians whose singular values stay below 1 shrink the
gradient exponentially (vanishing), above 1 they can grow it (exploding). The state s is h for the RNN and
the GRU and the pair (h, c) for the LSTM, whose c path with Jacobian diag(f) is what keeps its gradients alive.
"""
from __future__ import annotations

import dataclasses
from typing import NamedTuple

import numpy as np

JAC_WORK_BUDGET = 1e9  # sum of n³ over the SVDs of one jacobian_spectrum (n: state size): ~0.2-0.4 s, one core
EXACT_SVD_MAX = 1024  # state sizes up to this get exact singular values; larger ones a randomized top-k
JAC_CHUNK_FLOATS = 2**23  # Jacobian entries formed at once (32 MB)


class JacobianSpectrum(NamedTuple):
    """sv (L, k): the top singular values of ∂s(t)/∂s(t-1) at every step t (t = 0 differentiates by the zero
    initial state); log10_product (L,): log10 of σ_max(J(t+1)) ... σ_max(J(L-1)), the bound above on
    |dL/ds(t)| / |dL/ds(L-1)| (0 at the last step); steps: the steps whose Jacobians were computed (all of
    them unless the work budget was exceeded; values between them are interpolated in log space)."""

    sv: np.ndarray
    log10_product: np.ndarray
    steps: np.ndarray


@dataclasses.dataclass(frozen=True)
class GradientFlow:
    """What a freshly initialised network does to gradients: see initial_gradient_flow."""

    grad_norms: np.ndarray  # (L,) mean |dL_last/dh(t)|
    jac_sv: np.ndarray  # (L, k) top singular values of the state Jacobians of sequence 0
    log10_product: np.ndarray  # (L,) log10 of the product of largest singular values from t+1 to the end
    w_sv_max: float  # largest singular value of the recurrent matrix


def _last_step_grad_norms(model, x, last_step_losses) -> np.ndarray:
    import torch

    with torch.enable_grad():
        logits, rec = model.forward_recorded(x)
        # summed over the batch, so that each sequence's gradient is that of its own loss
        loss = last_step_losses(logits).sum()
        grads = torch.autograd.grad(loss, rec.hidden)
    norms = torch.stack([g.norm(dim=-1) for g in grads], dim=1)  # (B, L)
    return norms.mean(0).detach().cpu().numpy().astype(np.float32)


def gradient_norms(model, x, y, task) -> np.ndarray:
    """(L,) |dL/dh(t)| for the loss of the last time step only, averaged over the batch (each sequence its own
    last-step loss), for t = 0..L-1; `task` is a RecurrentTask (it knows the loss)."""
    return _last_step_grad_norms(model, x, lambda logits: task.last_step_losses(logits, y))


def top_singular_values(J, k: int, method: str = "auto", iters: int = 5):
    """(N, k) the k largest singular values of each of N square matrices (N, n, n), largest first.

    "exact" uses torch.linalg.svdvals; "randomized" a block subspace iteration with k + 10 vectors and `iters`
    power steps, whose values are lower bounds (within ~1-2% for Jacobians of size 256); "auto" is exact up
    to size EXACT_SVD_MAX, beyond which one exact SVD takes seconds.
    """
    import torch

    n = J.shape[-1]
    k = min(k, n)
    width = min(n, k + 10)
    if method == "exact" or (method == "auto" and (n <= EXACT_SVD_MAX or width >= n // 2)):
        return torch.linalg.svdvals(J)[:, :k]
    gen = torch.Generator(device=J.device).manual_seed(0)
    omega = torch.randn(n, width, generator=gen, device=J.device, dtype=J.dtype)
    q = torch.linalg.qr(J @ omega).Q
    for _ in range(iters):
        q = torch.linalg.qr(J.mT @ q).Q
        q = torch.linalg.qr(J @ q).Q
    return torch.linalg.svdvals(q.mT @ J)[:, :k]


def jacobian_spectrum(model, x, k: int = 8, sample: int = 0, budget: float = JAC_WORK_BUDGET,
                      method: str = "auto") -> JacobianSpectrum:
    """The top-k singular values of the exact state Jacobian ∂s(t)/∂s(t-1) of sequence `sample` of x (B, L)
    at every step (each written out from the cell's equations, see the cells' state_jacobian), and the log10
    running product of the largest ones (see JacobianSpectrum)."""
    import torch

    with torch.no_grad():
        _, rec = model.forward_recorded(x[sample:sample + 1])
        cell = model.cell
        u = rec.u[0]
        L, H = u.shape[0], cell.hidden_size
        zero = u.new_zeros(1, H)
        h_prev = torch.cat([zero, torch.cat(rec.hidden[:-1])]) if L > 1 else zero
        c_prev = None
        if rec.cell is not None:
            c_prev = torch.cat([zero, torch.cat(rec.cell[:-1])]) if L > 1 else zero
        n = cell.state_size
        k = min(k, n)
        exact = method == "exact" or (method == "auto" and n <= EXACT_SVD_MAX)
        per_step = float(n) ** 3 if exact else 12.0 * n * n * (k + 10)
        m = int(min(L, max(2, budget // per_step)))
        steps = np.unique(np.linspace(0, L - 1, m).round().astype(np.int64))
        chunk = max(1, int(JAC_CHUNK_FLOATS // (n * n)))
        parts = []
        for start in range(0, len(steps), chunk):
            idx = torch.as_tensor(steps[start:start + chunk], device=u.device)
            J = cell.state_jacobian(u[idx], h_prev[idx], c_prev[idx] if c_prev is not None else None)
            parts.append(top_singular_values(J, k, "exact" if exact else "randomized"))
        sv = torch.cat(parts).double().cpu().numpy()
    if len(steps) < L:  # interpolate the logarithms between the computed steps
        logs = np.log(np.maximum(sv, 1e-300))
        sv = np.exp(np.stack([np.interp(np.arange(L), steps, logs[:, j]) for j in range(k)], axis=1))
    logs = np.log10(np.maximum(sv[:, 0], 1e-300))
    product = np.concatenate([np.cumsum(logs[::-1])[::-1][1:], [0.0]])
    return JacobianSpectrum(sv.astype(np.float32), product.astype(np.float32), steps)


def initial_gradient_flow(cell: str, activation: str, hidden: int, length: int, weight_scale: float,
                          forget_bias: float = 1.0, seed: int = 0, batch: int = 8, k: int = 8,
                          vocab: int = 10, reset_after: bool = False) -> GradientFlow:
    """Gradient flow of a freshly initialised RecurrentNet on random input: `batch` sequences of `length`
    random symbols out of `vocab` and a random target for the last step's cross-entropy."""
    import torch

    from ..models.recurrent_net import RecurrentNet

    torch.manual_seed(seed)
    model = RecurrentNet(cell, vocab, hidden, vocab, activation, weight_scale, forget_bias,
                         reset_after=reset_after)  # reset_after: torch's GRU variant, not the lecture's
    gen = torch.Generator().manual_seed(seed)
    x = torch.randint(0, vocab, (batch, length), generator=gen)
    target = torch.randint(0, vocab, (batch,), generator=gen)
    norms = _last_step_grad_norms(
        model, x, lambda logits: torch.nn.functional.cross_entropy(logits[:, -1], target, reduction="none"))
    spec = jacobian_spectrum(model, x, k)
    return GradientFlow(norms, spec.sv, spec.log10_product, model.largest_singular_value())
