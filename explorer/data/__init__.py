"""Corpora, tokenizers and vocabularies: pure Python and numpy, no Qt and no torch."""
from explorer.data.builtin import BUILTIN_CORPORA, load_builtin
from explorer.data.corpus import Corpus, load_corpus_file
from explorer.data.corpus_spec import load_corpus_spec
from explorer.data.errors import Cancelled, CorpusError
from explorer.data.synthetic import make_synthetic_corpus
from explorer.data.textfile import TextRead, read_text_file
from explorer.data.tokenize import CharTokenizer, word_tokens
from explorer.data.vocab import Vocab, check_vocab_fits, check_window_fits

__all__ = [
    "BUILTIN_CORPORA",
    "Cancelled",
    "CharTokenizer",
    "Corpus",
    "CorpusError",
    "TextRead",
    "Vocab",
    "check_vocab_fits",
    "check_window_fits",
    "load_builtin",
    "load_corpus_file",
    "load_corpus_spec",
    "make_synthetic_corpus",
    "read_text_file",
    "word_tokens",
]
