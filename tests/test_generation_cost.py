"""Training vs generation cost: the key/value cache reproduces the full forward, and the measurement's contract."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest
import torch

from explorer.analysis.generation_cost import GenCostRow, cache_equivalence, measure_train_vs_generate
from explorer.models.transformer import GPT, GPTConfig

V = 11


def _model(**kw) -> GPT:
    torch.manual_seed(0)
    cfg = dict(vocab_size=V, context=16, layers=2, heads=2, width=16)
    cfg.update(kw)
    model = GPT(GPTConfig(**cfg))
    with torch.no_grad():  # larger attention weights than GPT-2's init, so that attention is far from uniform
        for block in model.blocks:
            block.attn.qkv.weight.normal_(0.0, 0.3)
    return model


def _state(model: GPT) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_one_training_forward_equals_incremental_forwards_with_the_cache(positional):
    model = _model(positional=positional, context=24).train()
    diff = cache_equivalence(model, 24, seed=3)
    assert 0.0 <= diff <= 1e-5
    assert model.training and all(m.training for m in model.modules())  # its modes are given back
    # the check can fail: a cache that forgets the oldest key changes the logits far beyond rounding
    original = model.blocks[0].attn.forward_cached

    def forgetful(x, past, start):
        out, (k, v) = original(x, past, start)
        if k.shape[2] > 2:
            k, v = k[:, :, 1:], v[:, :, 1:]
        return out, (k, v)

    model.blocks[0].attn.forward_cached = forgetful
    assert cache_equivalence(model, 24, seed=3) > 1e-3


def test_a_non_causal_model_cannot_be_checked():
    with pytest.raises(ValueError, match="causal"):
        cache_equivalence(_model(causal=False), 8)


def test_lengths_beyond_the_context_are_refused_with_a_message():
    model = _model()
    with pytest.raises(ValueError, match="at most 16 tokens"):
        measure_train_vs_generate(model, [8, 32], batch=2, repeats=1)
    with pytest.raises(ValueError):
        measure_train_vs_generate(model, [], batch=2, repeats=1)


def test_the_measurement_leaves_the_model_alone_and_reports_progress():
    model = _model(positional="learned").train()
    before = _state(model)
    calls = []
    rows = measure_train_vs_generate(model, [16, 4, 8], batch=2, repeats=2, progress=lambda d, t: calls.append((d, t)))
    assert [r.length for r in rows] == [4, 8, 16] and all(isinstance(r, GenCostRow) for r in rows)
    for r in rows:
        assert r.train_step_s > 0 and r.generate_cached_s > 0 and r.generate_uncached_s > 0
        assert 0.0 <= r.max_diff <= 1e-5
        assert r.cached_tokens_per_s > 0 and r.uncached_tokens_per_s > 0
    assert calls == [(i, 27) for i in range(1, 28)]  # 3 lengths x 3 runs x (warm-up + 2 repeats)
    after = model.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)  # bit for bit
    assert all(p.grad is None for p in model.parameters())
    assert model.training


def test_a_cancelled_measurement_returns_the_rows_finished_so_far():
    done = []
    rows = measure_train_vs_generate(_model(), [4, 8, 16], batch=2, repeats=1, progress=lambda d, t: done.append(d),
                                     cancelled=lambda: len(done) >= 7)
    assert [r.length for r in rows] == [4]  # 6 runs per length: the first length finished, the second not
    assert done[-1] == 7
    assert measure_train_vs_generate(_model(), [4], cancelled=lambda: True) == []


def test_importing_the_module_loads_neither_torch_nor_qt():
    code = ("import sys, explorer.analysis.generation_cost\n"
            "print(sorted(m for m in ('torch', 'PySide6', 'pyqtgraph') if m in sys.modules))")
    root = pathlib.Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
