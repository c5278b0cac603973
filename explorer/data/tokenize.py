"""Split text into words, and map characters to integer ids and back."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from itertools import islice

import numpy as np

from explorer.data.errors import CorpusError

# A word: letters (any script) with optional inner apostrophes (don't, austen's), or a run of digits.
WORD_RE = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*|\d+")
_ASCII_WORD_RE = re.compile(r"[a-z]+(?:'[a-z]+)*|[0-9]+", re.ASCII)  # the same on lower-case ASCII, 40% faster


def word_tokens(text: str, lower: bool = True) -> list[str]:
    """The words of `text` in order (punctuation dropped), lower-cased unless lower=False."""
    return WORD_RE.findall(text.lower() if lower else text)


def has_words(text: str) -> bool:
    """Whether `text` contains at least one word."""
    return WORD_RE.search(text) is not None


MAX_HELD_CHARS = 1 << 22  # text without whitespace held back for the next piece, at most (a longer run is split)
_LAST_SPACE = re.compile(r"(?s).*\s")  # up to and including the last whitespace character


class WordStream:
    """The words of a text fed piece by piece, as int32 ids into a vocabulary in order of first use.

    `feed(piece)` tokenises the text up to the piece's last whitespace and holds the rest back for the next piece,
    so that the words are exactly word_tokens() of the whole text however it is cut (whitespace ends every word,
    and lower-casing never looks across it); `close()` tokenises what is held back. With `max_words`, it stops
    at that many words: `full` turns True when the text has more. With keep_text, `parts` holds the text up to
    the end of the last word kept, in pieces (join them once, when the text is needed).
    """

    def __init__(self, max_words: int | None = None, keep_text: bool = True) -> None:
        if max_words is not None and max_words < 0:
            raise ValueError("max_words must be >= 0")
        self.max_words = max_words
        self.keep_text = keep_text
        self.parts: list[str] = []
        self.full = False
        self.n_words = 0
        self.chars_fed = 0  # characters given to feed()
        self.chars_used = 0  # characters tokenised (up to the end of the last word kept once full)
        self._ids = np.empty(0, dtype=np.int32)
        self._index: defaultdict[str, int] = defaultdict()
        self._index.default_factory = self._index.__len__  # a new word's id is the vocabulary's size
        self._held: list[str] = []
        self._held_chars = 0

    def feed(self, piece: str) -> bool:
        """Take the next piece of text; False once the word budget is full (the rest is not wanted)."""
        if self.full:
            return False
        self.chars_fed += len(piece)
        match = _LAST_SPACE.match(piece)
        if match is None:
            self._held.append(piece)
            self._held_chars += len(piece)
            if self._held_chars > MAX_HELD_CHARS:  # no whitespace for megabytes: split the run here
                self._take_held("")
            return not self.full
        cut = match.end()
        self._take_held(piece[:cut] if cut < len(piece) else piece)
        if cut < len(piece) and not self.full:
            self._held, self._held_chars = [piece[cut:]], len(piece) - cut
        return not self.full

    def close(self) -> None:
        """Tokenise the text held back; the ids are final after this."""
        if not self.full:
            self._take_held("")
        self._held, self._held_chars = [], 0
        self._ids.resize(self.n_words, refcheck=False)

    @property
    def word_ids(self) -> np.ndarray:
        """The ids of the words so far, in order (a view: copy it to keep it past the next feed)."""
        return self._ids[: self.n_words]

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The distinct words, by id (in order of first occurrence)."""
        return tuple(self._index)

    def _take_held(self, tail: str) -> None:
        if self._held:
            segment = "".join([*self._held, tail])
            self._held, self._held_chars = [], 0
        else:
            segment = tail
        if segment:
            self._take(segment)

    def _take(self, segment: str) -> None:
        lowered = segment.lower()
        pattern = _ASCII_WORD_RE if lowered.isascii() else WORD_RE
        tokens = pattern.findall(lowered)
        room = None if self.max_words is None else self.max_words - self.n_words
        if room is not None and len(tokens) > room:
            self.full = True
            end = next(islice(pattern.finditer(lowered), room - 1, None)).end() if room > 0 else 0
            segment = segment[: _original_offset(segment, lowered, end)]
            del tokens[room:]
        self.add_tokens(tokens)
        self.chars_used += len(segment)
        if self.keep_text and segment:
            self.parts.append(segment)

    def add_tokens(self, tokens: list[str]) -> None:
        """Append words already split and lower-cased (no budget check)."""
        n, end = len(tokens), self.n_words + len(tokens)
        if end > len(self._ids):  # grow geometrically, in place where the allocator can
            self._ids.resize(max(end, len(self._ids) * 3 // 2 + 4096), refcheck=False)
        self._ids[self.n_words:end] = np.fromiter(map(self._index.__getitem__, tokens), dtype=np.int32, count=n)
        self.n_words = end


def _original_offset(text: str, lowered: str, end: int) -> int:
    """The offset in `text` that offset `end` of text.lower() comes from (lower-casing may lengthen a few letters)."""
    if len(lowered) == len(text):
        return end
    lo, hi = 0, len(text)
    while lo < hi:  # the shortest prefix whose lower case reaches `end`
        mid = (lo + hi) // 2
        if len(text[:mid].lower()) < end:
            lo = mid + 1
        else:
            hi = mid
    return lo


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

    def compact_dtype(self) -> np.dtype:
        """The smallest integer type that holds every id of this alphabet (uint8 up to 256 characters)."""
        n = len(self.chars)
        return np.dtype(np.uint8 if n <= 256 else np.int16 if n <= 32768 else np.int32)

    def encode_compact(self, text: str, chunk_chars: int = 1 << 20) -> np.ndarray:
        """The ids of `text` in compact_dtype(), encoded a piece at a time: a long text never exists as int64 ids
        (8 bytes a character) or as UTF-32 at once."""
        out = np.empty(len(text), dtype=self.compact_dtype())
        for start in range(0, len(text), chunk_chars):
            piece = text[start:start + chunk_chars]
            out[start:start + len(piece)] = self.encode(piece)
        return out

    def decode(self, ids: Iterable[int] | np.ndarray) -> str:
        """The text spelled by character ids."""
        arr = np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype=np.int64).ravel()
        if arr.size and (arr.min() < 0 or arr.max() >= len(self.chars)):
            raise ValueError(f"character ids must lie in [0, {len(self.chars)})")
        return self._codes[arr].astype("<u4").tobytes().decode("utf-32-le")
