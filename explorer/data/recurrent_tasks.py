"""Long-range tasks for recurrent networks, as torch batches: copy (memory), the adding problem, characters, count.

Each task names its problem type (the lecture's RNN problem types): count is one to many (one symbol in, a
sequence out), adding is many to one (a sequence in, one number out), copy and characters are many to many.

Each task says how its token ids look (`alphabet`, one label per input id), what guessing scores (`chance`,
`chance_loss`), and computes its loss and accuracy from a model's outputs (B, L, out_dim). Tensors are made on
the generator's device, as in explorer.data.tasks.
"""
from __future__ import annotations

import math
import re
import string

import numpy as np
import torch
import torch.nn.functional as F

from .tasks import IGNORE, char_ids, char_lm_batch, id_counts
from .tokenize import CharTokenizer

BLANK, GO = "·", "go"
BLANK_ALIASES, GO_ALIASES = (BLANK, ".", "_"), (GO, ">")
ADDING_TOLERANCE = 0.04  # an adding-problem answer within this of the target counts as right (the usual criterion)
ADDING_LEVELS = 101  # values 0.00, 0.01, ..., 1.00
DISPLAY = {"\n": "↵", "\t": "⇥", " ": "␣", "\r": "␍"}


def _device(generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else torch.device("cpu")


def make_copy_batch(batch: int, delay: int, symbols: int = 5, alphabet: int = 8,
                    generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The copy (memory) task: x, y (B, L) with L = 2·symbols + delay.

    x: `symbols` random symbols (ids 0..alphabet-1), `delay` blanks (id alphabet), the go marker (alphabet+1),
    then symbols-1 blanks. y: from the go marker on, the symbols in their order; IGNORE elsewhere. Every
    symbol must be remembered for symbols + delay steps.
    """
    if batch < 1 or delay < 0 or symbols < 1 or alphabet < 2:
        raise ValueError("The copy task needs a batch, a delay of at least 0, a symbol and an alphabet of 2.")
    device = _device(generator)
    length = 2 * symbols + delay
    seq = torch.randint(0, alphabet, (batch, symbols), generator=generator, device=device)
    x = torch.full((batch, length), alphabet, dtype=torch.long, device=device)
    x[:, :symbols] = seq
    x[:, symbols + delay] = alphabet + 1
    y = torch.full((batch, length), IGNORE, dtype=torch.long, device=device)
    y[:, symbols + delay:] = seq
    return x, y


def make_adding_batch(batch: int, length: int, levels: int = ADDING_LEVELS,
                      generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The adding problem: x (B, L) ids, y (B,) the sum of the two marked values.

    Every position holds a value v = q/(levels-1) on a grid of `levels` steps from 0 to 1, one marked in the
    first half and one in the second; the id is q for an unmarked value and levels + q for a marked one.
    """
    if batch < 1 or length < 2 or levels < 2:
        raise ValueError("The adding problem needs a batch, a length of at least 2 and at least 2 value levels.")
    device = _device(generator)
    q = torch.randint(0, levels, (batch, length), generator=generator, device=device)
    half = length // 2
    first = torch.randint(0, half, (batch,), generator=generator, device=device)
    second = torch.randint(half, length, (batch,), generator=generator, device=device)
    rows = torch.arange(batch, device=device)
    marked = torch.zeros(batch, length, dtype=torch.bool, device=device)
    marked[rows, first] = True
    marked[rows, second] = True
    values = q.float() / (levels - 1)
    y = (values * marked).sum(1)
    return q + levels * marked.long(), y


def make_count_batch(batch: int, length: int, alphabet: int = 8,
                     generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The count task (one to many): x (B, L) a random start symbol s (id 0..alphabet-1) then blanks (id
    alphabet); y (B, L) the sequence it determines, s, s+1, s+2, ... counted modulo the alphabet."""
    if batch < 1 or length < 1 or alphabet < 2:
        raise ValueError("The count task needs a batch, a length of at least 1 and an alphabet of 2.")
    device = _device(generator)
    start = torch.randint(0, alphabet, (batch, 1), generator=generator, device=device)
    x = torch.full((batch, length), alphabet, dtype=torch.long, device=device)
    x[:, :1] = start
    y = (start + torch.arange(length, device=device)) % alphabet
    return x, y


def symbol_labels(alphabet: int) -> tuple[str, ...]:
    """Labels of the copy task's symbols: a, b, c, ... (then numbers beyond 26)."""
    letters = string.ascii_lowercase
    return tuple(letters[i] if alphabet <= len(letters) else str(i) for i in range(alphabet))


def display_label(ch: str) -> str:
    """A visible label for a character (newline, tab and space get a symbol)."""
    return DISPLAY.get(ch, ch)


def encode_copy(text: str, alphabet: tuple[str, ...]) -> list[int]:
    """Ids of typed copy-task input: symbols separated by spaces, or run together as single characters;
    a blank is ·, . or _ and the go marker is go or >. E.g. "abcde ..... go" or "a b c d e _ _ go"."""
    symbols = alphabet[:-2]
    ids: list[int] = []
    for token in text.split():
        if token in GO_ALIASES:
            ids.append(len(alphabet) - 1)
        elif token in symbols:
            ids.append(symbols.index(token))
        else:
            for ch in token:
                if ch in BLANK_ALIASES:
                    ids.append(len(alphabet) - 2)
                elif ch == ">":
                    ids.append(len(alphabet) - 1)
                elif ch in symbols:
                    ids.append(symbols.index(ch))
                else:
                    raise ValueError(f"Unknown symbol {ch!r} in {token!r}: the copy task's inputs are "
                                     f"{', '.join(symbols)}, a blank (· . or _) and the go marker (go or >).")
    if not ids:
        raise ValueError("Type at least one symbol.")
    return ids


def encode_adding(text: str, levels: int = ADDING_LEVELS) -> list[int]:
    """Ids of typed adding-problem input: values from 0 to 1 separated by spaces or commas, a marked one
    followed by *, e.g. "0.3 0.71* 0.2 0.5*" (values are rounded to the grid of `levels` steps)."""
    ids: list[int] = []
    for token in re.split(r"[\s,;]+", text.strip()):
        if not token:
            continue
        marked = token.endswith("*")
        try:
            value = float(token.rstrip("*"))
        except ValueError:
            raise ValueError(f"{token!r} is not a number: type values from 0 to 1, a marked one followed by *, "
                             "e.g. 0.3 0.71* 0.2 0.5*") from None
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{token!r} is outside 0..1: the adding problem's values lie between 0 and 1.")
        ids.append(round(value * (levels - 1)) + (levels if marked else 0))
    if not ids:
        raise ValueError("Type at least one value, e.g. 0.3 0.71* 0.2 0.5*")
    return ids


def encode_chars(text: str, alphabet: tuple[str, ...]) -> list[int]:
    """Ids of typed text, one per character; every character must be in the model's alphabet."""
    index = {ch: i for i, ch in enumerate(alphabet)}
    unknown = [ch for ch in text if ch not in index]
    if unknown:
        raise ValueError(f"The character {unknown[0]!r} is not in this model's alphabet of {len(alphabet)} "
                         "characters (those of its corpus); remove it.")
    if not text:
        raise ValueError("Type at least one character.")
    return [index[ch] for ch in text]


class RecurrentTask:
    """The interface the recurrent job uses; see the three tasks below."""

    name = ""
    problem_type = ""  # the lecture's RNN problem type: one to many, many to one, many to many
    regression = False
    length = 0  # positions per sequence
    vocab_size = 0
    out_dim = 0
    alphabet: tuple[str, ...] = ()
    chance = 0.0  # accuracy of guessing
    chance_loss = 0.0  # loss of the best input-blind guess
    input_table: torch.Tensor | None = None  # fixed input features per id (None: one-hot)

    def batch(self, batch: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs x (B, L) and targets y."""
        raise NotImplementedError

    def loss_and_accuracy(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training loss (differentiable) and accuracy (a 0-d tensor) of outputs (B, L, out_dim)."""
        raise NotImplementedError

    def last_step_losses(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """(B,) the loss of the last time step of every sequence."""
        raise NotImplementedError

    def labels(self, ids) -> tuple[str, ...]:
        """Display label of every input id in a sequence."""
        return tuple(self.alphabet[int(i)] for i in ids)

    def encode(self, text: str) -> list[int]:
        """Input ids of what a user typed (ValueError with a message when it does not fit)."""
        raise NotImplementedError


class _Classification(RecurrentTask):
    def loss_and_accuracy(self, logits, y):
        flat, target = logits.reshape(-1, logits.shape[-1]), y.reshape(-1)
        loss = F.cross_entropy(flat, target, ignore_index=IGNORE)
        valid = target != IGNORE
        hits = (flat.argmax(-1) == target) & valid
        return loss, hits.sum() / valid.sum().clamp(min=1)

    def last_step_losses(self, logits, y):
        return F.cross_entropy(logits[:, -1], y[:, -1], reduction="none")


class CopyTask(_Classification):
    """Remember `symbols` random symbols over `delay` blanks, then, after the go marker, say them in order."""

    name = "copy"
    problem_type = "many to many"

    def __init__(self, delay: int, symbols: int = 5, alphabet: int = 8) -> None:
        self.delay, self.symbols, self.n_symbols = delay, symbols, alphabet
        self.length = 2 * symbols + delay
        self.vocab_size, self.out_dim = alphabet + 2, alphabet
        self.alphabet = (*symbol_labels(alphabet), BLANK, GO)
        self.chance, self.chance_loss = 1.0 / alphabet, math.log(alphabet)

    def batch(self, batch, generator=None):
        return make_copy_batch(batch, self.delay, self.symbols, self.n_symbols, generator)

    def encode(self, text):
        return encode_copy(text, self.alphabet)


class AddingTask(RecurrentTask):
    """Output, at the last step, the sum of the two marked values of a sequence of values in [0, 1].

    Inputs are ids (see make_adding_batch) that the network reads through a fixed input table as the pair
    (value, marker), the adding problem's usual two input lines. Loss: mean squared error at the last step;
    accuracy: the share of answers within 0.04 of the target; guessing 1.0 scores MSE ≈ 0.17.
    """

    name = "adding"
    problem_type = "many to one"
    regression = True

    def __init__(self, length: int, levels: int = ADDING_LEVELS) -> None:
        self.length, self.levels = length, levels
        self.vocab_size, self.out_dim = 2 * levels, 1
        grid = [f"{q / (levels - 1):.2f}" for q in range(levels)]
        self.alphabet = tuple(grid) + tuple(v + "*" for v in grid)
        q = torch.arange(2 * levels) % levels
        self.input_table = torch.stack([q.float() / (levels - 1), (torch.arange(2 * levels) >= levels).float()], 1)
        v = np.arange(levels) / (levels - 1)
        sums = v[:, None] + v[None, :]  # every pair of marked values is equally likely
        self.chance = float(np.mean(np.abs(sums - 1.0) < ADDING_TOLERANCE))
        self.chance_loss = float(np.mean((sums - 1.0) ** 2))

    def batch(self, batch, generator=None):
        return make_adding_batch(batch, self.length, self.levels, generator)

    def loss_and_accuracy(self, logits, y):
        pred = logits[:, -1, 0]
        return F.mse_loss(pred, y), ((pred - y).abs() < ADDING_TOLERANCE).float().mean()

    def last_step_losses(self, logits, y):
        return (logits[:, -1, 0] - y) ** 2

    def encode(self, text):
        return encode_adding(text, self.levels)


class CharTask(_Classification):
    """Predict the next character at every position of random windows of a text."""

    name = "characters"
    problem_type = "many to many"

    def __init__(self, text: str, length: int, device: str | torch.device = "cpu",
                 tokenizer: CharTokenizer | None = None) -> None:
        self.tokenizer, ids = char_ids(text, tokenizer)
        self.ids = ids.to(device)
        self.length = length
        self.vocab_size = self.out_dim = len(self.tokenizer)
        self.alphabet = tuple(self.tokenizer.chars)
        p = id_counts(ids, minlength=self.vocab_size) / max(1, len(ids))
        self.chance = float(p.max())  # always guessing the most common character
        self.chance_loss = float(-(p[p > 0] * np.log(p[p > 0])).sum())  # the unigram distribution's entropy

    def batch(self, batch, generator=None):
        return char_lm_batch(self.ids, batch, self.length, generator)

    def labels(self, ids):
        return tuple(display_label(self.alphabet[int(i)]) for i in ids)

    def encode(self, text):
        return encode_chars(text, self.alphabet)


class CountTask(_Classification):
    """One to many: from one start symbol (then blanks) emit the sequence it determines, counting up from it."""

    name = "count"
    problem_type = "one to many"

    def __init__(self, length: int, alphabet: int = 8) -> None:
        self.length, self.n_symbols = length, alphabet
        self.vocab_size, self.out_dim = alphabet + 1, alphabet
        self.alphabet = (*symbol_labels(alphabet), BLANK)
        self.chance, self.chance_loss = 1.0 / alphabet, math.log(alphabet)

    def batch(self, batch, generator=None):
        return make_count_batch(batch, self.length, self.n_symbols, generator)

    def encode(self, text):
        """Typed as for copy (symbols, blanks as · . or _); the count task has no go marker."""
        ids = encode_copy(text, (*self.alphabet, GO))
        if self.vocab_size in ids:
            raise ValueError("The count task has no go marker: type a start symbol, then blanks (e.g. c.......).")
        return ids


PROBLEM_TYPES = {"copy": CopyTask.problem_type, "adding": AddingTask.problem_type,
                 "characters": CharTask.problem_type, "count": CountTask.problem_type}
