"""Embedding export: word2vec text round trips, projector TSVs read back, malformed files give clear errors."""
from __future__ import annotations

import csv
import gzip

import numpy as np
import pytest

from explorer.data.errors import CorpusError
from explorer.export.vectors import read_word2vec_text, write_projector_tsv, write_word2vec_text

WORDS = ["the", "élan", "new york", "don't"]


def _vectors(n: int = 4, d: int = 5) -> np.ndarray:
    """Random float32 vectors with a wide range of magnitudes."""
    rng = np.random.default_rng(0)
    return (rng.normal(size=(n, d)) * np.logspace(-6, 3, d)).astype(np.float32)


def test_word2vec_text_round_trip_keeps_words_shape_and_values(tmp_path):
    path = tmp_path / "vectors.txt"
    x = _vectors()
    write_word2vec_text(path, WORDS, x)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "4 5"
    assert lines[3].startswith("new_york ") and len(lines[3].split(" ")) == 6  # the space became "_"
    words, back = read_word2vec_text(path)
    assert words == ["the", "élan", "new_york", "don't"]
    assert back.shape == (4, 5) and back.dtype == np.float32
    np.testing.assert_allclose(back, x, rtol=1e-6, atol=1e-12)
    np.testing.assert_array_equal(back, x)  # 9 significant digits reproduce float32 exactly


def test_other_tools_files_load_gzip_glove_and_trailing_spaces(tmp_path):
    c_tool = tmp_path / "c.txt.gz"  # the word2vec C tool ends each line with a space
    c_tool.write_bytes(gzip.compress(b"2 3\ncat 0.1 0.2 0.3 \ndog -1 0 1e-3 \n"))
    words, x = read_word2vec_text(c_tool)
    assert words == ["cat", "dog"]
    np.testing.assert_allclose(x, [[0.1, 0.2, 0.3], [-1, 0, 0.001]], rtol=1e-6)
    glove = tmp_path / "glove.txt"  # no header line
    glove.write_text("cat 0.5 1\ndog 2 3\n")
    assert read_word2vec_text(glove)[1].shape == (2, 2)
    spaced = tmp_path / "spaced.txt"  # another tool kept a space inside a word; blank lines are ignored
    spaced.write_text("2 2\n\nnew york 1 2\nparis\t3 4\n")
    words, x = read_word2vec_text(spaced)
    assert words == ["new york", "paris"] and x.tolist() == [[1, 2], [3, 4]]


@pytest.mark.parametrize("content, message", [
    (None, "No such file"),
    (b"", "empty"),
    (b"\x00\x01\xff\xfe" * 200, "binary"),
    (b"2 3\ncat 0.1 0.2\ndog 1 2 3\n", "line 2: expected a word and 3 numbers, found 2"),
    (b"2 3\ncat 0.1 0.2 zero\ndog 1 2 3\n", "line 2: 'zero' is not a number"),
    (b"3 2\ncat 1 2\ndog 3 4\n", "says it holds 3 vectors but holds 2"),
    (b"2 2\ncat 1 2 3\ndog 3 4\n", "line 2: more than 2 numbers"),
    (b"2 2\n\ncat 1 2\ndog 3 x\n", "line 4: 'x' is not a number"),
    (b"justoneword\n", "not a word-vector file"),
])
def test_malformed_vector_files_raise_corpus_errors(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CorpusError, match=message):
        read_word2vec_text(path)


def test_bad_vectors_are_refused_and_the_old_file_stays(tmp_path):
    path = tmp_path / "vectors.txt"
    write_word2vec_text(path, ["a"], np.ones((1, 2)))
    before = path.read_bytes()
    with pytest.raises(ValueError, match="NaN"):
        write_word2vec_text(path, ["a", "b"], np.array([[1.0, np.nan], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="2 words but 1 vectors"):
        write_word2vec_text(path, ["a", "b"], np.ones((1, 2)))
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.txt"]  # no temporary file left behind


def test_projector_tsvs_with_extra_columns_have_a_metadata_header(tmp_path):
    vec_path, meta_path = tmp_path / "vectors.tsv", tmp_path / "metadata.tsv"
    x = _vectors()
    write_projector_tsv(vec_path, meta_path, WORDS, x,
                        extra_columns={"count": [10, 5, 3, 1], "class": ["", "noun", "place\tname", "verb"]})
    np.testing.assert_array_equal(np.loadtxt(vec_path, delimiter="\t", dtype=np.float32), x)
    assert "\t" in vec_path.read_text().splitlines()[0] and not vec_path.read_text().startswith("word")
    with open(meta_path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    assert rows[0] == ["word", "count", "class"]
    assert rows[1:] == [["the", "10", ""], ["élan", "5", "noun"], ["new york", "3", "place name"],
                        ["don't", "1", "verb"]]


def test_projector_metadata_with_one_column_is_the_bare_words(tmp_path):
    vec_path, meta_path = tmp_path / "v.tsv", tmp_path / "m.tsv"
    write_projector_tsv(vec_path, meta_path, WORDS, _vectors())
    assert meta_path.read_text(encoding="utf-8").split("\n") == [*WORDS, ""]
    assert len(vec_path.read_text().splitlines()) == 4
    with pytest.raises(ValueError, match="column 'count' has 2 values for 4 words"):
        write_projector_tsv(vec_path, meta_path, WORDS, _vectors(), extra_columns={"count": [1, 2]})
