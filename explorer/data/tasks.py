"""Synthetic and text tasks for sequence models, as torch batches: delayed recall and next-character prediction."""
from __future__ import annotations

from collections.abc import Iterator

import torch

from explorer.data.errors import CorpusError
from explorer.data.tokenize import CharTokenizer

IGNORE = -100  # the target value that cross_entropy(ignore_index=-100) skips


def make_delayed_recall_batch(batch: int, length: int, alphabet: int, max_distance: int,
                              generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random symbols x (B, T) and targets y (B, T, D): y[b, t, d-1] = x[b, t-d], or IGNORE where t < d.

    One K-way head per distance d = 1..D learns to recall the symbol d steps back; a model can do so only when
    t-d lies in the receptive field of output t, otherwise that head stays at chance 1/K. The tensors are made
    on the generator's device.
    """
    if alphabet < 2 or max_distance < 1 or length < 1 or batch < 1:
        raise ValueError("Delayed recall needs an alphabet of at least 2, a distance of at least 1, and a "
                         "non-empty batch of non-empty sequences.")
    device = generator.device if generator is not None else torch.device("cpu")
    x = torch.randint(0, alphabet, (batch, length), generator=generator, device=device)
    y = torch.full((batch, length, max_distance), IGNORE, dtype=torch.long, device=device)
    for d in range(1, min(max_distance, length - 1) + 1):
        y[:, d:, d - 1] = x[:, :-d]
    return x, y


def recall_accuracy_by_distance(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(D,) accuracy of each distance head; logits (B, T, D, K), y (B, T, D); NaN for a head with no target."""
    valid = y != IGNORE
    hits = (logits.argmax(-1) == y) & valid
    return hits.sum((0, 1)).double() / valid.sum((0, 1)).double()


def char_ids(text: str, tokenizer: CharTokenizer | None = None) -> tuple[CharTokenizer, torch.Tensor]:
    """The character tokenizer of `text` (or the given one) and the text as a 1-D tensor of ids in the smallest
    integer type that holds them (uint8 for up to 256 characters: 1 byte a character, not int64's 8, so a long
    corpus fits in memory); char_lm_batch hands out windows as int64."""
    tokenizer = tokenizer or CharTokenizer.from_text(text)
    return tokenizer, torch.from_numpy(tokenizer.encode_compact(text))


def id_counts(ids, minlength: int = 0, chunk: int = 1 << 22):
    """How often each id occurs (int64 numpy array), counted a piece at a time: np.bincount of a whole compact
    stream would first copy it as int64 (8 bytes an id)."""
    import numpy as np

    arr = ids.numpy() if isinstance(ids, torch.Tensor) else np.asarray(ids)
    counts = np.zeros(max(minlength, int(arr.max()) + 1 if arr.size else 0), dtype=np.int64)
    for start in range(0, arr.size, chunk):
        part = np.bincount(arr[start:start + chunk], minlength=counts.size)
        counts[: part.size] += part
    return counts


def char_lm_batch(ids: torch.Tensor, batch: int, length: int,
                  generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random windows of a character stream: inputs x (B, T) and next characters y (B, T), on ids' device."""
    if len(ids) < length + 1:
        raise CorpusError(f"The text has {len(ids):,} characters, too few for windows of {length} characters "
                          f"plus the one to predict; choose a shorter sequence length or a longer text.")
    gen_device = generator.device if generator is not None else torch.device("cpu")
    starts = torch.randint(0, len(ids) - length, (batch,), generator=generator, device=gen_device)
    idx = starts.to(ids.device)[:, None] + torch.arange(length + 1, device=ids.device)[None, :]
    window = ids[idx].long()  # the stream is stored compact (char_ids); models and losses take int64
    return window[:, :-1], window[:, 1:]


def char_lm_batches(text: str, batch: int, length: int, generator: torch.Generator | None = None,
                    tokenizer: CharTokenizer | None = None,
                    device: str | torch.device = "cpu") -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """An endless stream of next-character batches (x, y) of shape (B, T) from a corpus text."""
    _, ids = char_ids(text, tokenizer)
    ids = ids.to(device)
    while True:
        yield char_lm_batch(ids, batch, length, generator)
