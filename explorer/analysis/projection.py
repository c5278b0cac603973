"""2-D projections of embedding vectors (PCA, t-SNE, Isomap, UMAP), aligned to the previous picture so that a
map does not flip or jump when it is recomputed. t-SNE (openTSNE) and UMAP live in neighbour_maps.py."""
from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import sys
import time

import numpy as np

from .isomap import ISOMAP_LANDMARKS, ISOMAP_NEIGHBOURS, knn_graph, landmark_isomap  # noqa: F401 (public)
from .neighbour_maps import open_tsne, umap_map
from .neighbours import normalise as _unit_rows

# The methods project() knows (t-SNE by openTSNE, UMAP by umap-learn: both dependencies, imported on first use).
PROJECTIONS: tuple[str, ...] = ("PCA", "t-SNE", "Isomap", "UMAP")
_LIBRARY = {"t-SNE": ("openTSNE", "openTSNE"), "UMAP": ("umap", "umap-learn")}  # module, package
MIN_NONLINEAR = 5  # fewer rows than this get PCA (the note says so): t-SNE and Isomap need neighbours


# ----------------------------------------------------------------------------- the live map's PCA
def _centred_pca(vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean (float64), top-k directions (k x D float64), their variance ratios, and the centred rows.

    float32 input stays float32 up to the D x D covariance (centred first, so nothing cancels): 6x faster than
    float64 at 50,000 x 100 (20 ms against 125 ms on one core), coordinates within 1e-6 of it.
    """
    x = np.asarray(vectors)
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    x = x.astype(dtype, copy=False)
    mean = x.mean(axis=0, dtype=np.float64)
    xc = x - mean.astype(dtype)
    cov = (xc.T @ xc).astype(np.float64) / max(1, len(x) - 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:k]
    total = float(evals.sum()) or 1.0
    return mean, evecs[:, order].T, evals[order] / total, xc


def pca_basis(vectors: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, the top-k principal directions (k x D) and their explained-variance ratios."""
    mean, basis, ratios, _ = _centred_pca(vectors, k)
    return mean, basis, ratios


def pca_2d(vectors: np.ndarray, normalise: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Project onto the first two principal components: (N x 2 float32 coordinates, explained-variance ratios).

    With normalise=True the rows are scaled to unit length first (cosine geometry, as project("PCA") does).
    """
    x = _unit_rows(vectors) if normalise else np.asarray(vectors)
    _, basis, ratios, xc = _centred_pca(x, 2)
    coords = xc @ basis.T.astype(xc.dtype)
    if coords.shape[1] < 2:  # one-dimensional vectors: the second axis is empty
        coords = np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))
        ratios = np.pad(ratios, (0, 2 - ratios.size))
    return np.ascontiguousarray(coords, dtype=np.float32), ratios.astype(np.float32)


def procrustes_align(coords: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Rotate/reflect `coords` (N x 2) to best match `reference` (orthogonal Procrustes, no scaling).

    Rows where `reference` is not finite (words the reference did not place) take no part in the fit but are
    moved with the rest. Fewer than two usable rows, or mismatched shapes, leave `coords` as they are.
    """
    a = np.asarray(coords, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 2:
        return np.asarray(coords, dtype=np.float32)
    ok = np.isfinite(b).all(axis=1) & np.isfinite(a).all(axis=1)
    if ok.sum() < 2:
        return np.asarray(coords, dtype=np.float32)
    am, bm = a[ok].mean(axis=0), b[ok].mean(axis=0)
    u, _, vt = np.linalg.svd((a[ok] - am).T @ (b[ok] - bm))
    rot = u @ vt
    return ((a - am) @ rot + bm).astype(np.float32)


def pca_2d_torch(vectors, normalise: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """pca_2d for a torch tensor, computed on its own device (no numpy BLAS threads fighting torch's)."""
    import torch

    with torch.no_grad():
        x = vectors.detach().to(torch.float64)
        if normalise:
            norms = x.norm(dim=1, keepdim=True)
            x = torch.where(norms > 0, x / norms.clamp_min(1e-300), torch.zeros_like(x))
        xc = x - x.mean(dim=0)
        cov = (xc.T @ xc / max(1, x.shape[0] - 1)).cpu()  # D x D: the eigen-solve is cheapest on the CPU
        evals, evecs = torch.linalg.eigh(cov)
        top = torch.flip(evecs[:, -2:], dims=(1,)).to(xc.device)
        ratios = torch.flip(evals[-2:], dims=(0,)) / evals.sum().clamp_min(1e-30)
        coords = (xc @ top).to(torch.float32).cpu().numpy()
        return np.ascontiguousarray(coords), ratios.to(torch.float32).cpu().numpy()


# ----------------------------------------------------------------------------- projections on demand
@dataclasses.dataclass(frozen=True)
class ProjectionResult:
    """2-D coordinates of some rows of a vector matrix, and what was done to get them."""

    method: str  # the method that ran (PCA when a non-linear one had too few rows)
    coords: np.ndarray  # (n, 2) float32, one row per entry of `indices`
    indices: np.ndarray  # (n,) int64: which rows of the vectors were projected, in the order given
    n_total: int  # how many rows the vectors had
    note: str  # one line for the UI, e.g. "t-SNE of the 2,000 most frequent of 12,000 words"
    seconds: float  # wall time of the projection
    explained: np.ndarray | None = None  # PCA only: (2,) share of the (normalised) vectors' variance per axis

    def full_coords(self) -> np.ndarray:
        """(n_total, 2) float32 coordinates with NaN rows for the words left out: the `previous` of a next run."""
        out = np.full((self.n_total, 2), np.nan, dtype=np.float32)
        out[self.indices] = self.coords
        return out


def default_sample_size(method: str, n_words: int) -> int:
    """How many words a projection takes unless the user asks for more: all for PCA, the most frequent few
    thousand for the slower methods (bench/projection.py: each of them places 5,000 words in a few seconds).
    The UI says "t-SNE of N of M words" and lets the user raise N: nothing is capped silently."""
    _check_method(method)
    cap = {"PCA": n_words, "t-SNE": 5000, "Isomap": 5000, "UMAP": 5000}[method]
    return max(0, min(int(n_words), cap))


def sample_indices(counts: np.ndarray, size: int) -> np.ndarray:
    """The ids (int64) of the `size` most frequent words, most frequent first (ties by id); all if fewer."""
    counts = np.asarray(counts)
    if counts.ndim != 1:
        raise ValueError("counts must be one count per word")
    if size < 1:
        raise ValueError("a sample needs at least one word")
    order = np.argsort(-counts.astype(np.float64), kind="stable")
    return np.ascontiguousarray(order[: min(int(size), counts.size)], dtype=np.int64)


# Seconds = a + b * (n / 1000) ** p, fitted to bench/projection.py (100-d trained-like vectors, one thread, a shared
# two-core machine: single runs vary by 30% or more). t-SNE is openTSNE's, UMAP umap-learn's after its first use.
_COST = {"PCA": (0.001, 0.0012, 1.0), "t-SNE": (0.3, 1.0, 1.0), "Isomap": (0.05, 0.045, 1.95),
         "UMAP": (0.2, 0.4, 1.05)}


def estimated_seconds(method: str, n: int) -> float:
    """A rough forecast of project()'s wall time for `n` rows on this kind of machine (2 CPU cores)."""
    _check_method(method)
    a, b, p = _COST[method]
    return float(a + b * (max(int(n), 0) / 1000.0) ** p)


def project(
    method: str,
    vectors: np.ndarray,
    sample: np.ndarray | None = None,
    previous: np.ndarray | None = None,
    seed: int = 0,
    *,
    counts: np.ndarray | None = None,
    threads: int | None = 1,
) -> ProjectionResult:
    """2-D coordinates of the rows `sample` (None = all) of `vectors`, in cosine geometry.

    Rows are scaled to unit length first (the geometry of the neighbour lists); PCA then centres them, and
    t-SNE and Isomap use distances between unit vectors, which rank like cosines and ignore centring.
    `previous` is the last picture: (n_total, 2) with NaN rows for words it lacked (ProjectionResult.
    full_coords) or (len(sample), 2) for the same rows. The new picture is rotated/reflected onto it
    (Procrustes), and t-SNE also starts from it, so words stay put unless their vectors moved.
    `counts` (optional) lets the note say that the sample is the most frequent words.
    `threads` limits BLAS/OpenMP threads (1: leaves a core to the UI, and was 3x faster than 2 on a busy
    two-core machine); None leaves them as they are.
    """
    _check_method(method)
    x = np.asarray(vectors)
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError("there are no vectors to project yet")
    n_total = len(x)
    idx = np.arange(n_total, dtype=np.int64) if sample is None else np.asarray(sample, dtype=np.int64).ravel()
    if idx.size == 0:
        raise ValueError("the sample is empty")
    if idx.min() < 0 or idx.max() >= n_total:
        raise IndexError(f"sample ids must be between 0 and {n_total - 1}")
    prev = _previous_rows(previous, idx, n_total)
    _check_library(method)
    t0 = time.perf_counter()
    unit = _unit_rows(x if sample is None else x[idx])
    ran, explained = method, None
    with _thread_limit(threads):
        if method == "PCA" or len(idx) < MIN_NONLINEAR:
            ran = "PCA"
            coords, explained = pca_2d(unit)
        elif method == "t-SNE":
            coords = open_tsne(unit, prev, seed, threads=int(threads or 1))
        elif method == "Isomap":
            coords = landmark_isomap(unit, seed=seed)
        else:
            coords = umap_map(unit, prev, seed)
    if prev is not None:
        coords = procrustes_align(coords, prev)
    seconds = time.perf_counter() - t0
    coords = np.ascontiguousarray(coords, dtype=np.float32)
    note = _note(ran, method, idx, n_total, counts)
    return ProjectionResult(ran, coords, idx, n_total, note, seconds, explained)


def _check_method(method: str) -> None:
    if method not in PROJECTIONS:
        raise ValueError(f"unknown projection {method!r}: choose one of {', '.join(PROJECTIONS)}")


def _check_library(method: str) -> None:
    """A clear one-line error where the library a method needs is not installed."""
    module, package = _LIBRARY.get(method, (None, None))
    if module is not None and module not in sys.modules and importlib.util.find_spec(module) is None:
        raise RuntimeError(f"{method} needs the package {package}: pip install {package}")


def first_use_seconds(method: str) -> float:
    """Extra seconds the first `method` of this process takes to load its library (0 once loaded): openTSNE
    about 1 s; umap-learn about 3 s of numba code from its cache (the first run after installing compiles it:
    about a minute, once)."""
    module = _LIBRARY.get(method, (None,))[0]
    if module is None or module in sys.modules:
        return 0.0
    return {"t-SNE": 1.0, "UMAP": 6.0}[method]


def _thread_limit(threads: int | None):
    """A context that limits BLAS and OpenMP threads (threadpoolctl comes with scikit-learn), or does nothing."""
    from threadpoolctl import threadpool_limits

    return contextlib.nullcontext() if threads is None else threadpool_limits(limits=int(threads))


def _previous_rows(previous: np.ndarray | None, idx: np.ndarray, n_total: int) -> np.ndarray | None:
    """The previous coordinates of the sampled rows (NaN where there were none), or None."""
    if previous is None:
        return None
    prev = np.asarray(previous, dtype=np.float64)
    if prev.ndim != 2 or prev.shape[1] != 2:
        raise ValueError("previous coordinates must be N x 2")
    if len(prev) == n_total:
        prev = prev[idx]
    elif len(prev) != len(idx):
        raise ValueError(f"previous has {len(prev)} rows: expected {n_total} (all words) or {len(idx)} (the sample)")
    return prev if np.isfinite(prev).all(axis=1).sum() >= 2 else None


def _note(ran: str, asked: str, idx: np.ndarray, n_total: int, counts: np.ndarray | None) -> str:
    n = len(idx)
    if n == n_total:
        what = f"all {n:,} words"
    elif counts is not None and np.array_equal(idx, sample_indices(counts, n)):
        what = f"the {n:,} most frequent of {n_total:,} words"
    else:
        what = f"{n:,} of {n_total:,} words"
    extra = f" ({asked} needs at least {MIN_NONLINEAR} words)" if ran != asked else ""
    return f"{ran} of {what}{extra}"
