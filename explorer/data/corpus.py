"""A corpus: a named text with where it came from, and its words (read and counted in one streaming pass)."""
from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from explorer.data.errors import CorpusError
from explorer.data.textfile import TextStream
from explorer.data.tokenize import WordStream

DEFAULT_MAX_WORDS = 20_000_000  # words read from a file unless told otherwise (the 11.5 M-word bench corpus fits)
MAX_WORDS_LIMIT = 50_000_000  # the most words a corpus may have (about 550 MB of ids and text in memory)
BYTES_PER_WORD_IN_MEMORY = 11  # a word kept costs its int32 id (with room to grow) and about six characters of text
# Bytes read and tokenised at a time: the pattern that finds words holds the GIL for a whole piece, about 7 ms for
# 128 KiB (55 ms for 1 MiB, long enough to stall the UI), and smaller pieces read no slower.
CHUNK_BYTES = 1 << 17

_JOIN_LOCK = threading.Lock()


@dataclass(frozen=True, init=False, eq=False)
class Corpus:
    """A text to train on, with its source, reading notes, and (for synthetic corpora) known structure.

    `word_ids` (int32) and `vocabulary` (distinct words by id, in order of first occurrence) are the words; `words`
    spells them out as a list of str. A corpus read from a file has them from the read and keeps its text in pieces,
    joined on the first use of `text`. `complete` is False when a word budget cut the source short; then
    `words_in_source` estimates how many words the whole source holds.
    """

    # init=False: the constructor below takes the text too, so dataclasses.replace() refuses rather than drop it
    name: str = field(init=False)
    source: str = field(init=False)
    notes: tuple[str, ...] = field(init=False, default=())
    word_classes: Mapping[str, str] | None = field(init=False, default=None, repr=False)  # word -> class
    analogies: tuple[tuple[str, str, str, str], ...] = field(init=False, default=(), repr=False)  # a:b :: c:d
    complete: bool = field(init=False, default=True)
    words_in_source: int | None = field(init=False, default=None)

    def __init__(self, name: str, text: str = "", source: str = "", notes: tuple[str, ...] = (),
                 word_classes: Mapping[str, str] | None = None,
                 analogies: tuple[tuple[str, str, str, str], ...] = (), *,
                 complete: bool = True, words_in_source: int | None = None, read: WordStream | None = None) -> None:
        """A corpus of `text`, or (with `read`, a closed WordStream that kept its text) of what was read."""
        for key, value in (("name", name), ("source", source), ("notes", tuple(notes)),
                           ("word_classes", word_classes), ("analogies", tuple(analogies)), ("complete", complete)):
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_text", None if read is not None else text)
        object.__setattr__(self, "_parts", read.parts if read is not None else None)
        if read is not None:
            ids = read.word_ids
            ids.setflags(write=False)
            self.__dict__["word_ids"] = ids
            self.__dict__["vocabulary"] = read.vocabulary
        object.__setattr__(self, "words_in_source", words_in_source)

    @property
    def text(self) -> str:
        """The corpus's text (for a corpus read from a file: up to the end of its last word kept)."""
        text = self.__dict__["_text"]
        if text is None:
            with _JOIN_LOCK:  # join once, then drop the pieces: the text is never held twice for long
                text = self.__dict__["_text"]
                if text is None:
                    text = "".join(self.__dict__["_parts"])
                    object.__setattr__(self, "_text", text)
                    object.__setattr__(self, "_parts", None)
        return text

    @functools.cached_property
    def _tokens(self) -> WordStream:
        stream = WordStream(keep_text=False)
        words = self.__dict__.get("words")
        if words is not None:  # a corpus whose word list was put in place by hand (benchmarks do)
            stream.add_tokens(list(words))
        else:
            stream.feed(self.text)
        stream.close()
        return stream

    @functools.cached_property
    def word_ids(self) -> np.ndarray:
        """The corpus's words as ids into `vocabulary` (int32, read-only), in order."""
        ids = self._tokens.word_ids
        ids.setflags(write=False)
        return ids

    @functools.cached_property
    def vocabulary(self) -> tuple[str, ...]:
        """The distinct lower-cased words, by id (in order of first occurrence)."""
        return self._tokens.vocabulary

    @functools.cached_property
    def words(self) -> list[str]:
        """The corpus's lower-cased words, in order (a list of str: word_ids take far less memory)."""
        if not len(self.word_ids):
            return []
        return np.array(self.vocabulary, dtype=object)[self.word_ids].tolist()

    @property
    def n_words(self) -> int:
        """How many words the corpus has."""
        return len(self.word_ids)

    @property
    def n_chars(self) -> int:
        """How many characters the corpus has."""
        text = self.__dict__["_text"]
        return len(text) if text is not None else sum(map(len, self.__dict__["_parts"] or ()))


def check_max_words(max_words: int | None) -> int:
    """The word budget to use: DEFAULT_MAX_WORDS for None; CorpusError outside 1..MAX_WORDS_LIMIT."""
    if max_words is None:
        return DEFAULT_MAX_WORDS
    if isinstance(max_words, bool) or not isinstance(max_words, (int, np.integer)) or not (
            1 <= max_words <= MAX_WORDS_LIMIT):
        raise CorpusError(f"The word limit must be a whole number from 1 to {MAX_WORDS_LIMIT:,}, not {max_words!r}.")
    return int(max_words)


def budget_note(name: str, n_words: int, max_words: int, used: int, total: int, words_in_file: int,
                what: str = "the file", unit: str = "byte") -> str:
    """The note that says where a word budget cut a source short (at `used` of `total` units), and how to use more."""
    share = used / total if total else 1.0
    more = (f"the limit is already the largest allowed ({MAX_WORDS_LIMIT:,})" if max_words >= MAX_WORDS_LIMIT
            else "raise the limit with --max-words on the command line, or when the app asks on opening a large file")
    return (f"{name}: used the first {n_words:,} words ({share:.0%} of {what}, stopped at about {unit} {used:,} "
            f"of {total:,}); {what} holds about {words_in_file:,} words: {more}.")


def _expected_end(position: int, total: int, n_words: int, max_words: int) -> int:
    """Bytes the read will have taken when it ends: the file size, or less when the budget will stop it first."""
    if n_words <= 0:
        return total
    return int(min(total, max(position, position * max_words / n_words)))


def read_corpus(path: str | os.PathLike, *, name: str | None = None, source: str | None = None,
                progress: Callable[[int, int], None] | None = None, cancel: Callable[[], bool] | None = None,
                max_words: int | None = None, chunk_bytes: int = CHUNK_BYTES, what: str = "the file") -> Corpus:
    """Read, check and tokenise a text file in one streaming pass, keeping at most `max_words` words.

    progress(bytes read, bytes the read will take) follows each piece read and tokenised: the second figure is
    the file size, or an estimate below it when the word budget will end the read early. Memory stays near
    BYTES_PER_WORD_IN_MEMORY per word kept, whatever the file's size.
    """
    budget = check_max_words(max_words)
    p = Path(path)
    label = name or p.name
    words = WordStream(max_words=budget)
    seen_text = False
    with TextStream(p, cancel=cancel, chunk_bytes=chunk_bytes) as stream:
        pieces = stream.pieces()
        try:
            before = (0, 0)  # (bytes read, characters fed) before the current piece
            for piece in pieces:
                seen_text = seen_text or not piece.isspace()
                more = words.feed(piece)
                if progress is not None:
                    progress(stream.position, _expected_end(stream.position, stream.total, words.n_words, budget))
                if not more:
                    break
                before = (stream.position, words.chars_fed)
        finally:
            pieces.close()
        words.close()
        used, total, notes = stream.position, stream.total, list(stream.notes())
        if words.full:  # where in the last piece read the budget ran out, as a share of the bytes it came from
            share = min(1.0, max(0.0, (words.chars_used - before[1]) / max(1, words.chars_fed - before[1])))
            used = before[0] + round(share * (used - before[0]))
    if progress is not None:
        progress(used, used)
    if words.n_words == 0:
        if not seen_text:
            detail = "it contains only whitespace" if stream.n_bytes else "it contains no text"
            raise CorpusError(f"{stream.name} is empty ({detail}): choose a file that contains text.")
        raise CorpusError(f"{stream.name} contains no words (no letters or digits), so there is nothing to train on.")
    estimate = words.n_words
    if words.full:
        estimate = max(words.n_words + 1, round(words.n_words * total / max(used, 1)))
        notes.append(budget_note(label, words.n_words, budget, used, total, estimate, what))
    return Corpus(name=label, source=source or str(p.resolve()), notes=tuple(notes), read=words,
                  complete=not words.full, words_in_source=estimate)


def load_corpus_file(
    path: str | os.PathLike,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    max_words: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Corpus:
    """A corpus read from a user's text file (plain or gzip), its first `max_words` words (DEFAULT_MAX_WORDS for
    None); CorpusError when it cannot be used. See read_corpus for progress."""
    return read_corpus(path, progress=progress, cancel=cancel, max_words=max_words, chunk_bytes=chunk_bytes)


def limit_corpus(corpus: Corpus, max_words: int | None) -> Corpus:
    """`corpus` itself when it has at most `max_words` words, else a corpus of its first `max_words` words."""
    budget = check_max_words(max_words)
    if corpus.n_words <= budget:
        return corpus
    words = WordStream(max_words=budget)
    words.feed(corpus.text)
    words.close()
    size = len(corpus.text)
    used = len("".join(words.parts))
    note = budget_note(corpus.name, words.n_words, budget, used, size, corpus.n_words, "the corpus", "character")
    return Corpus(name=corpus.name, source=corpus.source, notes=(*corpus.notes, note), word_classes=corpus.word_classes,
                  analogies=corpus.analogies, read=words, complete=False, words_in_source=corpus.n_words)


@dataclass(frozen=True)
class FileEstimate:
    """About how many words a text file holds, from its size and a sample of its start."""

    size: int  # bytes on disk
    words: int  # estimated words in the whole file (exact when `exact`)
    exact: bool  # the sample was the whole file

    @property
    def memory_bytes(self) -> int:
        """About the memory the whole file's words would take once read."""
        return self.words * BYTES_PER_WORD_IN_MEMORY


def estimate_file_words(path: str | os.PathLike, sample_bytes: int = 1 << 18) -> FileEstimate | None:
    """About how many words a file holds, from the words in its first `sample_bytes` (after gunzip) and its size.

    Quick (one small read), for deciding whether to ask about a word budget; None when the file cannot be read
    (the read proper says why).
    """
    words = WordStream(keep_text=False)
    try:
        with TextStream(path, chunk_bytes=min(sample_bytes, CHUNK_BYTES)) as stream:
            pieces = stream.pieces()
            try:
                for piece in pieces:
                    words.feed(piece)
                    if stream.n_bytes >= sample_bytes:
                        break
                else:
                    words.close()
                    return FileEstimate(stream.total, words.n_words, True)
            finally:
                pieces.close()
            used, total = stream.position, stream.total
    except (CorpusError, OSError):
        return None
    words.close()
    return FileEstimate(total, round(words.n_words * total / max(used, 1)), False)
