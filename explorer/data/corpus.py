"""A corpus: a named text with where it came from, and its words."""
from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from explorer.data.errors import CorpusError
from explorer.data.textfile import read_text_file
from explorer.data.tokenize import has_words, word_tokens


@dataclass(frozen=True)
class Corpus:
    """A text to train on, with its source, reading notes, and (for synthetic corpora) known structure."""

    name: str
    text: str = field(repr=False)
    source: str
    notes: tuple[str, ...] = ()
    word_classes: Mapping[str, str] | None = field(default=None, compare=False, repr=False)  # word -> class
    analogies: tuple[tuple[str, str, str, str], ...] = field(default=(), repr=False)  # a:b :: c:d

    @functools.cached_property
    def words(self) -> list[str]:
        """The corpus's lower-cased words, in order."""
        return word_tokens(self.text)

    @functools.cached_property
    def n_words(self) -> int:
        """How many words the corpus has."""
        return len(self.words)

    @functools.cached_property
    def n_chars(self) -> int:
        """How many characters the corpus has."""
        return len(self.text)


def load_corpus_file(
    path: str | os.PathLike,
    progress: Callable[[int, int], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Corpus:
    """A corpus read from a user's text file (plain or gzip); CorpusError when it cannot be used."""
    read = read_text_file(path, progress=progress, cancel=cancel)
    name = Path(path).name
    if not has_words(read.text):
        raise CorpusError(f"{name} contains no words (no letters or digits), so there is nothing to train on.")
    return Corpus(name=name, text=read.text, source=str(Path(path).resolve()), notes=read.notes)
