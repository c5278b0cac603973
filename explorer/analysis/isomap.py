"""Landmark Isomap of word vectors: a k-nearest-neighbour graph by cosine, its shortest paths from landmarks,
and classical scaling of them (the map's third projection, fast enough for thousands of words)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

ISOMAP_NEIGHBOURS = 10
ISOMAP_LANDMARKS = 200
_CHUNK = 1024  # rows of a similarity matrix computed at a time

def knn_graph(unit: np.ndarray, k: int) -> sp.csr_matrix:
    """Symmetric k-nearest-neighbour graph of unit vectors (by cosine), weighted by their Euclidean distance.

    Brute force (n^2 dim multiply-adds, in chunks): exact, and the largest cost of Isomap at 10,000 words.
    """
    import scipy.sparse as sp

    n = len(unit)
    k = max(1, min(int(k), n - 1))
    x = np.ascontiguousarray(unit, dtype=np.float32)
    rows, cols, sims = [], [], []
    for start in range(0, n, _CHUNK):
        stop = min(n, start + _CHUNK)
        s = x[start:stop] @ x.T
        s[np.arange(stop - start), np.arange(start, stop)] = -np.inf
        top = np.argpartition(-s, k - 1, axis=1)[:, :k]
        rows.append(np.repeat(np.arange(start, stop), k))
        cols.append(top.ravel())
        sims.append(np.take_along_axis(s, top, axis=1).ravel())
    dist = _chord(np.concatenate(sims))
    g = sp.csr_matrix((dist, (np.concatenate(rows), np.concatenate(cols))), shape=(n, n))
    return _connect_components(g.maximum(g.T).tocsr(), x)


def _chord(cosines: np.ndarray) -> np.ndarray:
    """Euclidean distance between unit vectors with these cosines, kept above zero (zero means no edge)."""
    return np.maximum(np.sqrt(np.maximum(0.0, 2.0 - 2.0 * cosines.astype(np.float64))), 1e-9)


def _connect_components(graph, x: np.ndarray):
    """Join a disconnected graph: each smaller component gets an edge to its nearest word outside it."""
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components

    while True:
        n_comp, labels = connected_components(graph, directed=False)
        if n_comp == 1:
            return graph
        main = int(np.argmax(np.bincount(labels)))
        rows, cols, sims = [], [], []
        for c in range(n_comp):
            if c == main:
                continue
            inside = np.flatnonzero(labels == c)
            best = (-np.inf, 0, 0)
            for start in range(0, inside.size, _CHUNK):
                part = inside[start:start + _CHUNK]
                s = x[part] @ x.T
                s[:, inside] = -np.inf
                i, j = np.unravel_index(int(np.argmax(s)), s.shape)
                if s[i, j] > best[0]:
                    best = (float(s[i, j]), int(part[i]), int(j))
            sims.append(best[0])
            rows.append(best[1])
            cols.append(best[2])
        d = _chord(np.array(sims))
        extra = sp.csr_matrix((np.concatenate([d, d]), (rows + cols, cols + rows)), shape=graph.shape)
        graph = graph.maximum(extra).tocsr()


def landmark_isomap(unit: np.ndarray, k: int = ISOMAP_NEIGHBOURS, landmarks: int = ISOMAP_LANDMARKS,
                    seed: int = 0) -> np.ndarray:
    """Isomap with landmarks (de Silva & Tenenbaum 2004): (n, 2) float32.

    Geodesic distances are shortest paths on the k-nearest-neighbour graph (components joined at their
    closest words), from `landmarks` words chosen farthest-first; classical MDS places the landmarks and
    every other word is placed from its distances to them. Memory n x landmarks, not n^2.
    """
    from scipy.sparse.csgraph import dijkstra

    n = len(unit)
    graph = knn_graph(unit, k)
    m = min(int(landmarks), n)
    chosen = [int(np.random.default_rng(seed).integers(n))]
    dist = np.empty((m, n))
    nearest = np.full(n, np.inf)
    for i in range(m):
        dist[i] = dijkstra(graph, directed=False, indices=chosen[i])
        nearest = np.minimum(nearest, dist[i])
        if i + 1 < m:
            chosen.append(int(np.argmax(nearest)))
    sq = dist**2
    between = sq[:, chosen]
    centred = between - between.mean(axis=0) - between.mean(axis=1)[:, None] + between.mean()
    evals, evecs = np.linalg.eigh(-0.5 * centred)
    evals, evecs = evals[::-1][:2], evecs[:, ::-1][:, :2]
    evals = np.maximum(evals, 1e-12)
    coords = -0.5 * (sq - between.mean(axis=1)[:, None]).T @ (evecs / np.sqrt(evals))
    if coords.shape[1] < 2:
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
    return coords.astype(np.float32)
