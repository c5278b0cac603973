"""What a transformer's outputs depend on, measured: a permutation test (is the model blind to token order?),
the input Jacobian |∂y_t/∂x_s| (does output t read later inputs?), and the best accuracy an order-blind model
can reach on the reverse task. Models are explorer.models.transformer.GPT; measurements run in double
precision so that an exact 0 or an exact equality is not hidden by rounding."""
from __future__ import annotations

import copy

import numpy as np
import torch


def _double(model):
    """A float64 copy in eval mode (the trained model is left as it is)."""
    return copy.deepcopy(model).double().eval()


def forward_embedded(model, e: torch.Tensor) -> torch.Tensor:
    """Logits of a GPT from its embedded input e (B, T, width) (token embedding + positional encoding)."""
    x = e
    for block in model.blocks:
        x = block(x)
    return model.head(model.ln_f(x))


def permutation_error(model, tokens: torch.Tensor, perm: torch.Tensor) -> float:
    """max |f(x[π]) − f(x)[π]| / max |f(x)| over a batch (B, T) of token ids: 0 (up to rounding, ~1e-16) when
    the model is permutation-equivariant, i.e. blind to order; of order 1 when positions matter."""
    m = _double(model)
    with torch.no_grad():
        out = m(tokens)
        permuted = m(tokens[:, perm])
    return float((permuted - out[:, perm]).abs().max() / out.abs().max())


def input_jacobian(model, tokens: torch.Tensor, seed: int = 0) -> np.ndarray:
    """(T, T) float64: entry (t, s) = Σ_batch Σ_features |∂(r · y_t)/∂x_s|, with y_t output t's logits, r a fixed
    random direction (so that no sum of logits cancels) and x_s the embedded input at s. Exactly 0 where output t
    cannot depend on input s (the causal mask's future: the masked weights are exactly 0)."""
    m = _double(model)
    gen = torch.Generator().manual_seed(seed)
    r = torch.randn(m.head.out_features, generator=gen, dtype=torch.float64)
    e = m.embed(tokens).detach()
    B, T, _ = e.shape
    # one backward pass for every t: copy b of block t only feeds output t into the sum
    x = e.repeat(T, 1, 1).requires_grad_(True)  # (T * B, T, W), copy t * B + b
    rows = torch.arange(T).repeat_interleave(B)
    out = forward_embedded(m, x)[torch.arange(T * B), rows] @ r  # (T * B,)
    (grad,) = torch.autograd.grad(out.sum(), x)
    return grad.abs().sum(dim=2).view(T, B, T).sum(dim=1).numpy()


def future_extent(jac: np.ndarray) -> dict[str, float]:
    """How much of a (T, T) Jacobian lies on later inputs (s > t) and on earlier ones (s <= t)."""
    jac = np.asarray(jac, dtype=np.float64)
    future, past = np.triu(np.ones(jac.shape, bool), 1), np.tril(np.ones(jac.shape, bool))
    return {"future_max": float(jac[future].max()) if future.any() else 0.0,
            "future_nonzero": float((jac[future] != 0).sum()), "future_pairs": float(future.sum()),
            "past_nonzero": float((jac[past] != 0).sum()), "past_pairs": float(past.sum()),
            "future_share": float(jac[future].sum() / jac.sum()) if jac.sum() > 0 else 0.0}


def order_blind_bound(length: int, symbols: int, samples: int = 20000, seed: int = 0) -> float:
    """The best accuracy any order-blind (permutation-equivariant) model can reach on reversing `length` random
    symbols: output i sees only its own token and the multiset of all tokens, and the target (the token at
    length-1-i) is then any of the other tokens with equal chance, so the best guess is their most common one.
    Estimated over `samples` random sequences (for even lengths, where no position is its own mirror)."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, symbols, size=(samples, length))
    counts = np.stack([(s == k).sum(1) for k in range(symbols)], axis=1)  # (samples, symbols)
    best = []
    for i in range(length):
        others = counts.copy()
        others[np.arange(samples), s[:, i]] -= 1
        best.append(others.max(1) / (length - 1))
    return float(np.mean(best))
