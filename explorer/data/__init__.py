"""Corpora, tokenizers and vocabularies: pure Python and numpy, no Qt and no torch."""
from explorer.data.builtin import BUILTIN_CORPORA, load_builtin
from explorer.data.corpus import (
    DEFAULT_MAX_WORDS,
    MAX_WORDS_LIMIT,
    Corpus,
    FileEstimate,
    estimate_file_words,
    limit_corpus,
    load_corpus_file,
    read_corpus,
)
from explorer.data.corpus_spec import load_corpus_spec
from explorer.data.errors import Cancelled, CorpusError
from explorer.data.synthetic import make_synthetic_corpus
from explorer.data.textfile import TextRead, read_text_file
from explorer.data.tokenize import CharTokenizer, word_tokens
from explorer.data.vocab import Vocab, check_vocab_fits, check_window_fits

__all__ = [
    "BUILTIN_CORPORA",
    "DEFAULT_MAX_WORDS",
    "MAX_WORDS_LIMIT",
    "Cancelled",
    "CharTokenizer",
    "Corpus",
    "CorpusError",
    "FileEstimate",
    "TextRead",
    "Vocab",
    "check_vocab_fits",
    "check_window_fits",
    "estimate_file_words",
    "limit_corpus",
    "load_builtin",
    "load_corpus_file",
    "load_corpus_spec",
    "make_synthetic_corpus",
    "read_corpus",
    "read_text_file",
    "word_tokens",
]
