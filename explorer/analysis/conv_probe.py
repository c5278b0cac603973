"""Measure what a freshly initialised convolution stack's output depends on (for the architecture views)."""
from __future__ import annotations

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
    from .receptive_field import effective_receptive_field

    torch.manual_seed(seed)
    model = CausalConvStack(config.alphabet, config.channels, config.layers, config.kernel_size,
                            config.dilation_tuple(), config.residual, config.gated, config.causal)
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, config.alphabet, (batch, config.seq_len), generator=gen)
    return effective_receptive_field(model, tokens, t)
