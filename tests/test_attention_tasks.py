"""Synthetic attention tasks: the targets are right, and the key each answer lives at is known."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.data.attention_tasks import (
    SEPARATOR,
    TASKS,
    attention_hit_rate,
    expected_attention,
    input_length,
    make_task_batch,
    target_accuracy,
    task_alphabet,
)
from explorer.data.tasks import IGNORE


def test_expected_keys_on_a_hand_case():
    # copy:    x = a b c | a b     y = . . . a b c      (the answer to query 3 + i is at key i)
    assert expected_attention("copy", 3).tolist() == [-1, -1, -1, 0, 1, 2]
    # reverse: x = a b c | c b     y = . . . c b a      (the mirror key)
    assert expected_attention("reverse", 3).tolist() == [-1, -1, -1, 2, 1, 0]
    # repeat:  x = a b c a b       y = . . . b c        (the key after the earlier occurrence of the query's token)
    assert expected_attention("repeat", 3).tolist() == [-1, -1, -1, 1, 2]


def test_a_hand_batch_has_the_right_targets():
    gen = torch.Generator().manual_seed(0)
    x, y = make_task_batch("reverse", 1, 3, symbols=4, generator=gen)
    s = x[0, :3].tolist()
    assert x[0].tolist() == [*s, 4, s[2], s[1]] and y[0].tolist() == [IGNORE] * 3 + [s[2], s[1], s[0]]
    x, y = make_task_batch("repeat", 1, 3, symbols=4, generator=gen)
    s = x[0, :3].tolist()
    assert x[0].tolist() == s + s[:2] and y[0].tolist() == [IGNORE] * 3 + s[1:]


@pytest.mark.parametrize("task", TASKS)
def test_every_target_is_the_token_at_its_expected_key(task):
    x, y = make_task_batch(task, 16, 9, generator=torch.Generator().manual_seed(1))
    expected = expected_attention(task, 9)
    assert x.shape == y.shape == (16, input_length(task, 9)) == (16, len(expected))
    scored = expected >= 0
    assert torch.all(y[:, ~scored] == IGNORE)
    assert torch.equal(y[:, scored], x[:, expected[scored]])
    assert x.max() < 16 + 1 and (task == "repeat") == bool(torch.all(x < 16))  # the separator is id 16
    assert task_alphabet()[16] == SEPARATOR and list(task_alphabet()) == sorted(task_alphabet())


def test_accuracy_and_attention_hit_rate():
    _x, y = make_task_batch("copy", 4, 5, generator=torch.Generator().manual_seed(2))
    perfect = torch.nn.functional.one_hot(y.clamp(min=0), 17).float()
    assert target_accuracy(perfect, y) == 1.0
    expected = expected_attention("copy", 5)
    weights = np.full((2, 10, 10), 0.1)
    weights[:, :, 9] = 0.2  # both heads peak at the last key by default
    for q, k in enumerate(expected):
        if k >= 0 and q % 2 == 0:
            weights[1, q, k] = 0.9  # head 1 gets queries 6 and 8 right; query 9 (expected key 4) and 5, 7 are missed
    assert attention_hit_rate(weights, expected) == pytest.approx(2 / 5)


def test_bad_task_settings_are_refused():
    with pytest.raises(ValueError):
        make_task_batch("sort", 2, 5)
    with pytest.raises(ValueError):
        make_task_batch("copy", 2, 1)
    with pytest.raises(ValueError):
        task_alphabet(40)
