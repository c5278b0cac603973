"""A word vocabulary with counts, and the word2vec sampling distributions built on it."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from explorer.data.errors import CorpusError


def _check_limits(min_count: int, max_size: int | None) -> None:
    if min_count < 1:
        raise ValueError("min_count must be at least 1")
    if max_size is not None and max_size < 1:
        raise ValueError("max_size must be at least 1")


class Vocab:
    """Words sorted by count (descending, ties alphabetical), their counts, and a word -> id index."""

    def __init__(self, words: list[str], counts: np.ndarray):
        if len(words) != len(counts):
            raise ValueError("words and counts must have the same length")
        self.words: list[str] = list(words)
        self.counts: np.ndarray = np.asarray(counts, dtype=np.int64)
        self.index: dict[str, int] = {w: i for i, w in enumerate(self.words)}

    @classmethod
    def build(cls, tokens: Iterable[str], min_count: int = 1, max_size: int | None = None) -> Vocab:
        """The vocabulary of the words occurring at least `min_count` times, the `max_size` most frequent."""
        _check_limits(min_count, max_size)
        counter = Counter(tokens)
        return cls._ranked(list(counter), list(counter.values()), min_count, max_size)[0]

    @classmethod
    def from_ids(cls, word_ids: np.ndarray, vocabulary: Sequence[str], min_count: int = 1,
                 max_size: int | None = None) -> tuple[Vocab, np.ndarray]:
        """The vocabulary that build() makes of a corpus given as ids into `vocabulary`, and its words' new ids.

        The same as `vocab = Vocab.build(words, ...)` and `vocab.encode(words)` for the words the ids spell,
        without a list of str: the counts come from np.bincount and the ids are mapped with one lookup table.
        """
        _check_limits(min_count, max_size)
        ids = np.asarray(word_ids)
        counts = np.bincount(ids, minlength=len(vocabulary)) if ids.size else np.zeros(len(vocabulary), np.int64)
        present = np.flatnonzero(counts)
        vocab, order = cls._ranked([vocabulary[i] for i in present], counts[present].tolist(), min_count, max_size)
        remap = np.full(len(vocabulary), -1, dtype=np.int32)
        remap[present[order]] = np.arange(len(order), dtype=np.int32)
        new_ids = remap[ids]
        return vocab, new_ids[new_ids >= 0]

    @classmethod
    def _ranked(cls, words: list[str], counts: list[int], min_count: int,
                max_size: int | None) -> tuple[Vocab, list[int]]:
        """The vocabulary of the distinct `words` with their `counts`, and the positions in `words` it kept."""
        if not words:
            raise CorpusError("The corpus has no words.")
        order = sorted(range(len(words)), key=lambda i: (-counts[i], words[i]))
        kept = [i for i in order if counts[i] >= min_count]
        if not kept:
            top = counts[order[0]]
            raise CorpusError(
                f"No word occurs at least {min_count} times in this corpus (it has {len(words):,} distinct "
                f"words, the most frequent occurring {top:,} times); lower the minimum count to {top:,} or less."
            )
        if max_size is not None:
            kept = kept[:max_size]
        return cls([words[i] for i in kept], np.array([counts[i] for i in kept], dtype=np.int64)), kept

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self.index

    def __repr__(self) -> str:
        return f"Vocab({len(self.words)} words, {int(self.counts.sum()):,} tokens)"

    def encode(self, tokens: Iterable[str], drop_unknown: bool = True) -> np.ndarray:
        """Word ids (int32) of `tokens`: unknown words are dropped, or with drop_unknown=False become -1."""
        get = self.index.get
        if drop_unknown:
            ids = [i for i in map(get, tokens) if i is not None]
        else:
            ids = [get(t, -1) for t in tokens]
        return np.array(ids, dtype=np.int32)

    def frequencies(self) -> np.ndarray:
        """Each word's share of all the vocabulary's tokens (float64, sums to 1)."""
        return self.counts / self.counts.sum()

    def keep_probabilities(self, threshold: float) -> np.ndarray:
        """Probability of keeping each word under word2vec's frequent-word subsampling (float64).

        This is the word2vec C tool's rule: with f the word's relative frequency and t the threshold
        (`sample`, typically 1e-3 to 1e-5), p_keep = (sqrt(f / t) + 1) * t / f, clipped to [0, 1].
        Words rarer than about 2.6 t are always kept; threshold 0 keeps every word.
        """
        if threshold < 0:
            raise ValueError("the subsampling threshold must be >= 0")
        if threshold == 0:
            return np.ones(len(self.words), dtype=np.float64)
        f = self.frequencies()
        return np.clip((np.sqrt(f / threshold) + 1.0) * threshold / f, 0.0, 1.0)

    def subsample(self, ids: np.ndarray, threshold: float, rng: np.random.Generator) -> np.ndarray:
        """The ids that survive one random draw of frequent-word subsampling, in their original order."""
        ids = np.asarray(ids)
        if threshold == 0:
            return ids.copy()
        keep = self.keep_probabilities(threshold)[ids]
        return ids[rng.random(ids.shape[0]) < keep]

    def noise_distribution(self, power: float = 0.75) -> np.ndarray:
        """Negative-sampling distribution: counts**power normalised to sum to 1 (float64)."""
        weights = self.counts.astype(np.float64) ** power
        return weights / weights.sum()


def check_window_fits(n_tokens: int, window: int) -> None:
    """Raise CorpusError when a corpus of `n_tokens` words is too short for a context window of `window`."""
    if window < 1:
        raise ValueError("window must be at least 1")
    needed = 2 * window + 1
    if n_tokens < needed:
        largest = (n_tokens - 1) // 2
        change = f"Choose a window of at most {largest} or a longer corpus." if largest >= 1 else (
            "Use a longer corpus (at least 3 words)."
        )
        raise CorpusError(
            f"The corpus has only {n_tokens:,} words, but a window of {window} needs at least {needed} "
            f"(a word and {window} on each side). {change}"
        )


def check_vocab_fits(vocab_size: int, needed: int = 2, *, min_count: int | None = None,
                     max_size: int | None = None, distinct: int | None = None) -> None:
    """Raise CorpusError when a vocabulary of `vocab_size` words is too small to train on.

    The message advises only what can help: given the minimum count and the size limit that made the vocabulary
    and the corpus's number of distinct words, it never says to lower a minimum count of 1, to raise a size limit
    that did not bind, or either when the corpus itself has too few distinct words.
    """
    if vocab_size >= needed:
        return
    word = "word" if vocab_size == 1 else "words"
    head = f"The vocabulary has only {vocab_size:,} {word}; training needs at least {needed} distinct words."
    if distinct is not None and distinct < needed:
        what = "distinct word" if distinct == 1 else "different words"
        raise CorpusError(
            f"{head} The corpus itself has only {distinct:,} {what}, so no setting can help: "
            f"use a longer text with at least {needed} different words."
        )
    fixes = []
    if min_count is None or (min_count > 1 and (distinct is None or distinct > vocab_size)):
        fixes.append("lower the minimum count" + (f" (now {min_count})" if min_count else ""))
    if (max_size is None and min_count is None) or (max_size is not None and max_size < needed):
        fixes.append("raise the vocabulary size limit" + (f" (now {max_size:,})" if max_size else ""))
    fixes.append("use a larger corpus with more different words")
    advice = fixes[0] if len(fixes) == 1 else ", ".join(fixes[:-1]) + ", or " + fixes[-1]
    raise CorpusError(f"{head} {advice[0].upper()}{advice[1:]}.")
