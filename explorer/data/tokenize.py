"""Split text into words, and map characters to integer ids and back."""
from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from explorer.data.errors import CorpusError

# A word: letters (any script) with optional inner apostrophes (don't, austen's), or a run of digits.
WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*|\d+")


def word_tokens(text: str, lower: bool = True) -> list[str]:
    """The words of `text` in order (punctuation dropped), lower-cased unless lower=False."""
    return WORD_RE.findall(text.lower() if lower else text)


def has_words(text: str) -> bool:
    """Whether `text` contains at least one word."""
    return WORD_RE.search(text) is not None


class CharTokenizer:
    """A character-level tokenizer: each distinct character of a text gets an id, in code-point order."""

    def __init__(self, chars: Iterable[str]):
        self.chars: tuple[str, ...] = tuple(sorted(set(chars)))
        if not self.chars:
            raise CorpusError("The text has no characters to build a character vocabulary from.")
        if any(len(c) != 1 for c in self.chars):
            raise ValueError("CharTokenizer takes single characters")
        self._codes = np.array([ord(c) for c in self.chars], dtype=np.uint32)

    @classmethod
    def from_text(cls, text: str) -> CharTokenizer:
        """The tokenizer whose alphabet is the distinct characters of `text`."""
        return cls(set(text))

    def __len__(self) -> int:
        return len(self.chars)

    def __repr__(self) -> str:
        return f"CharTokenizer({len(self.chars)} characters)"

    def encode(self, text: str) -> np.ndarray:
        """The ids (int64) of the characters of `text`; CorpusError names a character not in the alphabet."""
        points = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
        ids = np.searchsorted(self._codes, points)
        ids_clipped = np.minimum(ids, len(self._codes) - 1)
        unknown = self._codes[ids_clipped] != points
        if unknown.any():
            ch = chr(int(points[int(np.argmax(unknown))]))
            raise CorpusError(
                f"The character {ch!r} (U+{ord(ch):04X}) is not in this model's alphabet of "
                f"{len(self.chars)} characters; remove it from the text."
            )
        return ids.astype(np.int64)

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """The text spelled by character ids."""
        arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64).ravel()
        if arr.size and (arr.min() < 0 or arr.max() >= len(self.chars)):
            raise ValueError(f"character ids must lie in [0, {len(self.chars)})")
        return self._codes[arr].astype("<u4").tobytes().decode("utf-32-le")
