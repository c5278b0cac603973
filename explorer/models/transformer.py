"""A small decoder-only transformer (GPT) written from the equations of Vaswani et al. (2017).

Each block is pre-LN, as in GPT-2 (Xiong et al. 2020 show it trains without a learning-rate warm-up):

    x = x + MultiHeadAttention(LayerNorm(x))
    x = x + FeedForward(LayerNorm(x))          FeedForward(h) = W_2 GELU(W_1 h)

and a last LayerNorm comes before the output head. One attention head computes

    scores  = Q K^T / sqrt(d_k)                (masked entries set to -inf: future keys when causal,
    weights = softmax(scores)                   keys outside the window for local attention)
    output  = weights V

The heads' outputs are concatenated and mixed by W_O. With `record=True` the forward pass returns every layer's
(scores, weights), (B, heads, T, T), with -inf in the masked entries of the scores and exactly 0 in those of the
weights. Two cheaper variants serve the complexity comparison: local attention (each query sees the `window`
nearest keys, computed block by block in O(T * window)), and low-rank attention (Linformer, Wang et al. 2020: the
keys and values are projected along the sequence axis to `rank` rows, O(T * rank); its recorded tensors are
(B, heads, T, rank), over the projected rows, and it cannot be causal).
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

POSITIONAL_KINDS = ("sinusoidal", "learned", "none")
ATTENTION_KINDS = ("full", "local", "low-rank")


@dataclasses.dataclass
class GPTConfig:
    """Shape of a GPT: vocabulary, longest context, depth, heads, width and the attention variant."""

    vocab_size: int
    context: int = 64
    layers: int = 2
    heads: int = 4
    width: int = 64
    ff_mult: int = 4
    dropout: float = 0.0
    positional: str = "sinusoidal"
    causal: bool = True
    attention: str = "full"
    window: int = 16  # local attention: a query at t sees keys j with 0 <= t - j < window (|t - j| if not causal)
    rank: int = 16  # low-rank attention: keys and values are projected to this many rows

    def __post_init__(self) -> None:
        if self.positional not in POSITIONAL_KINDS:
            raise ValueError(f"positional must be one of {POSITIONAL_KINDS}, not {self.positional!r}")
        if self.attention not in ATTENTION_KINDS:
            raise ValueError(f"attention must be one of {ATTENTION_KINDS}, not {self.attention!r}")
        if self.width % self.heads:
            raise ValueError(f"The width ({self.width}) must be a multiple of the number of heads ({self.heads}).")
        if self.positional == "sinusoidal" and self.width % 2:
            raise ValueError("Sinusoidal positional encoding needs an even width.")
        if self.attention == "low-rank" and self.causal:
            raise ValueError("Low-rank (Linformer) attention mixes all positions in its projection, so it cannot "
                             "be causal: set causal=False.")
        if min(self.vocab_size, self.context, self.layers, self.heads, self.width, self.window, self.rank) < 1:
            raise ValueError("Every size of a GPT must be at least 1.")


def sinusoidal_encoding(positions: int, width: int, start: int = 0) -> torch.Tensor:
    """(positions, width): PE[p, 2i] = sin(p / 10000^(2i/width)), PE[p, 2i+1] = cos(p / 10000^(2i/width))."""
    pos = torch.arange(start, start + positions, dtype=torch.float32)[:, None]
    freq = torch.pow(10000.0, -torch.arange(0, width, 2, dtype=torch.float32) / width)
    pe = torch.zeros(positions, width)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq)
    return pe


class PositionalEncoding(nn.Module):
    """What is added to the token embeddings at each position: a fixed sinusoid, a learned vector, or nothing."""

    def __init__(self, kind: str, context: int, width: int) -> None:
        super().__init__()
        self.kind, self.context, self.width = kind, context, width
        if kind == "learned":
            self.table = nn.Parameter(torch.randn(context, width))
        elif kind == "sinusoidal":
            self.register_buffer("table", sinusoidal_encoding(context, width), persistent=False)
        else:
            self.table = None

    def forward(self, start: int, length: int) -> torch.Tensor | None:
        """(length, width) encoding of positions start .. start+length-1 (None for no encoding)."""
        end = start + length
        if self.kind == "none":
            return None
        if end <= self.context:
            return self.table[start:end]
        if self.kind == "learned":
            raise ValueError(f"Learned positions exist only up to the context of {self.context}; "
                             f"position {end - 1} was asked for.")
        return sinusoidal_encoding(length, self.width, start).to(self.table.device)  # beyond the table: extrapolate


class MultiHeadAttention(nn.Module):
    """softmax(Q K^T / sqrt(d_k)) V per head, heads concatenated and mixed by W_O."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.heads, self.d_k = cfg.heads, cfg.width // cfg.heads
        self.causal, self.kind, self.window = cfg.causal, cfg.attention, cfg.window
        self.qkv = nn.Linear(cfg.width, 3 * cfg.width)
        self.out = nn.Linear(cfg.width, cfg.width)
        self.dropout = cfg.dropout
        if self.kind == "low-rank":
            self.proj_k = nn.Parameter(torch.randn(cfg.rank, cfg.context) / math.sqrt(cfg.rank))
            self.proj_v = nn.Parameter(torch.randn(cfg.rank, cfg.context) / math.sqrt(cfg.rank))

    def _split(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, T, width) -> q, k, v each (B, heads, T, d_k)."""
        B, T, _ = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.heads, self.d_k).permute(2, 0, 3, 1, 4)
        return q, k, v

    def _merge(self, y: torch.Tensor) -> torch.Tensor:
        """(B, heads, T, d_k) -> (B, T, width) mixed by W_O."""
        B, _, T, _ = y.shape
        return F.dropout(self.out(y.transpose(1, 2).reshape(B, T, -1)), self.dropout, self.training)

    def allowed(self, q_pos: torch.Tensor, k_pos: torch.Tensor) -> torch.Tensor:
        """(Tq, Tk) bool: which key positions each query position may attend to (causal mask, local window)."""
        diff = q_pos[:, None] - k_pos[None, :]
        ok = torch.ones_like(diff, dtype=torch.bool)
        if self.causal:
            ok &= diff >= 0
        if self.kind == "local":
            ok &= diff.abs() < self.window
        return ok

    def forward(self, x: torch.Tensor, record: bool = False, fused: bool = True):
        """(B, T, width) -> (B, T, width), and (scores, weights) when recording.

        `fused` lets full attention use F.scaled_dot_product_attention and local attention its block-wise
        O(T * window) form when nothing is recorded; the recorded path computes the T x T matrices as written.
        """
        q, k, v = self._split(x)
        if self.kind == "low-rank":
            T = x.shape[1]
            k, v = self.proj_k[:, :T] @ k, self.proj_v[:, :T] @ v  # (B, heads, rank, d_k)
            y, scores, weights = self._attend(q, k, v, None)
        elif record or not fused:
            pos = torch.arange(x.shape[1], device=x.device)
            y, scores, weights = self._attend(q, k, v, self.allowed(pos, pos))
        elif self.kind == "local":
            y, scores, weights = self._local(q, k, v), None, None
        else:
            drop = self.dropout if self.training else 0.0
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=drop, is_causal=self.causal)
            scores = weights = None
        out = self._merge(y)
        return (out, (scores, weights)) if record else out

    def _attend(self, q, k, v, allowed):
        """Attention as written; returns the output and the pre-softmax scores and weights."""
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.d_k)
        if allowed is not None:
            scores = scores.masked_fill(~allowed, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return F.dropout(weights, self.dropout, self.training) @ v, scores, weights

    def _local(self, q, k, v):
        """Local attention block by block: queries of a block of `window` positions see that block and its
        neighbours (the previous one; the next one too when not causal), so the cost is O(T * window)."""
        B, H, T, D = q.shape
        w = self.window
        pad = (-T) % w
        q, k, v = (F.pad(t, (0, 0, 0, pad)) for t in (q, k, v))
        n = (T + pad) // w
        qb, kb, vb = (t.view(B, H, n, w, D) for t in (q, k, v))
        shifts = (1, 0) if self.causal else (1, 0, -1)  # previous block, this block (, next block)

        def around(t):
            return torch.cat([torch.roll(t, s, dims=2) for s in shifts], dim=3)  # (B, H, n, len(shifts) * w, D)

        kk, vv = around(kb), around(vb)
        q_pos = torch.arange(n * w, device=q.device).view(n, w)
        k_pos = torch.cat([(q_pos - s * w) for s in shifts], dim=1)  # (n, len(shifts) * w), before wrapping
        diff = q_pos[:, :, None] - k_pos[:, None, :]
        ok = (k_pos[:, None, :] >= 0) & (k_pos[:, None, :] < T) & (diff.abs() < w)
        if self.causal:
            ok &= diff >= 0
        scores = (qb @ kk.transpose(-2, -1) / math.sqrt(D)).masked_fill(~ok, float("-inf"))
        weights = F.dropout(torch.softmax(scores, dim=-1), self.dropout, self.training)
        return (weights @ vv).reshape(B, H, n * w, D)[:, :, :T]

    def forward_cached(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None, start: int):
        """Attention of new positions start .. start+T-1 over the cached keys/values and their own; -> (out, (k, v))."""
        q, k, v = self._split(x)
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        q_pos = torch.arange(start, start + x.shape[1], device=x.device)
        y, _, _ = self._attend(q, k, v, self.allowed(q_pos, torch.arange(k.shape[2], device=x.device)))
        return self._merge(y), (k, v)


class FeedForward(nn.Module):
    """Position-wise W_2 GELU(W_1 h), hidden width ff_mult * width."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.up = nn.Linear(cfg.width, cfg.ff_mult * cfg.width)
        self.down = nn.Linear(cfg.ff_mult * cfg.width, cfg.width)
        self.dropout = cfg.dropout

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.dropout(self.down(F.gelu(self.up(h))), self.dropout, self.training)


class Block(nn.Module):
    """Pre-LN transformer block: x + Attention(LN(x)), then x + FeedForward(LN(x))."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(cfg.width), MultiHeadAttention(cfg)
        self.ln2, self.ff = nn.LayerNorm(cfg.width), FeedForward(cfg)

    def forward(self, x: torch.Tensor, record: bool = False):
        if record:
            a, rec = self.attn(self.ln1(x), record=True)
            x = x + a
            return x + self.ff(self.ln2(x)), rec
        x = x + self.attn(self.ln1(x))
        return x + self.ff(self.ln2(x))


@dataclasses.dataclass
class KVCache:
    """Keys and values of every layer for the positions seen so far (incremental generation)."""

    layers: list = dataclasses.field(default_factory=list)  # per layer (k, v), each (B, heads, length, d_k)
    length: int = 0


class GPT(nn.Module):
    """Token embedding + positional encoding -> blocks -> LayerNorm -> linear head over the vocabulary."""

    def __init__(self, cfg: GPTConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.width)  # N(0, 1), the scale of the sinusoids
        self.position = PositionalEncoding(cfg.positional, cfg.context, cfg.width)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.ln_f = nn.LayerNorm(cfg.width)
        self.head = nn.Linear(cfg.width, cfg.vocab_size)
        for name, p in self.named_parameters():
            if p.dim() == 2 and name.endswith("weight") and "embedding" not in name:
                nn.init.normal_(p, 0.0, 0.02)
            elif name.endswith("bias"):
                nn.init.zeros_(p)

    def embed(self, idx: torch.Tensor, start: int = 0) -> torch.Tensor:
        """(B, T) ids -> (B, T, width): token embeddings plus the encoding of positions start .. start+T-1."""
        x = self.token_embedding(idx)
        pe = self.position(start, idx.shape[1])
        return self.drop(x if pe is None else x + pe)

    def forward(self, idx: torch.Tensor, record: bool = False):
        """(B, T) ids -> logits (B, T, vocab); with record=True also [(scores, weights)] per layer."""
        if self.cfg.attention == "low-rank" and idx.shape[1] > self.cfg.context:
            raise ValueError(f"Low-rank attention projects at most {self.cfg.context} positions.")
        x = self.embed(idx)
        recorded = []
        for block in self.blocks:
            if record:
                x, rec = block(x, record=True)
                recorded.append(rec)
            else:
                x = block(x)
        logits = self.head(self.ln_f(x))
        return (logits, recorded) if record else logits

    def hidden_states(self, idx: torch.Tensor) -> list[torch.Tensor]:
        """[embedding output, block 1 output, ..., block L output], each (B, T, width) (for linear probes)."""
        states = [self.embed(idx)]
        for block in self.blocks:
            states.append(block(states[-1]))
        return states

    def forward_incremental(self, idx_new: torch.Tensor, cache: KVCache | None = None) -> tuple[torch.Tensor, KVCache]:
        """Logits (B, T_new, vocab) of new tokens that follow the cached ones, and the extended cache."""
        if not self.cfg.causal or self.cfg.attention == "low-rank":
            raise ValueError("Incremental decoding needs causal attention (full or local).")
        cache = cache or KVCache()
        x = self.embed(idx_new, cache.length)
        layers = []
        for i, block in enumerate(self.blocks):
            past = cache.layers[i] if cache.layers else None
            a, kv = block.attn.forward_cached(block.ln1(x), past, cache.length)
            x = x + a
            x = x + block.ff(block.ln2(x))
            layers.append(kv)
        return self.head(self.ln_f(x)), KVCache(layers, cache.length + idx_new.shape[1])

    def position_matrix(self) -> np.ndarray:
        """(context, width) float32: what is added at each position (zeros for no encoding)."""
        pe = self.position(0, self.cfg.context)
        if pe is None:
            return np.zeros((self.cfg.context, self.cfg.width), dtype=np.float32)
        return pe.detach().cpu().numpy().astype(np.float32, copy=True)


def _filter_logits(logits: torch.Tensor, temperature: float, top_k: int | None) -> torch.Tensor:
    """Logits divided by the temperature, with all but the top_k largest set to -inf."""
    logits = logits / max(float(temperature), 1e-8)
    if top_k is not None and 0 < top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[..., -1:]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return logits


@torch.no_grad()
def next_token_distribution(model: GPT, ids: torch.Tensor, temperature: float = 1.0,
                            top_k: int | None = None) -> torch.Tensor:
    """Probabilities (vocab,) (or (B, vocab)) of the token after `ids` (1-D or (B, T)), seeing the last context."""
    batch = ids.dim() == 2
    ids = ids if batch else ids[None]
    logits = model(ids[:, -model.cfg.context:])[:, -1]
    probs = torch.softmax(_filter_logits(logits, temperature, top_k), dim=-1)
    return probs if batch else probs[0]


@torch.no_grad()
def generate(model: GPT, prompt_ids: torch.Tensor, n: int, temperature: float = 1.0, top_k: int | None = None,
             generator: torch.Generator | None = None, use_cache: bool = True) -> torch.Tensor:
    """The prompt (1-D or (B, T)) followed by n sampled tokens; top_k=1 is greedy decoding.

    Only the last `context` tokens are seen. With the cache each new token costs one single-position forward
    until the context is full; from then on the window slides and is recomputed (positions are absolute).
    """
    batch = prompt_ids.dim() == 2
    ids = prompt_ids if batch else prompt_ids[None]
    if ids.shape[1] < 1:
        raise ValueError("Generation needs a prompt of at least one token.")
    ctx = model.cfg.context
    use_cache = use_cache and model.cfg.causal and model.cfg.attention != "low-rank"
    cache = None
    logits = None
    for _ in range(n):
        if use_cache and cache is not None and cache.length < ctx:
            logits, cache = model.forward_incremental(ids[:, -1:], cache)
        elif use_cache and ids.shape[1] <= ctx:
            logits, cache = model.forward_incremental(ids, None)
        else:
            logits = model(ids[:, -ctx:])
        probs = torch.softmax(_filter_logits(logits[:, -1], temperature, top_k), dim=-1)
        nxt = torch.multinomial(probs, 1, generator=generator)
        ids = torch.cat([ids, nxt], dim=1)
    return ids if batch else ids[0]


def positional_encoding_matrix(kind: str, context: int, width: int, model: GPT | None = None) -> np.ndarray:
    """(context, width) float32 encoding of each position: sinusoidal, a model's learned table, or zeros."""
    if kind == "sinusoidal":
        return sinusoidal_encoding(context, width).numpy().copy()
    if kind == "learned":
        if model is None:
            raise ValueError("A learned positional encoding exists only in a model: pass the model.")
        return model.position_matrix()[:context]
    if kind == "none":
        return np.zeros((context, width), dtype=np.float32)
    raise ValueError(f"kind must be one of {POSITIONAL_KINDS}")


def position_similarity(matrix) -> np.ndarray:
    """(P, P) cosine similarity between the encodings of every two positions (0 where an encoding is all zero)."""
    m = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(m, axis=1)
    unit = m / np.where(norms > 0, norms, 1.0)[:, None]
    return (unit @ unit.T).astype(np.float32)
