"""The tiny GPT: attention as written equals PyTorch's, masks, permutation symmetry, KV cache, generation, PE."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from explorer.models.transformer import (
    GPT,
    GPTConfig,
    MultiHeadAttention,
    generate,
    next_token_distribution,
    position_similarity,
    positional_encoding_matrix,
)

V = 13


def _model(**kw) -> GPT:
    torch.manual_seed(0)
    cfg = dict(vocab_size=V, context=24, layers=2, heads=4, width=32)
    cfg.update(kw)
    model = GPT(GPTConfig(**cfg)).eval()
    with torch.no_grad():  # larger weights than GPT-2's init, so that attention is far from uniform
        for block in model.blocks:
            block.attn.qkv.weight.normal_(0.0, 0.3)
    return model


def _ids(T: int = 20, B: int = 3, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("causal", [True, False])
def test_attention_as_written_equals_scaled_dot_product_attention(causal):
    torch.manual_seed(0)
    mha = MultiHeadAttention(GPTConfig(vocab_size=1, context=16, heads=4, width=32, causal=causal)).eval()
    x = torch.randn(2, 11, 32)
    out, (scores, weights) = mha(x, record=True)
    q, k, v = mha._split(x)
    mask = torch.ones(11, 11, dtype=torch.bool).tril() if causal else torch.ones(11, 11, dtype=torch.bool)
    ref_scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    ref_weights = torch.softmax(ref_scores + torch.zeros(11, 11).masked_fill(~mask, float("-inf")), dim=-1)
    torch.testing.assert_close(weights, ref_weights, atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(scores[..., mask], ref_scores[..., mask], atol=1e-6, rtol=1e-5)
    ref_out = mha._merge(F.scaled_dot_product_attention(q, k, v, is_causal=causal))
    torch.testing.assert_close(out, ref_out, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 11))  # every row is a distribution
    assert torch.all(weights[..., ~mask] == 0)  # masked keys get exactly nothing
    assert torch.all(torch.isneginf(scores[..., ~mask]))  # and their recorded scores say so
    assert bool(causal) == bool((~mask).any())


@pytest.mark.parametrize("kind,causal", [("full", True), ("full", False), ("local", True), ("local", False),
                                         ("low-rank", False)])
def test_the_fast_path_equals_the_recorded_one(kind, causal):
    model = _model(attention=kind, causal=causal, window=5, rank=6)
    x = _ids()
    fast = model(x)
    slow, rec = model(x, record=True)
    torch.testing.assert_close(fast, slow, atol=1e-5, rtol=1e-5)
    assert len(rec) == 2
    keys = 6 if kind == "low-rank" else 20
    assert rec[0][1].shape == (3, 4, 20, keys)
    if kind == "local":  # a query sees only keys less than `window` positions away
        far = (torch.arange(20)[:, None] - torch.arange(20)[None, :]).abs() >= 5
        assert torch.all(rec[1][1][..., far] == 0)


def test_without_positions_or_mask_the_model_is_permutation_equivariant():
    model = _model(positional="none", causal=False)
    x = _ids()
    perm = torch.randperm(20, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(model(x[:, perm]), model(x)[:, perm], atol=1e-5, rtol=1e-5)


def test_with_the_causal_mask_one_layer_cannot_see_the_order_before_a_position_but_two_can():
    x = _ids()
    perm = torch.cat([torch.randperm(19, generator=torch.Generator().manual_seed(3)), torch.tensor([19])])
    assert not torch.equal(perm, torch.arange(20))
    one = _model(positional="none", causal=True, layers=1)
    out, shuffled = one(x), one(x[:, perm])
    # one layer: the last position attends to the set of earlier tokens, whatever their order ...
    torch.testing.assert_close(shuffled[:, -1], out[:, -1], atol=1e-5, rtol=1e-5)
    # ... while earlier positions see other prefixes, so the outputs are no permutation of the old ones
    assert not torch.allclose(shuffled[:, :-1], out[:, perm[:-1]], atol=1e-3)
    # two layers: the last position reads states that summarise prefixes, so the mask alone reveals order
    two = _model(positional="none", causal=True, layers=2)
    assert not torch.allclose(two(x[:, perm])[:, -1], two(x)[:, -1], atol=1e-3)


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_positional_encoding_breaks_the_symmetry(positional):
    model = _model(positional=positional, causal=True, layers=1)  # even one layer now sees the order
    x = _ids()
    perm = torch.cat([torch.randperm(19, generator=torch.Generator().manual_seed(3)), torch.tensor([19])])
    assert not torch.allclose(model(x[:, perm])[:, -1], model(x)[:, -1], atol=1e-3)


@pytest.mark.parametrize("kind,positional", [("full", "sinusoidal"), ("full", "learned"), ("local", "none")])
def test_incremental_decoding_with_the_kv_cache_equals_one_full_forward(kind, positional):
    model = _model(attention=kind, positional=positional, window=4)
    x = _ids(T=24)
    full = model(x)
    logits, cache = model.forward_incremental(x[:, :1])
    steps = [logits]
    for t in range(1, 24):
        logits, cache = model.forward_incremental(x[:, t:t + 1], cache)
        steps.append(logits)
    assert cache.length == 24
    torch.testing.assert_close(torch.cat(steps, dim=1), full, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError):
        _model(causal=False).forward_incremental(x)


def test_greedy_generation_is_deterministic_and_matches_the_argmax():
    model = _model()
    prompt = _ids(T=5, B=1)[0]
    a = generate(model, prompt, 30, top_k=1, generator=torch.Generator().manual_seed(1))
    b = generate(model, prompt, 30, top_k=1, generator=torch.Generator().manual_seed(2), use_cache=False)
    assert torch.equal(a, b) and a.shape == (35,) and torch.equal(a[:5], prompt)  # 30 > room left: the window slides
    ids = prompt
    for _ in range(30):
        ids = torch.cat([ids, model(ids[None, -24:])[0, -1].argmax().view(1)])
    assert torch.equal(a, ids)
    sampled = [generate(model, prompt, 10, generator=torch.Generator().manual_seed(s)) for s in (5, 5, 6)]
    assert torch.equal(sampled[0], sampled[1])  # the same generator state gives the same sample


def test_next_token_distribution_is_a_distribution_and_top_k_keeps_k():
    model = _model()
    probs = next_token_distribution(model, _ids(B=1)[0])
    assert probs.shape == (V,) and float(probs.sum()) == pytest.approx(1.0, abs=1e-5) and torch.all(probs > 0)
    top = next_token_distribution(model, _ids(B=1)[0], temperature=0.5, top_k=3)
    assert int((top > 0).sum()) == 3 and float(top.sum()) == pytest.approx(1.0, abs=1e-5)
    assert set(top.nonzero().flatten().tolist()) == set(probs.topk(3).indices.tolist())


def test_hidden_states_are_every_layer_output_and_lead_to_the_logits():
    model = _model()
    x = _ids()
    states = model.hidden_states(x)
    assert len(states) == 3 and all(s.shape == (3, 20, 32) for s in states)
    torch.testing.assert_close(model.head(model.ln_f(states[-1])), model(x))
    assert isinstance(model.blocks, torch.nn.ModuleList) and model.token_embedding.weight.shape == (V, 32)


def test_sinusoidal_encoding_and_position_similarity():
    pe = positional_encoding_matrix("sinusoidal", 50, 16)
    assert pe.shape == (50, 16) and pe.dtype == np.float32
    np.testing.assert_allclose(pe[:, 0], np.sin(np.arange(50)), atol=1e-5)  # i = 0: sin(p), cos(p)
    np.testing.assert_allclose(pe[:, 1], np.cos(np.arange(50)), atol=1e-5)
    np.testing.assert_allclose(pe[7, 14:], [np.sin(7 / 10000 ** (14 / 16)), np.cos(7 / 10000 ** (14 / 16))], atol=1e-6)
    sim = position_similarity(pe)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-6)
    np.testing.assert_allclose(sim, sim.T, atol=1e-6)
    assert sim[20, 21] > sim[20, 30]  # near positions look alike
    assert not position_similarity(positional_encoding_matrix("none", 5, 8)).any()
    model = _model(positional="learned")
    np.testing.assert_array_equal(positional_encoding_matrix("learned", 24, 32, model),
                                  model.position.table.detach().numpy())
    with pytest.raises(ValueError):
        positional_encoding_matrix("learned", 24, 32)


def test_the_config_rejects_shapes_that_cannot_work():
    with pytest.raises(ValueError, match="multiple"):
        GPTConfig(vocab_size=5, width=30, heads=4)
    with pytest.raises(ValueError, match="causal"):
        GPTConfig(vocab_size=5, attention="low-rank")
    with pytest.raises(ValueError, match="context"):
        _model(positional="learned")(_ids(T=25))
