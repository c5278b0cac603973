"""word2vec with negative sampling (Mikolov et al. 2013): skip-gram and CBOW.

Skip-gram minimises, for a centre word c, a true context word o and k words n_1..n_k drawn from the noise
distribution P_n(w) ∝ count(w)^0.75:

    L = -log σ(u_o · v_c) - Σ_i log σ(-u_{n_i} · v_c)

where v are the input ("centre") vectors and u the output ("context") vectors. CBOW uses the mean of the
context words' input vectors in place of v_c and predicts the centre word.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Word2Vec(nn.Module):
    """Input and output embedding tables, initialised as in the word2vec C tool (output vectors start at zero)."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.inp = nn.Embedding(vocab_size, dim, sparse=True)
        self.out = nn.Embedding(vocab_size, dim, sparse=True)
        with torch.no_grad():
            self.inp.weight.uniform_(-0.5 / dim, 0.5 / dim)
            self.out.weight.zero_()

    def skipgram_loss(self, centre: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """Per-pair negative-sampling loss; centre, context: (B,), negatives: (B, k)."""
        v = self.inp(centre)  # (B, D)
        return self._ns_loss(v, context, negatives)

    def cbow_loss(self, contexts: torch.Tensor, mask: torch.Tensor, centre: torch.Tensor,
                  negatives: torch.Tensor) -> torch.Tensor:
        """Per-example CBOW loss; contexts, mask: (B, 2W) with mask 1 for real context words."""
        m = mask.to(self.inp.weight.dtype).unsqueeze(-1)
        v = (self.inp(contexts) * m).sum(1) / m.sum(1).clamp_min(1.0)
        return self._ns_loss(v, centre, negatives)

    def _ns_loss(self, v: torch.Tensor, target: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        u_pos = self.out(target)  # (B, D)
        u_neg = self.out(negatives)  # (B, k, D)
        pos = F.logsigmoid((v * u_pos).sum(-1))
        neg = F.logsigmoid(-(u_neg @ v.unsqueeze(-1)).squeeze(-1)).sum(-1)
        return -(pos + neg)
