"""The map's neighbour-based projections: t-SNE (openTSNE, FFT-accelerated) and UMAP (umap-learn), both on an
exact cosine k-nearest-neighbour graph computed here, and both continuing from the previous picture of a live run.

openTSNE and umap-learn are imported on first use only (umap's numba code takes seconds to load, more on its very
first run while numba fills its cache), never at start-up. Both libraries take the neighbours from
`cosine_knn` (an exact search by matrix products, about 1 s for 10,000 words) instead of their own approximate
ones: pynndescent's search is compiled anew in every process (about a minute on this machine), and an exact
graph makes small maps reproducible. scikit-learn's t-SNE stays here for comparison (bench/projection.py).
"""
from __future__ import annotations

import warnings

import numpy as np

TSNE_EXAGGERATED = 200  # openTSNE iterations with early exaggeration (12), momentum 0.5
TSNE_ITERATIONS = 300  # then these at momentum 0.8 (500 in all: scikit-learn's 500 gave the same KL divergence)
TSNE_CONTINUE_ITERATIONS = 150  # continuing a previous t-SNE picture: no exaggeration, momentum 0.8,
TSNE_CONTINUE_RATE_DIVISOR = 8  # learning rate n / 8 (openTSNE's n moved 300 clustered points by 10% of the
# map's radius on the same vectors, and by 32% when the sample doubled; n / 4: 5% and 20%; n / 12: 3% and 13%)
UMAP_EPOCHS = 200  # umap-learn's own default above 10,000 points
UMAP_CONTINUE_EPOCHS = 50  # continuing a previous UMAP picture,
UMAP_CONTINUE_RATE = 0.1  # at this learning rate (1 for a fresh one): measured on 3,000 trained-like words whose
# vectors moved by 10%, median shift 11% of the map's radius (100 epochs at rate 1: 21%; a fresh map aligned: 45%)
FFT_FROM = 2000  # openTSNE's FFT interpolation from this many points, Barnes-Hut below (exact enough, faster)
_CHUNK = 2048  # rows of a similarity matrix computed at a time


def cosine_knn(unit: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k nearest rows of each unit row by cosine, itself first: ((n, k) int64 ids, (n, k) float32 cosines).

    Exact (matrix products and top-k in chunks, torch on one thread: ~1 s for 10,000 x 100 and k = 90).
    """
    import torch

    n = len(unit)
    k = max(1, min(int(k), n))
    t = torch.from_numpy(np.ascontiguousarray(unit, dtype=np.float32))
    ids, sims = [], []
    with torch.no_grad():
        for start in range(0, n, _CHUNK):
            s = t[start:start + _CHUNK] @ t.T
            rows = torch.arange(s.shape[0])
            s[rows, rows + start] = 2.0  # itself first, even where two words have the same vector
            top, idx = torch.topk(s, k, dim=1)
            ids.append(idx)
            sims.append(top.clamp(max=1.0))
    return torch.cat(ids).numpy().astype(np.int64), torch.cat(sims).numpy()


def _chord(cosines: np.ndarray) -> np.ndarray:
    """Euclidean distances between unit vectors with these cosines."""
    return np.sqrt(np.maximum(0.0, 2.0 - 2.0 * cosines.astype(np.float64)))


def fill_missing(prev: np.ndarray, unit: np.ndarray, seed: int) -> np.ndarray:
    """`prev` (float64) with each NaN row put at the mean place of its 3 nearest placed words (by cosine),
    jittered by 1% of the picture's spread: where a new word would land, as a start for t-SNE or UMAP."""
    ok = np.isfinite(prev).all(axis=1)
    out = np.array(prev, dtype=np.float64)
    if ok.all():
        return out
    placed, missing = np.flatnonzero(ok), np.flatnonzero(~ok)
    k = min(3, placed.size)
    spread = out[placed].std(axis=0) + 1e-12
    rng = np.random.default_rng(seed)
    for start in range(0, missing.size, _CHUNK):
        rows = missing[start:start + _CHUNK]
        sims = unit[rows] @ unit[placed].T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        out[rows] = out[placed[top]].mean(axis=1) + rng.normal(scale=0.01, size=(rows.size, 2)) * spread
    return out


def _rms_radius(c: np.ndarray) -> float:
    return float(np.sqrt(np.square(c - c.mean(axis=0)).sum(axis=1).mean()))


def open_tsne(unit: np.ndarray, prev: np.ndarray | None, seed: int, threads: int = 1) -> np.ndarray:
    """t-SNE (openTSNE) of unit rows with Euclidean (= cosine-ranked) affinities: (n, 2) float32.

    A previous picture at t-SNE's own scale (rms radius at least 1) is continued without exaggeration for
    TSNE_CONTINUE_ITERATIONS, so words stay put unless their neighbours changed; a smaller one (a PCA picture)
    or none (PCA of the rows) is scaled to openTSNE's start (standard deviation 1e-4) and optimised in full.
    """
    from openTSNE import TSNEEmbedding, initialization
    from openTSNE.affinity import PerplexityBasedNN
    from openTSNE.nearest_neighbors import PrecomputedNeighbors

    n = len(unit)
    perplexity = min(30.0, (n - 1) / 3.0)
    ids, cos = cosine_knn(unit, min(n, int(3 * perplexity) + 1))
    knn = PrecomputedNeighbors(np.ascontiguousarray(ids[:, 1:]), np.ascontiguousarray(_chord(cos[:, 1:])))
    affinities = PerplexityBasedNN(knn_index=knn, perplexity=perplexity, n_jobs=threads)
    method = "fft" if n >= FFT_FROM else "bh"
    # FFT grid cells of 2 x 2 (openTSNE's default 1) and at least 10 of them a side (default 50): 10,000 words in
    # 15 s instead of 27 s on a busy 2-core machine, 150 continuing iterations in 4 s instead of 19 s (the grid
    # grows with the map); KL divergence 1.23-1.26 against 1.09
    common = dict(negative_gradient_method=method, n_jobs=threads, random_state=seed, ints_in_interval=2,
                  min_num_intervals=10)
    if prev is not None:
        init = fill_missing(prev, unit, seed)
        init -= init.mean(axis=0)
        if _rms_radius(init) >= 1.0:
            emb = TSNEEmbedding(init, affinities, **common)
            rate = max(n / TSNE_CONTINUE_RATE_DIVISOR, 10.0)
            return np.asarray(emb.optimize(TSNE_CONTINUE_ITERATIONS, momentum=0.8, learning_rate=rate),
                              dtype=np.float32)
        init = init / max(float(init[:, 0].std()), 1e-12) * 1e-4
    else:
        init = initialization.pca(unit, random_state=seed)
    emb = TSNEEmbedding(init, affinities, **common)
    emb = emb.optimize(TSNE_EXAGGERATED, exaggeration=12, momentum=0.5)
    return np.asarray(emb.optimize(TSNE_ITERATIONS, momentum=0.8), dtype=np.float32)


def _import_umap():
    """umap-learn, with numba's on-disk cache switched on for its functions that do not ask for it.

    smooth_knn_dist, compute_membership_strengths and the layout's epoch are compiled anew in every process
    otherwise (10 s on this machine, for any number of words); cached, the first UMAP of a process takes the
    time to load them (about 1 s) and the compile is paid once, on the very first UMAP after installing.
    """
    import umap  # slow to import (numba): only when the user chooses UMAP
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    for module in (umap.umap_, umap.layouts, umap.utils):
        for value in list(vars(module).values()):
            if isinstance(value, CPUDispatcher) and isinstance(getattr(value, "_cache", None), NullCache):
                value.enable_caching()  # numba's own switch (what cache=True does at decoration)
    return umap


def umap_map(unit: np.ndarray, prev: np.ndarray | None, seed: int) -> np.ndarray:
    """UMAP (umap-learn) of unit rows with cosine distances, 15 neighbours: (n, 2) float32.

    Starts from PCA, or from `prev` (new words placed by their neighbours) for UMAP_CONTINUE_EPOCHS.
    """
    umap = _import_umap()
    n = len(unit)
    k = max(2, min(15, n - 1))
    ids, cos = cosine_knn(unit, k)
    start = "pca" if prev is None else fill_missing(prev, unit, seed)
    reducer = umap.UMAP(n_components=2, n_neighbors=k, metric="cosine", init=start, random_state=seed,
                        n_epochs=UMAP_EPOCHS if prev is None else UMAP_CONTINUE_EPOCHS,
                        learning_rate=1.0 if prev is None else UMAP_CONTINUE_RATE,
                        precomputed_knn=(ids, np.maximum(0.0, 1.0 - cos).astype(np.float32), None))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # n_jobs overridden by random_state; no transform() without the index
        coords = np.asarray(reducer.fit_transform(np.ascontiguousarray(unit, dtype=np.float32)), dtype=np.float64)
    if prev is not None:  # umap-learn rescales a given start to a 10 x 10 box: back to the previous picture's size
        centre = coords.mean(axis=0)
        coords = (coords - centre) * (_rms_radius(start) / max(_rms_radius(coords), 1e-12)) + start.mean(axis=0)
    return coords.astype(np.float32)


def sklearn_tsne(unit: np.ndarray, seed: int = 0, iterations: int = 500) -> np.ndarray:
    """scikit-learn's Barnes-Hut t-SNE with cosine distances and PCA start (the map's t-SNE before openTSNE)."""
    from sklearn.manifold import TSNE

    tsne = TSNE(2, init="pca", max_iter=iterations, learning_rate="auto", perplexity=min(30.0, (len(unit) - 1) / 3),
                metric="cosine", random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return tsne.fit_transform(np.asarray(unit, dtype=np.float32)).astype(np.float32)
