"""Corpus specs: how a config names its corpus, 'builtin:<name>' or the path of a text file."""
from __future__ import annotations

from collections.abc import Callable

from explorer.data.builtin import load_builtin
from explorer.data.corpus import Corpus, load_corpus_file

BUILTIN_PREFIX = "builtin:"


def load_corpus_spec(spec: str, cancelled: Callable[[], bool] = lambda: False, max_words: int | None = None,
                     progress: Callable[[int, int], None] | None = None) -> Corpus:
    """A corpus from 'builtin:<name>' or a file path, its first `max_words` words (DEFAULT_MAX_WORDS for None).

    progress(done, total) follows the read (see explorer.data.corpus.read_corpus); CorpusError when it cannot be used.
    """
    if spec.startswith(BUILTIN_PREFIX):
        return load_builtin(spec[len(BUILTIN_PREFIX):], progress=progress, cancel=cancelled, max_words=max_words)
    return load_corpus_file(spec, progress=progress, cancel=cancelled, max_words=max_words)
