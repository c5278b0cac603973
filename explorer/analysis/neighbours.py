"""Cosine neighbours, analogies, pair-difference axes and word-class scores of embedding vectors."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

_CHUNK = 1024  # rows of a similarity matrix computed at a time


def normalise(vectors: np.ndarray) -> np.ndarray:
    """The rows scaled to unit length (float32); all-zero rows stay zero."""
    x = np.asarray(vectors, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"vectors must be 2-D (words x dimensions), not {x.ndim}-D")
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


def _check_index(n: int, i: int, what: str = "word id") -> int:
    """`i` as an int, or IndexError when it is not a row of an n-row matrix."""
    i = int(i)
    if not 0 <= i < n:
        raise IndexError(f"{what} {i} is out of range for {n} vectors")
    return i


def _top_k(scores: np.ndarray, k: int, exclude: Iterable[int]) -> list[tuple[int, float]]:
    """The k highest (id, score) pairs, best first, ties by id, leaving out `exclude`."""
    scores = np.array(scores, dtype=np.float64)
    excluded = np.fromiter((int(e) for e in exclude), dtype=np.int64)
    excluded = excluded[(excluded >= 0) & (excluded < scores.size)]
    scores[excluded] = -np.inf
    available = int(np.isfinite(scores).sum())
    k = min(int(k), available)
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k] if k < scores.size else np.arange(scores.size)
    top = top[np.isfinite(scores[top])]
    top = top[np.lexsort((top, -scores[top]))]
    return [(int(i), float(scores[i])) for i in top]


def nearest(vectors: np.ndarray, index: int, k: int = 10, exclude: Iterable[int] = ()) -> list[tuple[int, float]]:
    """The k words most cosine-similar to word `index` (itself left out), as (id, cosine), best first."""
    unit = normalise(vectors)
    index = _check_index(len(unit), index)
    return _top_k(unit @ unit[index], k, [index, *exclude])


def nearest_to_vector(
    vectors: np.ndarray, v: np.ndarray, k: int = 10, exclude: Iterable[int] = ()
) -> list[tuple[int, float]]:
    """The k words most cosine-similar to the vector `v`, as (id, cosine), best first."""
    unit = normalise(vectors)
    target = np.asarray(v, dtype=np.float32).ravel()
    if target.size != unit.shape[1]:
        raise ValueError(f"the vector has {target.size} dimensions, the embeddings {unit.shape[1]}")
    norm = float(np.linalg.norm(target))
    return _top_k(unit @ (target / norm if norm > 0 else target), k, exclude)


def analogy(vectors: np.ndarray, a: int, b: int, c: int, k: int = 5) -> list[tuple[int, float]]:
    """The k words nearest a - b + c (3CosAdd on unit vectors), leaving out a, b and c.

    The answer is "c is to ? as b is to a": king - man + woman -> queen is analogy(v, king, man, woman).
    Scores are cosines with the unit-vector sum; their ranking is that of cos(x, a) - cos(x, b) + cos(x, c).
    """
    unit = normalise(vectors)
    a, b, c = (_check_index(len(unit), i) for i in (a, b, c))
    return nearest_to_vector(unit, unit[a] - unit[b] + unit[c], k, exclude=(a, b, c))


def pair_axes(vectors: np.ndarray, pair1: tuple[int, int], pair2: tuple[int, int]) -> np.ndarray:
    """(N, 2) float32 coordinates of every unit word vector on two pair-difference directions.

    Axis 1 is the unit direction from pair1[0] to pair1[1] (man -> woman); axis 2 the direction from
    pair2[0] to pair2[1] (small -> big) with its component along axis 1 removed (Gram-Schmidt), so the
    axes are orthonormal and the plot is a true projection. Vectors are normalised first (as for cosine).
    """
    unit = normalise(vectors)
    n = len(unit)
    p1 = [_check_index(n, i) for i in pair1]
    p2 = [_check_index(n, i) for i in pair2]
    d1 = unit[p1[1]].astype(np.float64) - unit[p1[0]]
    d2 = unit[p2[1]].astype(np.float64) - unit[p2[0]]
    n1 = np.linalg.norm(d1)
    if n1 < 1e-9:
        raise ValueError("the first pair's words have the same direction, so they define no axis")
    axis1 = d1 / n1
    d2 = d2 - (d2 @ axis1) * axis1
    n2 = np.linalg.norm(d2)
    if n2 < 1e-9:
        raise ValueError("the second pair's difference is parallel to the first's, so it adds no axis")
    basis = np.stack([axis1, d2 / n2], axis=1)
    return (unit.astype(np.float64) @ basis).astype(np.float32)


def _labelled(vectors: np.ndarray, labels: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors of the labelled words and their class codes."""
    unit = normalise(vectors)
    if len(labels) != len(unit):
        raise ValueError(f"{len(labels)} labels for {len(unit)} vectors")
    keep = np.array([bool(label) for label in labels], dtype=bool)
    _, codes = np.unique(np.array([label for label in labels if label], dtype=object).astype(str),
                         return_inverse=True)
    return unit[keep], codes.ravel()


def class_separation(vectors: np.ndarray, labels: Sequence[str]) -> float:
    """Mean cosine of labelled word pairs within a class minus that between classes ('' = unlabelled).

    Computed from class sums without the pairwise matrix: over distinct pairs, sum_within =
    sum_c (|s_c|^2 - sum_{i in c} |x_i|^2) / 2, and likewise for all pairs; between = all - within.
    """
    unit, codes = _labelled(vectors, labels)
    x = unit.astype(np.float64)
    self_sq = np.square(x).sum(axis=1)
    n_classes = int(codes.max()) + 1 if codes.size else 0
    class_sums = np.zeros((n_classes, x.shape[1]))
    np.add.at(class_sums, codes, x)
    sizes = np.bincount(codes, minlength=n_classes).astype(np.float64)
    within_sum = (np.square(class_sums).sum() - self_sq.sum()) / 2
    all_sum = (np.square(x.sum(axis=0)).sum() - self_sq.sum()) / 2
    within_pairs = float((sizes * (sizes - 1) / 2).sum())
    all_pairs = len(x) * (len(x) - 1) / 2
    between_pairs = all_pairs - within_pairs
    if within_pairs == 0 or between_pairs == 0:
        raise ValueError("class separation needs at least two classes and a class with two labelled words")
    return float(within_sum / within_pairs - (all_sum - within_sum) / between_pairs)


def neighbour_purity(vectors: np.ndarray, labels: Sequence[str], k: int = 5) -> float:
    """The fraction of each labelled word's k nearest labelled neighbours (cosine) that share its class."""
    if k < 1:
        raise ValueError("k must be at least 1")
    unit, codes = _labelled(vectors, labels)
    n = len(unit)
    if n < 2:
        raise ValueError("neighbour purity needs at least two labelled words")
    k = min(k, n - 1)
    same = 0
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        sims = unit[start:stop] @ unit.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        same += int((codes[top] == codes[start:stop, None]).sum())
    return same / (n * k)


def purity_by_frequency(vectors: np.ndarray, labels: Sequence[str], counts: np.ndarray, bins: int = 3,
                        k: int = 5) -> tuple[list[tuple[int, int]], np.ndarray, np.ndarray]:
    """Neighbour purity of the labelled words split into `bins` frequency groups (rarest first).

    Each labelled word's k nearest labelled neighbours (cosine, among all labelled words) are checked for its
    class; the words are grouped by corpus count into bins of (nearly) equal size. Returns the count range
    (lowest, highest) of each bin, the purity of each bin, and the number of words in it: the figure that
    lets a user check "skip-gram is better for rare words" on a corpus whose classes are known.
    """
    if bins < 1 or k < 1:
        raise ValueError("bins and k must be at least 1")
    unit, codes = _labelled(vectors, labels)
    keep = np.array([bool(label) for label in labels], dtype=bool)
    c = np.asarray(counts)[keep]
    n = len(unit)
    if n < 2 * bins:
        raise ValueError(f"{n} labelled words are too few for {bins} frequency groups")
    k = min(k, n - 1)
    hits = np.zeros(n)
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        sims = unit[start:stop] @ unit.T
        sims[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        hits[start:stop] = (codes[top] == codes[start:stop, None]).mean(axis=1)
    order = np.argsort(c, kind="stable")
    groups = np.array_split(order, bins)
    ranges = [(int(c[g].min()), int(c[g].max())) for g in groups]
    return ranges, np.array([hits[g].mean() for g in groups]), np.array([len(g) for g in groups])
