"""word2vec (Mikolov et al. 2013): skip-gram and CBOW, trained with negative sampling or the full softmax.

v_w are the input ("centre") vectors, u_w the output ("context") vectors, σ the logistic function, V the
vocabulary. Each variant minimises, per training example, with k noise words n_1..n_k drawn from the noise
distribution P_n(w) ∝ count(w)^0.75:

    skip-gram, negative sampling:  L = -log σ(u_o · v_c) - Σ_i log σ(-u_{n_i} · v_c)
    skip-gram, full softmax:       L = -log softmax(U v_c)[o] = -u_o · v_c + log Σ_{w ∈ V} exp(u_w · v_c)
    CBOW, negative sampling:       L = -log σ(u_c · h) - Σ_i log σ(-u_{n_i} · h)
    CBOW, full softmax:            L = -log softmax(U h)[c]

for a centre word c and one context word o of its window (skip-gram), or the mean h = (1/m) Σ_j v_{o_j} of
the input vectors of its m context words (CBOW, which predicts the centre word from its context).

The gradients, which the `*_step` methods apply directly (sparse SGD: only the rows that take part change):

    negative sampling:  ∂L/∂v = -(1 - σ(u_o · v)) u_o + Σ_i σ(u_{n_i} · v) u_{n_i}
                        ∂L/∂u_o = -(1 - σ(u_o · v)) v,   ∂L/∂u_{n_i} = σ(u_{n_i} · v) v
    full softmax:       ∂L/∂v = U^T (p - e_o),  ∂L/∂u_w = (p_w - [w = o]) v,  with p = softmax(U v)

(for CBOW v is h, and each context word's input vector gets ∂L/∂h / m). The true word pulls v towards u_o
by lr (1 - σ(u_o · v)) |u_o|; each noise word pushes it away from u_n by lr σ(u_n · v) |u_n|.

A batch's step sums the gradients of every example a row takes part in. The C tool applies them one example at
a time, each at the row's new value, which corrects itself; a sum taken at one point does not: a word repeated
c times in a batch moves c times as far along the same stale gradient, and on a small vocabulary (every word in
hundreds of a batch's examples) the steps overshoot and grow until they overflow. So each row r moves by

    -min(lr, 1 / L_r) Σ_i ∂L_i/∂r,    L_r = Σ_i bound_i(r) >= the largest curvature of Σ_i L_i along row r,

gradient descent on the row's share of the batch loss at a step of at most 1 / L_r, which does not overshoot
(the descent lemma, where L_r bounds the curvature everywhere). bound_i(r): for negative sampling |x|^2 / 4 for
a score x · r (σ' <= 1/4), so |v|^2 / 4 per use of an output row and Σ_j |u_j|^2 / 4 for v: a bound everywhere.
For the full softmax, whose output rows all take part in every example, that bound would slow it down: there
an output row gets |v|^2 / 4 where it is the true word and p_w |v|^2 elsewhere (p_w (1 - p_w) <= p_w all the
way down, where its gradient p_w v pushes it), and v gets the trace of U^T (diag p - p p^T) U (the variance of
u under p) plus |∂L/∂v|^2 / 4, the curvature met on the way from a wrong word to the true one. A CBOW context
vector that fills n of the m places gets (n/m)^2 of h's. Where lr L_r <= 1, as for nearly every row on a real
corpus (an epoch of 300,000 words of Austen ends at the same loss to 4 digits), the step is plain SGD at rate lr.

Cost per example: negative sampling touches k + 1 output rows, O(k D); the full softmax scores every word,
O(|V| D) with a dense (V, D) output matrix updated at every step, which is why the job refuses it above
FULL_SOFTMAX_MAX_VOCAB words.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

# Measured on one CPU core, dim 50, 512 pairs per step: 2.6 ms at 188 words, 54 ms at 5,915 (Austen, min count 5),
# 110 ms at 10,000 (~1,000 corpus words/s); negative sampling takes ~1 ms at any vocabulary size.
FULL_SOFTMAX_MAX_VOCAB = 10_000


class Word2Vec(nn.Module):
    """Input and output embedding tables, initialised as in the word2vec C tool (output vectors start at zero)."""

    def __init__(self, vocab_size: int, dim: int) -> None:
        super().__init__()
        self.inp = nn.Embedding(vocab_size, dim, sparse=True)
        self.out = nn.Embedding(vocab_size, dim, sparse=True)
        with torch.no_grad():
            self.inp.weight.uniform_(-0.5 / dim, 0.5 / dim)
            self.out.weight.zero_()

    # -- the losses, for autograd (tests, notebooks) ---------------------------------------------------------
    def skipgram_loss(self, centre: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """Per-pair negative-sampling loss; centre, context: (B,), negatives: (B, k)."""
        return ns_loss(self.inp(centre), self.out(context), self.out(negatives))

    def cbow_loss(self, contexts: torch.Tensor, mask: torch.Tensor, centre: torch.Tensor,
                  negatives: torch.Tensor) -> torch.Tensor:
        """Per-example CBOW negative-sampling loss; contexts, mask: (B, 2W) with mask 1 for real context words."""
        return ns_loss(self.context_mean(contexts, mask), self.out(centre), self.out(negatives))

    def skipgram_softmax_loss(self, centre: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """Per-pair full-softmax loss -log softmax(U v_c)[o]; centre, context: (B,)."""
        return softmax_loss(self.inp(centre), self.out.weight, context)

    def cbow_softmax_loss(self, contexts: torch.Tensor, mask: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
        """Per-example CBOW full-softmax loss -log softmax(U h)[c]."""
        return softmax_loss(self.context_mean(contexts, mask), self.out.weight, centre)

    def context_mean(self, contexts: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """h: the mean input vector of each row's real context words, (B, D)."""
        m = mask.to(self.inp.weight.dtype).unsqueeze(-1)
        return (self.inp(contexts) * m).sum(1) / m.sum(1).clamp_min(1.0)

    # -- sparse SGD steps with the closed-form gradients (what training runs) ---------------------------------
    @torch.no_grad()
    def skipgram_step(self, centre: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor | None,
                      lr: float) -> torch.Tensor:
        """One SGD step on a batch of pairs; negatives (B, k), or None for the full softmax. Returns the losses."""
        if negatives is not None:
            return self.skipgram_ns_step(centre, torch.cat([context.unsqueeze(1), negatives], 1), lr)
        v = F.embedding(centre, self.inp.weight)
        loss, grad_v, bound_v = self._output_step(v, context, None, lr)
        _step_rows(self.inp.weight, centre, grad_v, bound_v, lr)
        return loss

    @torch.no_grad()
    def skipgram_ns_step(self, centre: torch.Tensor, targets: torch.Tensor, lr: float) -> torch.Tensor:
        """skipgram_step with negative sampling, the context word and its noise words given as one (B, 1 + k)."""
        v = F.embedding(centre, self.inp.weight)
        loss, grad_v, bound_v = self._ns_output_step(v, targets, lr)
        _step_rows(self.inp.weight, centre, grad_v, bound_v, lr)
        return loss

    @torch.no_grad()
    def cbow_step(self, contexts: torch.Tensor, mask: torch.Tensor, centre: torch.Tensor,
                  negatives: torch.Tensor | None, lr: float) -> torch.Tensor:
        """One SGD step on a batch of CBOW examples (laid out as for cbow_loss); returns the losses.

        Every one of the 2W places takes part, an empty one with weight 0: fixed shapes, so that on a GPU a step
        never waits to learn how many context words a batch has."""
        weight = self.inp.weight
        real = mask.to(weight.dtype)
        scale = real.sum(1, keepdim=True).clamp_min_(1.0).reciprocal_()  # 1/m
        h = F.embedding_bag(contexts, weight, mode="sum", per_sample_weights=real).mul_(scale)
        loss, grad_h, bound_h = self._output_step(h, centre, negatives, lr)
        # each context word's vector gets 1/m of h's gradient; a word that fills n of the m places gets (n/m)^2 of
        # h's curvature, n/m^2 through each of its n places
        grads = grad_h.mul_(scale).unsqueeze(1) * real.unsqueeze(2)
        ids = contexts.masked_fill(~mask, -1)
        places = (ids.unsqueeze(2) == ids.unsqueeze(1)).sum(2).to(weight.dtype).mul_(real)
        bound = places.mul_(bound_h.unsqueeze(1) * scale.square())
        _step_rows(weight, contexts.reshape(-1), grads.view(-1, weight.shape[1]), bound.view(-1), lr)
        return loss

    def _output_step(self, v: torch.Tensor, target: torch.Tensor, negatives: torch.Tensor | None,
                     lr: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Update the output vectors for hidden vectors v (B, D); return (losses, dL/dv, curvature bound of v)."""
        if negatives is None:
            return self._softmax_output_step(v, target, lr)
        return self._ns_output_step(v, torch.cat([target.unsqueeze(1), negatives], 1), lr)

    def _softmax_output_step(self, v: torch.Tensor, target: torch.Tensor,
                             lr: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """_output_step with the full softmax: dense (B, V) scores, dense update of U."""
        out = self.out.weight
        scores = v @ out.T
        loss = torch.logsumexp(scores, 1) - scores.gather(1, target.unsqueeze(1)).squeeze(1)
        g = torch.softmax(scores, 1)  # dL/dscores = p - e_target
        sq_u = (out * out).sum(1)
        mean_u = g @ out  # Σ_w p_w u_w
        # d2L/dv2 = U^T (diag p - p p^T) U, whose trace is the variance of u under p, Σ p_w |u_w|^2 - |mean_u|^2;
        # where p sits on a wrong word that variance is ~0 while the gradient mean_u - u_o is long: the curvature
        # on the way to u_o reaches |mean_u - u_o|^2 / 4 (two words), which is added as for the true output word
        grad_v = mean_u - out[target]
        bound_v = g @ sq_u - (mean_u * mean_u).sum(1) + 0.25 * (grad_v * grad_v).sum(1)
        # d2L/du_w2 = Σ_i p_iw (1 - p_iw) v_i v_i^T: for the true word at most 1/4 (as for negative sampling);
        # for another word p (1 - p) <= p bounds it all the way down from p, where its gradient p v pushes it
        sq_v = (v * v).sum(1)
        bound_u = (g.T @ sq_v).index_add_(0, target, sq_v, alpha=0.25)
        g[torch.arange(len(target), device=g.device), target] -= 1.0
        out.addcmul_(g.T @ v, _rates(bound_u, lr).unsqueeze(1))
        return loss, grad_v, bound_v

    def _ns_output_step(self, v: torch.Tensor, ids: torch.Tensor,
                        lr: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """_output_step with negative sampling; ids (B, 1 + k) hold the true word first, then the noise words."""
        out = self.out.weight
        u = F.embedding(ids, out)  # (B, 1 + k, D)
        scores = (u * v.unsqueeze(1)).sum(2)
        g = torch.sigmoid(scores)  # dL/dscore = σ(s) - label; d2L/dscore2 = σ(s) (1 - σ(s)) <= 1/4
        g[:, 0] -= 1.0
        scores[:, 0].neg_()
        loss = F.softplus(scores).sum(1)  # -log σ(s_o) - Σ log σ(-s_n)
        grad_v = (g.unsqueeze(2) * u).sum(1)  # on a CPU, 3-4x faster than bmm at D = 50 or 64 (2x slower at 100)
        bound_v = torch.linalg.vector_norm(u, dim=(1, 2)).square_().mul_(0.25)  # Σ_j |u_j|^2 / 4
        bound_u = torch.linalg.vector_norm(v, dim=1).square_().mul_(0.25)  # |v|^2 / 4 for each of its 1 + k rows
        flat = ids.view(-1)
        g.mul_(_row_rates(out.shape[0], flat, bound_u.unsqueeze(1).expand_as(g).reshape(-1), lr).view_as(g))
        _add_rows(out, flat, (g.unsqueeze(2) * v.unsqueeze(1)).view(-1, v.shape[1]))
        return loss, grad_v, bound_v


def _rates(bound: torch.Tensor, lr: float) -> torch.Tensor:
    """-min(lr, 1 / bound), elementwise."""
    return bound.clamp_min(1.0 / lr).reciprocal_().neg_()


def _row_rates(size: int, rows: torch.Tensor, bound: torch.Tensor, lr: float) -> torch.Tensor:
    """-min(lr, 1 / L_r) for each entry of rows, where L_r sums `bound` over the entries of row r."""
    total = torch.zeros(size, dtype=bound.dtype, device=bound.device).scatter_add_(0, rows, bound)
    return _rates(total.gather(0, rows), lr)


def _step_rows(weight: torch.Tensor, rows: torch.Tensor, grads: torch.Tensor, bound: torch.Tensor,
               lr: float) -> None:
    """weight[r] -= min(lr, 1 / L_r) Σ_{rows[i] = r} grads[i], with L_r = Σ_{rows[i] = r} bound[i]."""
    _add_rows(weight, rows, grads.mul_(_row_rates(weight.shape[0], rows, bound, lr).unsqueeze(1)))


def _add_rows(weight: torch.Tensor, rows: torch.Tensor, values: torch.Tensor) -> None:
    """weight[rows[i]] += values[i], repeated rows summed (scatter_add_: on CPU twice as fast as index_add_)."""
    weight.scatter_add_(0, rows.unsqueeze(1).expand(-1, weight.shape[1]), values)


def ns_loss(v: torch.Tensor, u_pos: torch.Tensor, u_neg: torch.Tensor) -> torch.Tensor:
    """-log σ(u_o · v) - Σ_i log σ(-u_{n_i} · v) per row; v, u_pos: (B, D), u_neg: (B, k, D)."""
    pos = F.logsigmoid((v * u_pos).sum(-1))
    neg = F.logsigmoid(-(u_neg @ v.unsqueeze(-1)).squeeze(-1)).sum(-1)
    return -(pos + neg)


def softmax_loss(v: torch.Tensor, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """-log softmax(U v)[target] per row, written out: -u_t · v + log Σ_w exp(u_w · v)."""
    scores = v @ out.T
    return torch.logsumexp(scores, 1) - scores.gather(1, target.unsqueeze(1)).squeeze(1)
