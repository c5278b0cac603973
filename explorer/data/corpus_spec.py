"""Corpus specs: how a config names its corpus, 'builtin:<name>' or the path of a text file."""
from __future__ import annotations

from collections.abc import Callable

from explorer.data.builtin import load_builtin
from explorer.data.corpus import Corpus, load_corpus_file

BUILTIN_PREFIX = "builtin:"


def load_corpus_spec(spec: str, cancelled: Callable[[], bool] = lambda: False) -> Corpus:
    """A corpus from 'builtin:<name>' or a file path."""
    if spec.startswith(BUILTIN_PREFIX):
        return load_builtin(spec[len(BUILTIN_PREFIX):], cancel=cancelled)
    return load_corpus_file(spec, cancel=cancelled)
