"""Downstream tasks for fine-tuning a pre-trained character GPT: passage classification and next-token prediction.

Every task reads its text in the pre-trained model's alphabet: characters the model does not know are dropped
(and counted). Each source is cut into up to ten blocks; the last 15% of every block is held out, so the fixed
validation set comes from a separate region of each source, never from a training window, and still covers the
whole source (every part of a novel, every module's docstrings). Training and validation examples are
non-overlapping windows of those regions. The full training set has at most FULL_PER_CLASS windows per class
(FULL_WINDOWS for next-token prediction); `share` keeps a share of it, and a smaller share keeps a subset of
a larger one for the same seed, so that a data-efficiency curve adds examples rather than swapping them.
"""
from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Callable

import numpy as np

from .errors import Cancelled, CorpusError

CLASSIFY_SOURCES: dict[str, str] = {
    "scrambled": "Austen or Austen with each word's letters shuffled",
    "novels": "Which novel: Pride and Prejudice or Persuasion",
    "austen-stdlib": "Austen or Python docstrings",
    "austen-file": "Austen or your file",
}
NEXT_TOKEN_SOURCES: dict[str, str] = {
    "stdlib": "Python docstrings (small, different domain)",
    "persuasion": "Persuasion (one novel)",
    "file": "your file",
}
TASK_KINDS = ("classify", "next-token")
NOVEL_TITLES = ("Emma", "Mansfield Park", "Northanger Abbey", "Persuasion", "Pride and Prejudice",
                "Sense and Sensibility")
FULL_PER_CLASS = 2000  # classification: training passages per class at share 1.0
FULL_WINDOWS = 2000  # next-token prediction: training windows at share 1.0
VAL_PER_CLASS = 256  # held-out passages per class
VAL_WINDOWS = 128  # held-out next-token windows
MIN_VAL = 8  # fewest held-out windows per class (or in all, for next-token prediction)
VAL_SHARE = 0.15  # the held-out end of every block
BLOCKS = 10  # most blocks a source is cut into
VAL_SEED = 12345  # the validation set is the same whatever the seed and share
SCRAMBLE_SEED = 2024  # the scrambled text is the same in every run


@dataclasses.dataclass(frozen=True)
class TaskData:
    """A downstream task in a pre-trained model's ids.

    train_x, val_x: (N, context) int64. train_y, val_y: (N,) class ids for classification, (N, context) next
    ids for next-token prediction. classes: class names (() for next-token prediction). chance: the accuracy
    of always guessing the most common answer. dropped: the share of the sources' characters that the model's
    alphabet lacks (dropped before windowing). description: one sentence for the UI.
    """

    kind: str
    source: str
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    classes: tuple[str, ...]
    chance: float
    dropped: float
    description: str

    @property
    def examples(self) -> int:
        """How many training examples (passages, or windows) the task keeps."""
        return len(self.train_x)


def scramble_letters(text: str, seed: int = SCRAMBLE_SEED) -> str:
    """The text with the letters (A-Z, a-z) of every word shuffled among themselves: the same characters, the
    same word lengths and spacing, but spelling that no English reader knows ("seldom" -> "mdelos")."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype="<u4").copy()
    lower = codes | 32
    letter = (lower >= ord("a")) & (lower <= ord("z"))
    starts = letter & ~np.concatenate([[False], letter[:-1]])
    idx = np.flatnonzero(letter)
    word = np.cumsum(starts)[idx]
    order = np.argsort(word + np.random.default_rng(seed).random(len(idx)))  # within each word, at random
    codes[idx] = codes[idx[order]]
    return codes.astype("<u4").tobytes().decode("utf-32-le")


def split_novels(text: str) -> dict[str, str]:
    """The built-in Austen text cut at its six title lines: title -> that novel's text."""
    lines = text.split("\n")
    starts: dict[str, int] = {}
    offset = 0
    wanted = {t.upper(): t for t in NOVEL_TITLES}
    for line in lines:
        title = wanted.get(line.strip().upper())
        if title is not None and title not in starts:
            starts[title] = offset
        offset += len(line) + 1
    missing = [t for t in NOVEL_TITLES if t not in starts]
    if missing:
        raise CorpusError(f"The built-in Austen text has no title line for {', '.join(missing)}; it cannot be "
                          "split into novels.")
    order = sorted(starts, key=starts.get)
    ends = [starts[t] for t in order[1:]] + [len(text)]
    return {t: text[starts[t]:end] for t, end in zip(order, ends, strict=True)}


_BUILTIN_CACHE: dict[str, str] = {}


def _builtin_text(name: str, cancelled: Callable[[], bool]) -> str:
    """A built-in corpus's text, read once per process (the sweep builds a task per share)."""
    if name not in _BUILTIN_CACHE:
        from .builtin import load_builtin

        _BUILTIN_CACHE[name] = load_builtin(name, cancel=cancelled).text
    return _BUILTIN_CACHE[name]


def _scrambled_austen(cancelled: Callable[[], bool]) -> str:
    if "austen-scrambled" not in _BUILTIN_CACHE:
        _BUILTIN_CACHE["austen-scrambled"] = scramble_letters(_builtin_text("austen", cancelled))
    return _BUILTIN_CACHE["austen-scrambled"]


def _file_text(path: str, cancelled: Callable[[], bool]) -> tuple[str, str]:
    """(file name, text) of the user's file; CorpusError when none is chosen or it cannot be read."""
    if not path:
        raise CorpusError("This task uses your own text file: choose one first.")
    from .corpus import load_corpus_file

    corpus = load_corpus_file(path, cancel=cancelled)
    return os.path.basename(path), corpus.text


def _sources(kind: str, source: str, file_path: str, cancelled: Callable[[], bool]) -> list[tuple[str, str]]:
    """[(name, text)]: the classes' texts for classification, one text for next-token prediction."""
    if kind == "classify":
        if source not in CLASSIFY_SOURCES:
            raise CorpusError(f"There is no classification task {source!r}; choose one of: "
                              f"{', '.join(CLASSIFY_SOURCES)}.")
        if source == "scrambled":
            austen = _builtin_text("austen", cancelled)
            return [("Austen", austen), ("Austen, letters shuffled", _scrambled_austen(cancelled))]
        if source == "novels":
            novels = split_novels(_builtin_text("austen", cancelled))
            return [(t, novels[t]) for t in ("Pride and Prejudice", "Persuasion")]
        austen = ("Austen", _builtin_text("austen", cancelled))
        if source == "austen-stdlib":
            return [austen, ("Python docstrings", _builtin_text("stdlib", cancelled))]
        return [austen, _file_text(file_path, cancelled)]
    if kind == "next-token":
        if source not in NEXT_TOKEN_SOURCES:
            raise CorpusError(f"There is no next-token task {source!r}; choose one of: "
                              f"{', '.join(NEXT_TOKEN_SOURCES)}.")
        if source == "stdlib":
            return [("Python docstrings", _builtin_text("stdlib", cancelled))]
        if source == "persuasion":
            return [("Persuasion", split_novels(_builtin_text("austen", cancelled))["Persuasion"])]
        return [_file_text(file_path, cancelled)]
    raise CorpusError(f"There is no task kind {kind!r}; choose one of: {', '.join(TASK_KINDS)}.")


def encode_known(text: str, alphabet: tuple[str, ...]) -> tuple[np.ndarray, int]:
    """(ids int64 of the characters the alphabet has, how many characters were dropped)."""
    codes = np.array(sorted(ord(c) for c in alphabet), dtype=np.uint32)
    points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    pos = np.minimum(np.searchsorted(codes, points), len(codes) - 1)
    known = codes[pos] == points
    return pos[known].astype(np.int64), int(len(points) - known.sum())


def _regions(n: int, length: int) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(training, held-out) character ranges: up to BLOCKS blocks of `n`, each with its last VAL_SHARE held out.

    Blocks are at least 40 windows long, so that a short text is cut into fewer, not too-short, blocks."""
    blocks = max(1, min(BLOCKS, n // (40 * length)))
    train, val = [], []
    for b in range(blocks):
        lo, hi = n * b // blocks, n * (b + 1) // blocks
        cut = hi - round((hi - lo) * VAL_SHARE)
        train.append((lo, cut))
        val.append((cut, hi))
    return train, val


def _windows(ids: np.ndarray, ranges: list[tuple[int, int]], length: int) -> np.ndarray:
    """(M, length) non-overlapping windows laid end to end inside each range."""
    parts = []
    for lo, hi in ranges:
        m = (hi - lo) // length
        if m > 0:
            parts.append(ids[lo:lo + m * length].reshape(m, length))
    return np.concatenate(parts) if parts else np.zeros((0, length), np.int64)


def _too_small(name: str, n: int, dropped: int, length: int) -> CorpusError:
    need = math.ceil((MIN_VAL / VAL_SHARE + 2) * length)
    lost = f" (after dropping {dropped:,} the model does not know)" if dropped else ""
    # when most of the text is in characters the model never saw, a longer text of the same kind does not help
    fix = ("Most of its characters are not in the pre-trained model's alphabet: choose a text in the characters the "
           "model was pre-trained on, or pre-train on text like this one." if dropped > n else "Choose a longer text.")
    return CorpusError(f"{name} has {n:,} characters the model knows{lost}, too few for this task: it needs "
                       f"about {need:,}, enough for {MIN_VAL} held-out passages of {length} characters and two to "
                       f"train on. {fix}")


def _check_share(share: float) -> float:
    share = float(share)
    if not 0.0 < share <= 1.0:
        raise CorpusError(f"The share of the training set must lie in (0, 1], not {share:g}.")
    return share


def build_task(kind: str, source: str, alphabet: tuple[str, ...], context: int, share: float, seed: int,
               file_path: str = "", cancelled: Callable[[], bool] = lambda: False) -> TaskData:
    """The task `source` of `kind` ("classify" or "next-token") in the model's alphabet, for a context length.

    share in (0, 1] keeps that share of the full training set (at least two examples per class, balanced);
    seed chooses which (the validation set does not depend on it). CorpusError says what is wrong."""
    share = _check_share(share)
    if not alphabet:
        raise CorpusError("The pre-trained model has an empty alphabet.")
    if int(context) < 1:
        raise CorpusError("The context must be at least one character.")
    texts = _sources(kind, source, file_path, cancelled)
    length = int(context) + (1 if kind == "next-token" else 0)
    encoded, total, dropped = [], 0, 0
    for name, text in texts:
        if cancelled():
            raise Cancelled("Building the task was cancelled.")
        ids, lost = encode_known(text, tuple(alphabet))
        total, dropped = total + len(ids) + lost, dropped + lost
        train_r, val_r = _regions(len(ids), length)
        train_w, val_w = _windows(ids, train_r, length), _windows(ids, val_r, length)
        if len(train_w) < 2 or len(val_w) < MIN_VAL:
            raise _too_small(name, len(ids), lost, length)
        encoded.append((name, train_w, val_w))
    drop_share = dropped / total if total else 0.0
    train_rng, val_rng = np.random.default_rng(int(seed)), np.random.default_rng(VAL_SEED)
    if kind == "classify":
        return _classification(source, encoded, share, train_rng, val_rng, drop_share, int(context))
    return _next_token(source, encoded[0], share, train_rng, val_rng, drop_share, int(context))


def _keep(full: int, share: float) -> int:
    return max(2, min(full, round(full * share)))


def _classification(source, encoded, share, train_rng, val_rng, drop_share, context) -> TaskData:
    full = min(FULL_PER_CLASS, *(len(t) for _, t, _ in encoded))
    n = _keep(full, share)
    n_val = min(VAL_PER_CLASS, *(len(v) for _, _, v in encoded))
    xs, ys, vxs, vys = [], [], [], []
    for c, (_, train_w, val_w) in enumerate(encoded):
        xs.append(train_w[train_rng.permutation(len(train_w))[:full][:n]])
        vxs.append(val_w[val_rng.permutation(len(val_w))[:n_val]])
        ys.append(np.full(n, c, np.int64))
        vys.append(np.full(n_val, c, np.int64))
    order, val_order = train_rng.permutation(n * len(encoded)), val_rng.permutation(n_val * len(encoded))
    classes = tuple(name for name, _, _ in encoded)
    description = (f"{' or '.join(classes)}: {n * len(classes):,} training passages of {context} characters "
                   f"({n:,} per class, {_percent(share)} of {full * len(classes):,}), {n_val * len(classes):,} "
                   f"held out{_dropped_note(drop_share)}.")
    return TaskData("classify", source, _ro(np.concatenate(xs)[order]), _ro(np.concatenate(ys)[order]),
                    _ro(np.concatenate(vxs)[val_order]), _ro(np.concatenate(vys)[val_order]), classes,
                    1.0 / len(classes), drop_share, description)


def _next_token(source, encoded, share, train_rng, val_rng, drop_share, context) -> TaskData:
    name, train_w, val_w = encoded
    full = min(FULL_WINDOWS, len(train_w))
    n = _keep(full, share)
    train = train_w[train_rng.permutation(len(train_w))[:full][:n]]
    val = val_w[val_rng.permutation(len(val_w))[:VAL_WINDOWS]]
    chance = float(np.bincount(val[:, 1:].ravel()).max() / val[:, 1:].size)
    description = (f"Next character of {name}: {n:,} training windows of {context} characters ({_percent(share)} "
                   f"of {full:,}, {n * context:,} characters), {len(val):,} held out{_dropped_note(drop_share)}.")
    return TaskData("next-token", source, _ro(train[:, :-1]), _ro(train[:, 1:]), _ro(val[:, :-1]),
                    _ro(val[:, 1:]), (), chance, drop_share, description)


def _percent(share: float) -> str:
    return f"{share * 100:.3g}%"


def _dropped_note(share: float) -> str:
    return f"; {share:.1%} of the characters are unknown to the model and were dropped" if share > 0 else ""


def _ro(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.int64)
    a.setflags(write=False)
    return a
