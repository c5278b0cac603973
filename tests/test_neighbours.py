"""Neighbours, analogies, pair axes, class scores and benchmark files, on vectors whose answers are known."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.analysis.evaluation import (
    NO_SECTION,
    analogy_accuracy,
    read_analogy_file,
    read_similarity_file,
    similarity_spearman,
)
from explorer.analysis.neighbours import (
    analogy,
    class_separation,
    nearest,
    nearest_to_vector,
    neighbour_purity,
    normalise,
    pair_axes,
)
from explorer.data.errors import CorpusError

# 2-D "words" at known angles: 0 east, 1 north-east, 2 north, 3 west, 4 zero
COMPASS = np.array([[2.0, 0.0], [1.0, 1.0], [0.0, 3.0], [-1.0, 0.0], [0.0, 0.0]])

# king - man + woman = queen exactly: gender on axis 0, royal on axis 1, common on axis 2, all of one length
WORDS = ["man", "woman", "king", "queen", "apple"]
GENDERED = np.array([
    [1.0, 0.0, 1.0],   # man
    [-1.0, 0.0, 1.0],  # woman
    [1.0, 1.0, 0.0],   # king
    [-1.0, 1.0, 0.0],  # queen
    [0.0, -1.0, 3.0],  # apple
])
INDEX = {w: i for i, w in enumerate(WORDS)}


def test_normalise_makes_unit_rows_and_keeps_zero_rows_zero():
    unit = normalise(COMPASS)
    assert unit.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), [1, 1, 1, 1, 0], atol=1e-6)
    np.testing.assert_allclose(unit[1], [np.sqrt(0.5), np.sqrt(0.5)], atol=1e-6)


def test_nearest_ranks_by_cosine_and_leaves_out_the_word_itself():
    result = nearest(COMPASS, 0, k=10)
    assert [i for i, _ in result] == [1, 2, 4, 3]  # 45 degrees, 90, the zero vector (cos 0), 180
    np.testing.assert_allclose([s for _, s in result], [np.sqrt(0.5), 0, 0, -1], atol=1e-6)
    assert [i for i, _ in nearest(COMPASS, 0, k=2, exclude=[1])] == [2, 4]
    with pytest.raises(IndexError):
        nearest(COMPASS, 9)


def test_nearest_to_a_vector_finds_the_word_pointing_its_way():
    assert nearest_to_vector(COMPASS, np.array([0.1, 5.0]), k=1)[0][0] == 2
    assert nearest_to_vector(COMPASS, np.array([-3.0, 0.0]), k=1, exclude=[3])[0][0] == 2  # then 90 degrees


def test_analogy_king_minus_man_plus_woman_is_queen():
    answer = analogy(GENDERED, INDEX["king"], INDEX["man"], INDEX["woman"], k=2)
    assert WORDS[answer[0][0]] == "queen"
    assert answer[0][1] == pytest.approx(1.0, abs=1e-6)
    assert {i for i, _ in answer} <= {INDEX["queen"], INDEX["apple"]}  # the question's words are left out


def test_pair_axes_place_words_on_orthogonalised_difference_directions():
    x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 1.0, 1.0]])
    coords = pair_axes(x, (0, 1), (0, 2))
    assert coords.shape == (4, 2) and coords.dtype == np.float32
    a1 = np.array([-1.0, 1.0, 0.0]) / np.sqrt(2)  # from word 0 to word 1
    a2 = np.array([-0.5, -0.5, 1.0]) / np.sqrt(1.5)  # (-1, 0, 1) less its part along a1
    np.testing.assert_allclose(coords, normalise(x) @ np.stack([a1, a2], axis=1), atol=1e-6)
    assert coords[1, 0] > coords[0, 0] and coords[2, 1] > coords[0, 1]  # second of each pair is further along
    with pytest.raises(ValueError, match="parallel"):
        pair_axes(x, (0, 1), (1, 0))


def test_class_scores_of_two_clean_clusters_and_of_mixed_labels():
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    x = np.vstack([centres[0] + rng.normal(size=(10, 3)) * 0.3, centres[1] + rng.normal(size=(10, 3)) * 0.3,
                   rng.normal(size=(3, 3))])
    labels = ["a"] * 10 + ["b"] * 10 + ["", "", ""]
    assert neighbour_purity(x, labels, k=5) == 1.0
    separation = class_separation(x, labels)
    unit = normalise(x[:20]).astype(np.float64)
    sims = unit @ unit.T
    same = np.equal.outer(labels[:20], labels[:20])
    off = ~np.eye(20, dtype=bool)
    assert separation == pytest.approx(sims[same & off].mean() - sims[~same].mean(), abs=1e-6)
    assert separation > 0.8
    mixed = ["a", "b"] * 10 + ["", "", ""]
    assert neighbour_purity(x, mixed, k=5) < 0.6 and abs(class_separation(x, mixed)) < 0.1
    with pytest.raises(ValueError):
        class_separation(x, ["a"] * 23)


def test_similarity_file_is_read_with_header_comments_and_bad_lines_skipped(tmp_path):
    path = tmp_path / "ratings.tsv"
    path.write_text(
        "Word 1\tWord 2\tHuman (mean)\n# a comment\nMan\tWoman\t8.0\nking queen 7.5\nking apple\n"
        "queen\tapple\t1.0\nman\tzebra\t5\n\n"
    )
    pairs = read_similarity_file(path)
    assert pairs == [("man", "woman", 8.0), ("king", "queen", 7.5), ("queen", "apple", 1.0), ("man", "zebra", 5.0)]
    assert pairs.n_skipped == 3
    simlex = tmp_path / "simlex.txt"
    simlex.write_text("word1\tword2\tPOS\tSimLex999\nold\tnew\tA\t1.58\t2.72\n")
    assert read_similarity_file(simlex) == [("old", "new", 1.58)]


def test_spearman_follows_the_order_the_vectors_were_built_with(tmp_path):
    angles = np.array([0.0, 0.2, 0.6, 1.2, 2.0])  # word i is at this angle: cosines with word 0 fall with i
    x = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    index = {f"w{i}": i for i in range(5)}
    path = tmp_path / "sim.txt"
    path.write_text("w0 w1 9\nw0 w2 7\nw0 w3 4\nw0 w4 1\nw0 nope 3\n")
    assert similarity_spearman(x, index, read_similarity_file(path)) == (pytest.approx(1.0), 4, 1)
    reverse = [(a, b, -s) for a, b, s in read_similarity_file(path)]
    assert similarity_spearman(x, index, reverse)[0] == pytest.approx(-1.0)
    rho, used, missing = similarity_spearman(x, index, [("w0", "w1", 1.0), ("x", "y", 2.0)])
    assert np.isnan(rho) and (used, missing) == (1, 1)


def test_questions_words_file_is_read_by_section_and_scored(tmp_path):
    path = tmp_path / "questions-words.txt"
    path.write_text(
        "// copied from the standard file\nMan Woman King Queen\n: family\nman woman king queen\n"
        "woman man queen king\nman woman apple zebra\nbroken line\n: empty\n: royalty\nking queen man woman\n"
    )
    sections = read_analogy_file(path)
    assert list(sections) == [NO_SECTION, "family", "royalty"]
    assert sections[NO_SECTION] == [("man", "woman", "king", "queen")]
    assert len(sections["family"]) == 3 and sections.n_skipped == 2
    accuracy, used, missing = analogy_accuracy(GENDERED, INDEX, sections)
    assert (accuracy, used, missing) == (1.0, 4, 1)  # woman - man + king = queen, and so on
    assert analogy_accuracy(GENDERED, INDEX, [("man", "woman", "king", "apple")])[0] == 0.0


@pytest.mark.parametrize("content, message", [
    (None, "No such file"),
    (b"", "empty"),
    (b"\x00\x01\x02\x03" * 100, "binary"),
    (b"just some words\nno numbers here\n", "no"),
])
def test_bad_benchmark_files_raise_corpus_errors(tmp_path, content, message):
    path = tmp_path / "bench.txt"
    if content is not None:
        path.write_bytes(content)
    for reader in (read_similarity_file, read_analogy_file):
        with pytest.raises(CorpusError, match=message):
            reader(path)


def test_purity_by_frequency_splits_words_by_count_and_scores_each_group():
    from explorer.analysis.neighbours import purity_by_frequency

    # classes a and b: the frequent words sit in tight class clusters, the rare ones are scrambled
    rng = np.random.default_rng(0)
    centres = {"a": np.array([1.0, 0, 0]), "b": np.array([0, 1.0, 0])}
    labels = ["a", "b"] * 6 + [""]
    counts = np.array([100] * 6 + [1] * 6 + [50])
    vecs = []
    for i, label in enumerate(labels):
        if label and counts[i] == 100:
            vecs.append(centres[label] + 0.01 * rng.normal(size=3))
        else:
            vecs.append(rng.normal(size=3))
    ranges, purity, sizes = purity_by_frequency(np.array(vecs), labels, counts, bins=2, k=2)
    assert ranges == [(1, 1), (100, 100)] and list(sizes) == [6, 6]
    assert purity[1] == 1.0  # each frequent word's 2 nearest are the 2 other frequent words of its class
    assert purity[0] < purity[1]
