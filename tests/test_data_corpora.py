"""The corpora: user files, Jane Austen, the standard library's docstrings, and the synthetic corpus."""
from __future__ import annotations

import dataclasses
import gzip
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from explorer.data import builtin
from explorer.data.builtin import BUILTIN_CORPORA, load_builtin, stdlib_cache_path
from explorer.data.corpus import Corpus, load_corpus_file
from explorer.data.errors import Cancelled, CorpusError
from explorer.data.synthetic import make_synthetic_corpus
from explorer.data.vocab import Vocab, check_vocab_fits, check_window_fits


def test_corpus_words_and_counts():
    corpus = Corpus(name="tiny", text="Hello, world! Don't panic.", source="typed")
    assert corpus.words == ["hello", "world", "don't", "panic"]
    assert corpus.n_words == 4 and corpus.n_chars == 26
    assert "Hello" not in repr(corpus)  # the text itself is left out of the repr
    with pytest.raises(dataclasses.FrozenInstanceError):
        corpus.name = "other"


def test_user_file_becomes_a_corpus_with_its_notes(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes("Un café, s'il vous plaît.\n".encode("latin-1"))
    corpus = load_corpus_file(path)
    assert corpus.name == "notes.txt" and str(path.name) in corpus.source
    assert corpus.words == ["un", "caf", "s'il", "vous", "pla", "t"]
    assert any("2 bytes were not valid UTF-8" in note for note in corpus.notes)


def test_user_file_without_words_is_refused(tmp_path):
    path = tmp_path / "dots.txt"
    path.write_text("... --- !!! ???\n")
    with pytest.raises(CorpusError, match=r"dots\.txt contains no words"):
        load_corpus_file(path)


def test_a_tiny_corpus_is_too_small_for_a_big_window_or_min_count(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("the cat sat\n")
    corpus = load_corpus_file(path)
    with pytest.raises(CorpusError, match="only 3 words"):
        check_window_fits(corpus.n_words, window=2)
    with pytest.raises(CorpusError, match="No word occurs at least 5 times"):
        Vocab.build(corpus.words, min_count=5)
    with pytest.raises(CorpusError, match="at least 5 distinct words"):
        check_vocab_fits(len(Vocab.build(corpus.words)), needed=5)


def test_austen_is_the_six_novels():
    calls = []
    corpus = load_builtin("austen", progress=lambda done, total: calls.append((done, total)))
    assert corpus.name == BUILTIN_CORPORA["austen"] == "Jane Austen's six novels"
    assert "public domain" in corpus.source and "janeaustenr" in corpus.source
    # 729,127 is the reference count; word_tokens finds 725,089 (whitespace splitting 717,537).
    assert corpus.n_words == pytest.approx(729_127, rel=0.02)
    assert corpus.words[:4] == ["emma", "by", "jane", "austen"]
    counts = Counter(corpus.words)
    assert counts["elizabeth"] > 500 and counts["anne"] > 400 and counts["emma"] > 700
    assert calls[-1][0] == calls[-1][1]


def test_stdlib_docstrings_are_gathered_once_then_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("SME_CACHE_DIR", str(tmp_path))
    calls = []
    first = load_builtin("stdlib", progress=lambda done, total: calls.append((done, total)))
    assert first.name == "Python standard library docstrings"
    assert "JSON (JavaScript Object Notation)" in first.text  # json's module docstring
    assert 100_000 < first.n_words < 1_000_000
    assert calls and calls[-1][0] == calls[-1][1] > 100  # one step per source file
    assert stdlib_cache_path().is_file() and stdlib_cache_path().parent == tmp_path

    def must_not_gather(*args, **kwargs):
        raise AssertionError("the standard library was gathered again instead of read from the cache")

    monkeypatch.setattr(builtin, "gather_stdlib_docstrings", must_not_gather)
    second = load_builtin("stdlib")
    assert second.text == first.text


def test_damaged_stdlib_cache_is_gathered_again(tmp_path, monkeypatch):
    monkeypatch.setenv("SME_CACHE_DIR", str(tmp_path))
    stdlib_cache_path().write_bytes(b"\x1f\x8bnot gzip at all")
    monkeypatch.setattr(builtin, "gather_stdlib_docstrings", lambda progress, cancel: "Return the answer.\n")
    assert load_builtin("stdlib").text == "Return the answer.\n"
    assert gzip.decompress(stdlib_cache_path().read_bytes()) == b"Return the answer.\n"


def test_cancelled_stdlib_gathering_leaves_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SME_CACHE_DIR", str(tmp_path))
    with pytest.raises(Cancelled):
        load_builtin("stdlib", cancel=lambda: True)
    assert not stdlib_cache_path().exists()


def test_unknown_builtin_lists_the_valid_ones():
    with pytest.raises(CorpusError) as err:
        load_builtin("shakespeare")
    assert "'shakespeare'" in str(err.value)
    assert all(key in str(err.value) for key in ("austen", "stdlib", "synthetic"))


def test_synthetic_corpus_has_known_classes_and_analogies():
    corpus = load_builtin("synthetic")
    assert corpus.name == "Synthetic (known structure)"
    classes: dict[str, list[str]] = {}
    for word, cls in corpus.word_classes.items():
        classes.setdefault(cls, []).append(word)
    assert 8 <= len(classes) <= 12
    assert all(6 <= len(words) <= 12 for words in classes.values())
    occurring = set(corpus.words)
    assert set(corpus.word_classes) <= occurring
    assert len(corpus.analogies) >= 100
    for a, b, c, d in corpus.analogies:
        assert {a, b, c, d} <= occurring
        assert corpus.word_classes[a] == corpus.word_classes[c] != corpus.word_classes[b] == corpus.word_classes[d]
    assert ("paris", "france", "rome", "italy") in corpus.analogies
    assert ("king", "queen", "man", "woman") in corpus.analogies
    assert corpus.text.count("\n") == 20_000


def test_synthetic_corpus_is_deterministic_by_seed():
    assert make_synthetic_corpus(500, seed=1).text == make_synthetic_corpus(500, seed=1).text
    assert make_synthetic_corpus(500, seed=1).text != make_synthetic_corpus(500, seed=2).text


def _ppmi_svd_vectors(corpus: Corpus, window: int, dim: int) -> tuple[Vocab, np.ndarray]:
    """Unit word vectors from a truncated SVD of the corpus's positive PMI co-occurrence matrix."""
    vocab = Vocab.build(corpus.words)
    ids = vocab.encode(corpus.words)
    counts = np.zeros((len(vocab), len(vocab)))
    for d in range(1, window + 1):
        np.add.at(counts, (ids[:-d], ids[d:]), 1.0)
        np.add.at(counts, (ids[d:], ids[:-d]), 1.0)
    expected = counts.sum(1, keepdims=True) * counts.sum(0, keepdims=True) / counts.sum()
    with np.errstate(divide="ignore"):
        ppmi = np.maximum(np.log(counts / expected), 0.0)
    u, s, _ = np.linalg.svd(ppmi)
    vectors = u[:, :dim] * np.sqrt(s[:dim])
    return vocab, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_synthetic_structure_is_recoverable_from_co_occurrences():
    corpus = make_synthetic_corpus()
    vocab, vectors = _ppmi_svd_vectors(corpus, window=2, dim=50)
    solved = 0
    for a, b, c, d in corpus.analogies:
        scores = vectors @ (vectors[vocab.index[b]] - vectors[vocab.index[a]] + vectors[vocab.index[c]])
        scores[[vocab.index[a], vocab.index[b], vocab.index[c]]] = -np.inf
        solved += vocab.words[int(np.argmax(scores))] == d
    assert solved / len(corpus.analogies) > 0.9

    vocab, vectors = _ppmi_svd_vectors(corpus, window=2, dim=20)
    same_class = 0
    for word, cls in corpus.word_classes.items():
        scores = vectors @ vectors[vocab.index[word]]
        scores[vocab.index[word]] = -np.inf
        same_class += corpus.word_classes.get(vocab.words[int(np.argmax(scores))]) == cls
    assert same_class / len(corpus.word_classes) > 0.9


def test_data_layer_imports_neither_qt_nor_torch():
    code = (
        "import sys, explorer.data as d; d.make_synthetic_corpus(100).words; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'PySide6', 'pyqtgraph', 'superqt', 'qtpy')))"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"
