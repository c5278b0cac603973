"""Transfer learning with the tiny GPT: layer groups, copying and freezing lower layers, the classifier, probes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.models.transfer import (
    GPTClassifier,
    copy_lower,
    freeze_lower,
    group_parameters,
    layer_groups,
    linear_probe,
    relative_change,
    state_copy,
    trainable_parameters,
    warm_start,
)
from explorer.models.transformer import GPT, GPTConfig

CFG = dict(vocab_size=11, context=8, layers=2, heads=2, width=16)


def _gpt(seed: int, **kw) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**CFG, **kw}))


def _equal(a: dict, b: dict, names) -> bool:
    return all(torch.equal(a[n], b[n]) for n in names)


def _names(model, groups) -> list[str]:
    params = group_parameters(model)
    return [name for g in groups for name, _ in params[g]]


def test_every_parameter_is_in_exactly_one_group_bottom_up():
    for model in (_gpt(0, positional="learned"), GPTClassifier(_gpt(0), classes=3)):
        groups = group_parameters(model)
        assert list(groups) == layer_groups(model) == ["embedding", "block 1", "block 2", "output"]
        listed = [name for params in groups.values() for name, _ in params]
        assert sorted(listed) == sorted(n for n, _ in model.named_parameters())
        assert all(groups[g] for g in groups)
    learned = group_parameters(_gpt(0, positional="learned"))["embedding"]
    assert [n for n, _ in learned] == ["token_embedding.weight", "position.table"]
    clf = group_parameters(GPTClassifier(_gpt(0), classes=3))
    assert [n for n, _ in clf["output"]] == ["gpt.ln_f.weight", "gpt.ln_f.bias", "head.weight", "head.bias"]
    assert all(n.startswith("gpt.blocks.1.") for n, _ in clf["block 2"])


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_copied_layers_hold_the_pretrained_weights_and_the_rest_stays_fresh(n):
    source = _gpt(1)
    fresh = state_copy(GPTClassifier(_gpt(7), classes=2))
    target = GPTClassifier(_gpt(7), classes=2)
    copy_lower(target, source, n)
    groups = layer_groups(target)
    now = state_copy(target)
    src = {f"gpt.{k}": v for k, v in state_copy(source).items()}
    assert _equal(now, src, _names(target, groups[:n]))
    assert _equal(now, fresh, _names(target, groups[n:]))
    assert not any(torch.equal(now[k], src[k]) for k in _names(target, groups[n:]) if "weight" in k
                   and "ln" not in k and k in src)


def test_copy_refuses_an_n_the_model_does_not_have():
    with pytest.raises(ValueError, match="between 0 and 3"):
        copy_lower(_gpt(0), _gpt(1), 4)
    with pytest.raises(ValueError, match="between 0 and 3"):
        freeze_lower(_gpt(0), -1)


def test_a_warm_start_copies_the_whole_body_and_keeps_a_fresh_head():
    source = _gpt(1)
    target = GPTClassifier(_gpt(2), classes=4)
    head = state_copy(target.head)
    assert warm_start(target, source) == ["head.weight", "head.bias"]
    src = state_copy(source)
    assert all(torch.equal(p, src[k[4:]]) for k, p in target.named_parameters() if k.startswith("gpt."))
    assert torch.equal(target.head.weight, head["weight"])
    lm = _gpt(3)
    assert warm_start(lm, source) == []
    assert all(torch.equal(p, src[k]) for k, p in lm.named_parameters())


def test_frozen_groups_stay_bit_for_bit_and_the_optimiser_holds_no_state_for_them():
    model = GPTClassifier(_gpt(0), classes=2, pooling="mean")
    freeze_lower(model, 2)  # embedding and block 1
    start = state_copy(model)
    opt = torch.optim.AdamW(trainable_parameters(model), lr=1e-2)
    gen = torch.Generator().manual_seed(0)
    for _ in range(5):
        x = torch.randint(0, 11, (8, 8), generator=gen)
        y = torch.randint(0, 2, (8,), generator=gen)
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    groups = group_parameters(model)
    frozen = [p for g in ("embedding", "block 1") for _, p in groups[g]]
    now = state_copy(model)
    assert _equal(now, start, _names(model, ["embedding", "block 1"]))
    for g in ("block 2", "output"):
        assert all(not torch.equal(now[k], start[k]) for k in _names(model, [g]) if "bias" not in k), g
    held = {id(p) for group in opt.param_groups for p in group["params"]}
    assert not any(id(p) in held for p in frozen) and len(opt.state) == len(held)
    assert all(p.grad is None for p in frozen)
    change = relative_change(model, start)
    assert change["embedding"] == 0.0 and change["block 1"] == 0.0
    assert change["block 2"] > 0 and change["output"] > 0
    freeze_lower(model, 0)
    assert all(p.requires_grad for p in model.parameters())


def test_relative_change_is_the_norm_of_the_step_over_the_norm_of_the_start():
    model = _gpt(0)
    start = state_copy(model)
    assert set(relative_change(model, start).values()) == {0.0}
    with torch.no_grad():
        for _, p in group_parameters(model)["block 1"]:
            p.mul_(1.5)
    change = relative_change(model, start)
    assert change["block 1"] == pytest.approx(0.5, rel=1e-6)
    assert change["embedding"] == change["block 2"] == change["output"] == 0.0


def test_the_classifier_pools_the_last_position_or_the_mean_of_the_last_layer():
    body = _gpt(0)
    x = torch.randint(0, 11, (3, 8))
    for pooling in ("last", "mean"):
        model = GPTClassifier(_gpt(0), classes=3, pooling=pooling).eval()
        logits, rec = model(x, record=True)
        assert logits.shape == (3, 3) and len(rec) == 2 and rec[0][1].shape == (3, 2, 8, 8)
        h = body.ln_f(body.hidden_states(x)[-1])
        pooled = h[:, -1] if pooling == "last" else h.mean(1)
        torch.testing.assert_close(model(x), model.head(pooled))
        assert len(model.hidden_states(x)) == 3
    with pytest.raises(ValueError, match="pooling"):
        GPTClassifier(_gpt(0), classes=3, pooling="max")


def test_a_linear_probe_reads_what_the_features_carry():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5)) * [1, 1, 100, 1, 1]
    y = (x[:, 0] > 0).astype(int)
    assert linear_probe(x[:200], y[:200], x[200:], y[200:]) > 0.95
    noise = rng.integers(0, 2, 400)
    assert abs(linear_probe(x[:200], noise[:200], x[200:], noise[200:]) - 0.5) < 0.15
    assert np.isnan(linear_probe(x[:10], np.zeros(10), x[10:20], y[10:20]))
