"""Synthetic next-token tasks whose right attention pattern is known: copy, reverse and repeat (induction).

A random sequence s_0 .. s_{n-1} of symbols is followed by a second part the model must predict:

    copy      s_0 .. s_{n-1} | s_0 .. s_{n-1}       the query at n + i attends to key i (the symbol it outputs)
    reverse   s_0 .. s_{n-1} | s_{n-1} .. s_0       the query at n + i attends to key n - 1 - i (the mirror)
    repeat    s_0 .. s_{n-1} s_0 .. s_{n-1}         the query at n + i (holding s_i) attends to key i + 1: the
                                                     token right after the earlier occurrence of its own token
                                                     (an induction head)

The model reads x = sequence[:-1] and predicts y = sequence[1:]; only the second part is scored (y = IGNORE
elsewhere). Symbols are ids 0 .. symbols-1 and the separator '|' is id `symbols`, so that the task's alphabet
(letters, then '|') is also a character alphabet in code-point order and the same model reads typed text.
"""
from __future__ import annotations

import numpy as np
import torch

from explorer.data.tasks import IGNORE

TASKS = ("copy", "reverse", "repeat")
LETTERS = "abcdefghijklmnopqrstuvwxyz"
SEPARATOR = "|"
DEFAULT_SYMBOLS = 16


def task_alphabet(symbols: int = DEFAULT_SYMBOLS) -> tuple[str, ...]:
    """The characters of a task's tokens: `symbols` letters, then the separator (id = symbols)."""
    if not 2 <= symbols <= len(LETTERS):
        raise ValueError(f"A task needs between 2 and {len(LETTERS)} symbols.")
    return (*tuple(LETTERS[:symbols]), SEPARATOR)


def input_length(task: str, length: int) -> int:
    """How many positions the model reads for a random part of `length` symbols."""
    _check(task, length)
    return 2 * length - 1 if task == "repeat" else 2 * length


def _check(task: str, length: int) -> None:
    if task not in TASKS:
        raise ValueError(f"task must be one of {', '.join(TASKS)}, not {task!r}")
    if length < 2:
        raise ValueError("The random part of a task needs at least 2 symbols.")


def make_task_batch(task: str, batch: int, length: int, symbols: int = DEFAULT_SYMBOLS,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs x (B, T) and next-token targets y (B, T), IGNORE before the second part; on the generator's device."""
    _check(task, length)
    task_alphabet(symbols)
    device = generator.device if generator is not None else torch.device("cpu")
    s = torch.randint(0, symbols, (batch, length), generator=generator, device=device)
    sep = torch.full((batch, 1), symbols, dtype=torch.long, device=device)
    if task == "copy":
        seq = torch.cat([s, sep, s], dim=1)
    elif task == "reverse":
        seq = torch.cat([s, sep, s.flip(1)], dim=1)
    else:
        seq = torch.cat([s, s], dim=1)
    x, y = seq[:, :-1], seq[:, 1:].clone()
    y[:, :length] = IGNORE
    return x.contiguous(), y


def expected_attention(task: str, length: int) -> np.ndarray:
    """(T,) int64: for each query position the key position the right head attends to, -1 where no target."""
    T = input_length(task, length)
    t = np.arange(T)
    if task == "copy":
        key = t - length
    elif task == "reverse":
        key = 2 * length - 1 - t
    else:
        key = t - length + 1
    return np.where(t >= length, key, -1).astype(np.int64)


def target_accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """Share of the scored positions (y != IGNORE) whose most likely token is the target."""
    valid = y != IGNORE
    hits = (logits.argmax(-1) == y) & valid
    return float(hits.sum()) / max(1, int(valid.sum()))


def attention_hit_rate(weights: np.ndarray, expected: np.ndarray) -> float:
    """Share of the queries with an expected key whose attention (heads, T, T), in some head, peaks there."""
    weights = np.asarray(weights)
    rows = np.flatnonzero(np.asarray(expected) >= 0)
    if rows.size == 0:
        return float("nan")
    peaks = weights[:, rows, :].argmax(-1)  # (heads, queries)
    return float(np.mean(np.any(peaks == np.asarray(expected)[rows][None, :], axis=0)))
