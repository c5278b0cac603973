"""Co-occurrence counts, PPMI and truncated SVD against hand computations, and count vectors that find structure."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence

from explorer.analysis import cooccurrence as cooc
from explorer.analysis.cooccurrence import DENSE_SVD_LIMIT, cooccurrence_matrix, ppmi, top_block, truncated_svd
from explorer.analysis.embedding_cost import TRUNCATED_SVD, svd_times
from explorer.analysis.evaluation import analogy_accuracy
from explorer.analysis.neighbours import class_separation, nearest, neighbour_purity
from explorer.data.synthetic import CAPITALS, make_synthetic_corpus
from explorer.data.vocab import Vocab

IDS = np.array([0, 1, 2, 0, 1])  # "a b c a b"


def test_window_one_counts_each_neighbour_pair_both_ways():
    # pairs at distance 1: (a,b) (b,c) (c,a) (a,b)
    expected = [[0, 2, 1],
                [2, 0, 1],
                [1, 1, 0]]
    m = cooccurrence_matrix(IDS, 3, window=1)
    assert isinstance(m, sp.csr_matrix) and m.dtype == np.float64
    np.testing.assert_array_equal(m.toarray(), expected)


def test_window_two_adds_the_pairs_at_distance_two():
    # distance 2 adds (a,c) (b,a) (c,b)
    expected = [[0, 3, 2],
                [3, 0, 2],
                [2, 2, 0]]
    np.testing.assert_array_equal(cooccurrence_matrix(IDS, 3, window=2).toarray(), expected)


def test_distance_weighting_counts_a_pair_at_distance_d_as_one_over_d():
    expected = [[0, 2.5, 1.5],
                [2.5, 0, 1.5],
                [1.5, 1.5, 0]]
    np.testing.assert_allclose(cooccurrence_matrix(IDS, 3, window=2, distance_weighting=True).toarray(), expected)


def test_a_word_next_to_itself_counts_twice_on_the_diagonal_and_unknown_words_make_no_pairs():
    np.testing.assert_array_equal(cooccurrence_matrix(np.array([1, 1]), 2, window=1).toarray(), [[0, 0], [0, 2]])
    m = cooccurrence_matrix(np.array([0, -1, 1]), 2, window=2)  # the unknown word keeps 0 and 1 two apart
    np.testing.assert_array_equal(m.toarray(), [[0, 1], [1, 0]])


def test_random_text_gives_a_symmetric_matrix_with_every_pair_counted():
    ids = np.random.default_rng(0).integers(0, 50, size=5000)
    m = cooccurrence_matrix(ids, 60, window=4)
    assert m.shape == (60, 60)
    assert abs(m - m.T).max() == 0
    assert m.sum() == 2 * sum(5000 - o for o in range(1, 5))
    assert m[50:].nnz == 0  # ids that never occur have empty rows


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="window"):
        cooccurrence_matrix(IDS, 3, window=0)
    with pytest.raises(ValueError, match="out of range"):
        cooccurrence_matrix(IDS, 2, window=1)
    assert cooccurrence_matrix(np.array([], dtype=np.int32), 3, window=2).nnz == 0


def test_ppmi_matches_a_hand_computation():
    counts = np.array([[4.0, 1.0, 1.0],
                       [1.0, 0.0, 2.0],
                       [1.0, 2.0, 0.0]])
    # N = 12, row and column sums 6, 3, 3: PMI(w, c) = log(C * N / (row_w * col_c))
    expected = np.array([[np.log(4 * 12 / 36), 0.0, 0.0],  # log(2/3) < 0 is clipped
                         [0.0, 0.0, np.log(2 * 12 / 9)],
                         [0.0, np.log(2 * 12 / 9), 0.0]])
    result = ppmi(sp.csr_matrix(counts), alpha=1.0)
    np.testing.assert_allclose(result.toarray(), expected)
    assert result.nnz == 3  # clipped entries are not stored


def test_ppmi_smooths_the_context_distribution():
    counts = np.array([[4.0, 1.0, 1.0], [1.0, 0.0, 2.0], [1.0, 2.0, 0.0]])
    p_context = np.array([6.0, 3.0, 3.0]) ** 0.75
    p_context /= p_context.sum()
    with np.errstate(divide="ignore"):
        pmi = np.log(counts / 12 / (np.array([6.0, 3.0, 3.0])[:, None] / 12) / p_context[None, :])
    expected = np.where(counts > 0, np.maximum(pmi, 0), 0)
    np.testing.assert_allclose(ppmi(counts, alpha=0.75).toarray(), expected)


def _sparse_random(n: int, seed: int) -> sp.csr_matrix:
    """A random symmetric non-negative sparse matrix."""
    m = sp.random(n, n, density=0.05, random_state=seed, format="csr")
    return (m + m.T).tocsr()


@pytest.mark.parametrize("n", [6, DENSE_SVD_LIMIT + 50])
def test_truncated_svd_has_the_dense_svds_top_singular_values(n):
    m = _sparse_random(n, seed=n)
    dense = np.linalg.svd(m.toarray(), compute_uv=False)
    result = truncated_svd(m, dim=4, seed=1)
    np.testing.assert_allclose(result.singular_values, dense[:4], rtol=1e-8)
    assert np.all(np.diff(result.singular_values) <= 0)
    np.testing.assert_allclose(result.explained_ratio, dense[:4] ** 2 / (dense**2).sum(), rtol=1e-8)
    assert 0 < result.total_explained <= 1
    assert result.vectors.shape == (n, 4) and result.vectors.dtype == np.float32
    # U sqrt(S) V^T-ish check: vectors * sqrt(S) times V^T rebuild the rank-4 approximation
    approx = (result.vectors * np.sqrt(result.singular_values)) @ result.components
    u, s, vt = np.linalg.svd(m.toarray())
    np.testing.assert_allclose(approx, (u[:, :4] * s[:4]) @ vt[:4], atol=1e-5)


def test_truncated_svd_is_reproducible_and_sign_fixed():
    m = _sparse_random(DENSE_SVD_LIMIT + 30, seed=3)
    a, b = truncated_svd(m, dim=5, seed=0), truncated_svd(m, dim=5, seed=7)
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-5)  # another start vector, the same answer
    biggest = np.abs(a.vectors).argmax(axis=0)
    assert np.all(a.vectors[biggest, np.arange(5)] > 0)


def test_randomized_svd_approximates_the_exact_one():
    m = _sparse_random(DENSE_SVD_LIMIT + 50, seed=5)
    exact = truncated_svd(m, dim=3)
    fast = truncated_svd(m, dim=3, method="randomized")
    np.testing.assert_allclose(fast.singular_values, exact.singular_values, rtol=0.05)
    with pytest.raises(ValueError, match="method"):
        truncated_svd(m, dim=3, method="dense")


def test_top_block_is_the_dense_corner_of_the_most_frequent_words():
    m = cooccurrence_matrix(IDS, 3, window=2)
    block = top_block(m, 2)
    assert block.dtype == np.float32 and block.flags.c_contiguous
    np.testing.assert_array_equal(block, [[0, 3], [3, 0]])
    assert top_block(m, 10).shape == (3, 3)


def test_ppmi_svd_vectors_recover_the_synthetic_corpus_structure():
    corpus = make_synthetic_corpus(n_sentences=5000, seed=0)
    vocab = Vocab.build(corpus.words)
    ids = vocab.encode(corpus.words)
    vectors = truncated_svd(ppmi(cooccurrence_matrix(ids, len(vocab), window=5)), dim=50).vectors
    labels = [corpus.word_classes.get(w, "") for w in vocab.words]
    # measured with seeds 0-5: purity 0.96-0.98, separation 0.61-0.63, capital:country 0.91-1.0
    assert neighbour_purity(vectors, labels, k=5) > 0.8
    assert class_separation(vectors, labels) > 0.3
    capitals = {capital for capital, _, _ in CAPITALS}
    questions = [q for q in corpus.analogies if q[0] in capitals]
    accuracy, used, missing = analogy_accuracy(vectors, vocab.index, questions)
    assert (used, missing) == (56, 0) and accuracy >= 0.8
    overall, _, _ = analogy_accuracy(vectors, vocab.index, corpus.analogies)
    assert overall >= 0.8
    assert vocab.words[nearest(vectors, vocab.index["paris"], k=1)[0][0]] in capitals


def test_propack_gives_arpacks_exact_singular_triplets():
    m = _sparse_random(DENSE_SVD_LIMIT + 40, seed=6)
    arpack = truncated_svd(m, dim=6, method="arpack")
    propack = truncated_svd(m, dim=6, method="propack")
    dense = np.linalg.svd(m.toarray(), compute_uv=False)[:6]
    np.testing.assert_allclose(propack.singular_values, dense, rtol=1e-8)
    np.testing.assert_allclose(np.abs(propack.vectors), np.abs(arpack.vectors), atol=1e-6)


# -- non-square matrices and solvers that fail --------------------------------------------------------------
def _sparse_rect(rows: int, cols: int, seed: int) -> sp.csr_matrix:
    return sp.random(rows, cols, density=0.2, random_state=seed, format="csr")


@pytest.mark.parametrize("method", ["propack", "arpack"])
@pytest.mark.parametrize("shape", [(60, 40), (40, 60)], ids=["tall", "wide"])
def test_sparse_solvers_decompose_tall_and_wide_matrices(monkeypatch, method, shape):
    monkeypatch.setattr(cooc, "DENSE_SVD_LIMIT", 8)  # take the sparse path at a test's size
    m = _sparse_rect(*shape, seed=sum(shape))
    result = truncated_svd(m, dim=5, method=method)
    assert result.solver == method and result.note == ""
    np.testing.assert_allclose(result.singular_values, np.linalg.svd(m.toarray(), compute_uv=False)[:5], rtol=1e-8)
    assert result.vectors.shape == (shape[0], 5) and result.components.shape == (5, shape[1])
    svd_times(m, TRUNCATED_SVD, dim=5, repeats=1)  # the cost measurement decomposes it too


def _failing(solvers: set[str], real):
    def svds(*args, solver="arpack", **kwargs):
        if solver in solvers:
            raise (ArpackNoConvergence("No convergence (41 iterations, 2/5 eigenvectors converged)",
                                       np.zeros(0), np.zeros((0, 0))) if solver == "arpack"
                   else np.linalg.LinAlgError("k=5 singular triplets did not converge within kmax=40 iterations"))
        return real(*args, solver=solver, **kwargs)
    return svds


@pytest.mark.parametrize(("failing", "used"), [({"propack"}, "arpack"), ({"propack", "arpack"}, "dense")])
@pytest.mark.parametrize("shape", [(60, 40), (40, 60)], ids=["tall", "wide"])
def test_a_solver_that_does_not_converge_hands_over_to_the_next(monkeypatch, failing, used, shape):
    import scipy.sparse.linalg as spla

    monkeypatch.setattr(cooc, "DENSE_SVD_LIMIT", 8)
    monkeypatch.setattr(spla, "svds", _failing(failing, spla.svds))
    m = _sparse_rect(*shape, seed=1)
    result = truncated_svd(m, dim=5, method="propack")
    assert result.solver == used
    assert "PROPACK failed (k=5 singular triplets did not converge" in result.note
    assert result.note.endswith(f"{cooc.SOLVER_NAMES[used]} was used instead") and "\n" not in result.note
    assert ("ARPACK failed (ARPACK error -1: No convergence" in result.note) == ("arpack" in failing)
    _, s, vt = np.linalg.svd(m.toarray(), full_matrices=False)
    np.testing.assert_allclose(result.singular_values, s[:5], rtol=1e-8)
    np.testing.assert_allclose(np.abs(result.components), np.abs(vt[:5]), atol=1e-8)


def test_past_the_dense_limit_the_randomized_svd_is_the_last_resort(monkeypatch):
    import scipy.sparse.linalg as spla

    monkeypatch.setattr(cooc, "DENSE_SVD_LIMIT", 8)
    monkeypatch.setattr(cooc, "DENSE_FALLBACK_ENTRIES", 100)
    monkeypatch.setattr(spla, "svds", _failing({"propack", "arpack"}, spla.svds))
    m = _sparse_rect(60, 40, seed=2)
    result = truncated_svd(m, dim=3, method="propack")
    assert result.solver == "randomized" and "the randomized SVD was used instead" in result.note
    np.testing.assert_allclose(result.singular_values, np.linalg.svd(m.toarray(), compute_uv=False)[:3], rtol=0.05)
    monkeypatch.setattr(cooc, "_solve", lambda *a: (_ for _ in ()).throw(np.linalg.LinAlgError("SVD did not converge")))
    with pytest.raises(ValueError, match=r"^The SVD failed: PROPACK failed .*the randomized SVD failed"):
        truncated_svd(m, dim=3, method="propack")


def test_non_finite_results_count_as_a_failure(monkeypatch):
    import scipy.sparse.linalg as spla

    real = spla.svds

    def nan_propack(*args, solver="arpack", **kwargs):
        u, s, vt = real(*args, solver=solver, **kwargs)
        return (u, s * np.nan, vt) if solver == "propack" else (u, s, vt)

    monkeypatch.setattr(cooc, "DENSE_SVD_LIMIT", 8)
    monkeypatch.setattr(spla, "svds", nan_propack)
    result = truncated_svd(_sparse_rect(40, 30, seed=3), dim=4, method="propack")
    assert result.solver == "arpack" and "PROPACK returned non-finite values" in result.note
    assert np.all(np.isfinite(result.singular_values))
