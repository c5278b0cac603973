"""Measure what a convolution stack's output depends on, from its gradients: the effective receptive field of a
model (the job's, as it trains) or of a freshly initialised stack (for the architecture views)."""
from __future__ import annotations

from typing import Any

import numpy as np


def initial_erf(config, t: int, batch: int = 8, seed: int = 0) -> np.ndarray:
    """(seq_len,) effective receptive field of output `t` for a stack built from `config` at initialisation.

    The gradient magnitude of output t with respect to every embedded input position, averaged over a random
    batch (see effective_receptive_field); not normalised, so exact zeros stay exact. The stack is built for
    `config.alphabet` symbols whatever the task: which inputs an output depends on does not depend on the
    vocabulary size, and this way no corpus has to be read to draw the architecture.
    """
    import torch

    from ..models.causal_conv import CausalConvStack

    torch.manual_seed(seed)
    model = CausalConvStack(config.alphabet, config.channels, config.layers, config.kernel_size,
                            config.dilation_tuple(), config.residual, config.gated, config.causal)
    gen = torch.Generator().manual_seed(seed)
    batch = max(1, min(batch, 8192 // config.seq_len))  # long sequences (WaveNet's field): fewer, in the background
    tokens = torch.randint(0, config.alphabet, (batch, config.seq_len), generator=gen)
    return effective_receptive_field(model, tokens, t)


def effective_receptive_field(model: Any, inputs: Any, t: int) -> np.ndarray:
    """(T,) float64: for each input position s, the batch mean of sum_c |d out[b, t, :].sum() / d e[b, s, c]|.

    `model` needs `embed(tokens) -> (B, T, E)` and `forward_embedded(e) -> (B, T, C)` (as CausalConvStack has);
    e is the embedded input, so the gradient is taken with respect to continuous inputs, not token ids. Only the
    gradient of e is computed (the parameters' .grad are left untouched), so it is safe between training steps.
    For a causal stack it is exactly 0 for s > t (the convolutions multiply and add exact zeros there); where it
    is non-zero is at most the theoretical receptive_field_set, and its shape shows how much each position counts.
    """
    import torch

    with torch.enable_grad():
        e = model.embed(inputs).detach().requires_grad_(True)
        out = model.forward_embedded(e)
        if not 0 <= t < out.shape[1]:
            raise ValueError(f"The output position {t} is outside the sequence 0..{out.shape[1] - 1}.")
        (grad,) = torch.autograd.grad(out[:, t, :].sum(), e)
    return grad.abs().sum(dim=2).mean(dim=0).detach().to("cpu", torch.float64).numpy()


def fresh_stack_field(kernel_size: int, dilations: tuple[int, ...], length: int, t: int, causal: bool = True,
                      channels: int = 8, batch: int = 2, seed: int = 0) -> np.ndarray:
    """(length,) |∂y_t/∂x_s| of a fresh gated residual stack, in double precision (no underflow to a false 0).

    The stack is built for 8 symbols (which inputs an output depends on does not depend on the vocabulary).
    """
    import torch

    from ..models.causal_conv import CausalConvStack

    torch.manual_seed(seed)
    model = CausalConvStack(8, channels, len(dilations), kernel_size, tuple(dilations), residual=True, gated=True,
                            causal=causal).double()
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, 8, (batch, length), generator=gen)
    return effective_receptive_field(model, tokens, t)


def field_extent(grad: np.ndarray, t: int) -> dict[str, int]:
    """What a measured gradient field says: non-zero inputs at or before t and after t, and the span it reaches.

    span = t - (earliest non-zero input) + 1: the measured receptive field of a causal output (0 if none).
    """
    grad = np.asarray(grad)
    nonzero = np.flatnonzero(grad != 0)
    past = nonzero[nonzero <= t]
    return {"past": int(past.size), "future": int((nonzero > t).sum()),
            "future_inputs": int(grad.size - t - 1), "span": int(t - past.min() + 1) if past.size else 0}
