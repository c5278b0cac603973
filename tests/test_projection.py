"""2-D projections: PCA against a hand-made cloud and the SVD, Procrustes undoes a flip, t-SNE keeps its place,
Isomap separates and unrolls, samples are the most frequent words."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.analysis.projection import (
    PROJECTIONS,
    default_sample_size,
    estimated_seconds,
    knn_graph,
    pca_2d,
    pca_2d_torch,
    procrustes_align,
    project,
    sample_indices,
)


def test_pca_finds_the_stretched_directions():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 5)) * np.array([10.0, 0.1, 3.0, 0.1, 0.1])
    coords, ratios = pca_2d(x)
    assert coords.shape == (500, 2) and coords.dtype == np.float32
    assert ratios[0] > ratios[1] > 0.05 and ratios.sum() > 0.99
    assert abs(np.corrcoef(coords[:, 0], x[:, 0])[0, 1]) > 0.99  # PC 1 is the axis stretched by 10
    assert abs(np.corrcoef(coords[:, 1], x[:, 2])[0, 1]) > 0.99


def test_torch_and_numpy_pca_agree_up_to_sign():
    x = np.random.default_rng(1).normal(size=(300, 8)).astype(np.float32) * np.arange(1, 9, dtype=np.float32)
    a, ra = pca_2d(x)
    b, rb = pca_2d_torch(torch.from_numpy(x))
    np.testing.assert_allclose(ra, rb, rtol=1e-4)
    for k in range(2):
        sign = np.sign(a[:, k] @ b[:, k])
        np.testing.assert_allclose(a[:, k], sign * b[:, k], atol=1e-3)


def test_procrustes_undoes_a_rotation_and_a_flip():
    ref = np.random.default_rng(2).normal(size=(100, 2)).astype(np.float32)
    theta = 0.7
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) @ np.diag([1, -1])
    moved = ref @ rot.T
    np.testing.assert_allclose(procrustes_align(moved, ref), ref, atol=1e-5)


# ----------------------------------------------------------------------------- projections on demand


def _clusters(n: int = 300, dim: int = 20, k: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 2
    labels = rng.integers(k, size=n)
    return (centres[labels] + rng.normal(size=(n, dim))).astype(np.float32), labels


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _rms_radius(c: np.ndarray) -> float:
    return float(np.sqrt(np.square(c - c.mean(axis=0)).sum(axis=1).mean()))


def test_the_methods_on_offer():
    assert PROJECTIONS == ("PCA", "t-SNE", "Isomap", "UMAP")  # umap-learn and openTSNE are dependencies
    with pytest.raises(ValueError, match="unknown projection"):
        project("MDS", np.ones((5, 3)))
    with pytest.raises(ValueError, match="no vectors"):
        project("PCA", np.zeros((5, 0), dtype=np.float32))  # an SVD snapshot still counting


def test_samples_are_the_most_frequent_words_exactly():
    counts = np.array([5, 50, 7, 50, 1, 9])
    np.testing.assert_array_equal(sample_indices(counts, 3), [1, 3, 5])  # ties by id
    assert sample_indices(counts, 3).dtype == np.int64
    np.testing.assert_array_equal(sample_indices(counts, 100), [1, 3, 5, 2, 0, 4])
    with pytest.raises(ValueError):
        sample_indices(counts, 0)
    assert default_sample_size("PCA", 50_000) == 50_000  # PCA never samples
    assert default_sample_size("t-SNE", 50_000) == 5000 and default_sample_size("t-SNE", 300) == 300
    assert default_sample_size("Isomap", 50_000) == 5000
    for method in PROJECTIONS:
        assert 0 < estimated_seconds(method, 1000) < estimated_seconds(method, 10_000)


def test_pca_is_the_svd_of_the_centred_unit_vectors():
    x = np.random.default_rng(3).normal(size=(400, 12)).astype(np.float32) * np.linspace(3, 0.2, 12)
    x *= np.random.default_rng(4).uniform(0.1, 10, size=(400, 1)).astype(np.float32)  # lengths must not matter
    result = project("PCA", x)
    assert result.method == "PCA" and result.coords.shape == (400, 2) and result.coords.dtype == np.float32
    np.testing.assert_array_equal(result.indices, np.arange(400))
    assert result.note == "PCA of all 400 words" and result.seconds >= 0
    u = _unit(x.astype(np.float64))
    u -= u.mean(axis=0)
    _, s, vt = np.linalg.svd(u, full_matrices=False)
    expected = u @ vt[:2].T
    for k in range(2):
        sign = np.sign(expected[:, k] @ result.coords[:, k])
        np.testing.assert_allclose(result.coords[:, k], sign * expected[:, k], atol=1e-4)
    np.testing.assert_allclose(result.explained, s[:2] ** 2 / (s**2).sum(), rtol=1e-4)
    torch_coords, torch_ratios = pca_2d_torch(torch.from_numpy(x), normalise=True)
    np.testing.assert_allclose(torch_ratios, result.explained, rtol=1e-4)
    np.testing.assert_allclose(np.abs(torch_coords), np.abs(result.coords), atol=1e-4)


def test_a_rotated_and_reflected_previous_picture_is_followed():
    x, _ = _clusters()
    first = project("PCA", x)
    theta = 2.1
    turn = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) @ np.diag([-1, 1])
    previous = (first.coords @ turn.T + np.array([3.0, -1.0])).astype(np.float32)
    again = project("PCA", x, previous=previous)
    np.testing.assert_allclose(again.coords, previous, atol=1e-4)
    # a sample with a previous picture of every word (NaN where a word was not drawn) is aligned the same way
    part = project("PCA", x, sample=np.arange(100), previous=np.vstack([previous[:50], np.full((250, 2), np.nan)]))
    assert part.coords.shape == (100, 2) and np.isfinite(part.coords).all()
    with pytest.raises(ValueError, match="previous"):
        project("PCA", x, previous=np.zeros((7, 2)))


def test_a_sample_is_what_the_note_says():
    x, _ = _clusters(n=200)
    counts = np.arange(200)[::-1] * 3
    result = project("t-SNE", x, sample=sample_indices(counts, 60), counts=counts)
    assert result.coords.shape == (60, 2) and result.indices.tolist() == list(range(60))
    assert result.note == "t-SNE of the 60 most frequent of 200 words"
    full = result.full_coords()
    assert full.shape == (200, 2) and np.isnan(full[60:]).all() and np.isfinite(full[:60]).all()
    assert project("Isomap", x, sample=np.array([5, 9, 12, 40, 41, 77])).note == "Isomap of 6 of 200 words"
    tiny = project("t-SNE", x, sample=np.array([1, 2, 3]))
    assert tiny.method == "PCA" and "needs at least 5" in tiny.note


def test_tsne_started_from_its_previous_picture_stays_there():
    x, labels = _clusters(n=300)
    first = project("t-SNE", x, seed=0)
    again = project("t-SNE", x, previous=first.coords, seed=1)
    shift = np.median(np.linalg.norm(again.coords - first.coords, axis=1)) / _rms_radius(first.coords)
    assert shift < 0.15  # measured 0.057-0.066 over four data seeds
    # and it is a real t-SNE picture: each point's nearest 2-D neighbour is of its cluster
    d = np.linalg.norm(again.coords[:, None] - again.coords[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert (labels[d.argmin(axis=1)] == labels).mean() > 0.95


def test_tsne_places_new_words_near_their_neighbours_when_the_sample_grows():
    x, labels = _clusters(n=300)
    first = project("t-SNE", x, sample=np.arange(150))
    grown = project("t-SNE", x, sample=np.arange(300), previous=first.full_coords())
    shift = np.median(np.linalg.norm(grown.coords[:150] - first.coords, axis=1)) / _rms_radius(first.coords)
    assert shift < 0.3
    d = np.linalg.norm(grown.coords[150:, None] - grown.coords[None, :150], axis=2)
    assert (labels[d.argmin(axis=1)] == labels[150:]).mean() > 0.9


def _two_clusters(n: int = 120, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.repeat([0, 1], n // 2)
    centres = np.zeros((2, 10))
    centres[0, 0] = centres[1, 1] = 5.0
    return (centres[labels] + rng.normal(size=(n, 10))).astype(np.float32), labels


def _separated(coords: np.ndarray, labels: np.ndarray) -> bool:
    """Whether a straight line splits the two groups (checked along the line joining their means)."""
    axis = coords[labels == 1].mean(axis=0) - coords[labels == 0].mean(axis=0)
    t = coords @ axis
    return t[labels == 0].max() < t[labels == 1].min()


def test_isomap_separates_two_clusters_even_when_the_neighbour_graph_does_not_join_them():
    x, labels = _two_clusters()
    from scipy.sparse.csgraph import connected_components

    graph = knn_graph(_unit(x), 10)
    assert connected_components(graph, directed=False)[0] == 1  # joined at the two clusters' closest words
    result = project("Isomap", x)
    assert result.coords.shape == (120, 2) and np.isfinite(result.coords).all()
    assert _separated(result.coords, labels)
    previous = result.coords @ np.diag([-1.0, 1.0])
    np.testing.assert_allclose(project("Isomap", x, previous=previous).coords, previous, atol=1e-3)


def test_isomap_unrolls_a_curve_that_pca_folds():
    t = np.linspace(0.3, 3 * np.pi, 400)
    spiral = np.column_stack([t * np.cos(t), t * np.sin(t), np.full_like(t, 10.0)])  # a spiral away from 0

    def order_kept(coords: np.ndarray) -> float:
        return float(np.abs(np.corrcoef(np.argsort(np.argsort(coords[:, 0])), np.arange(400))[0, 1]))

    assert order_kept(project("Isomap", spiral).coords) > 0.99  # its first axis follows the arc length
    assert order_kept(project("PCA", spiral).coords) < 0.5  # measured 0.24: PCA folds the turns together
