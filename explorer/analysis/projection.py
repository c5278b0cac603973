"""2-D projections of embedding vectors, aligned to the previous frame so that a live map does not flip."""
from __future__ import annotations

import numpy as np


def pca_basis(vectors: np.ndarray, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean, the top-k principal directions (k x D) and their explained-variance ratios."""
    x = np.asarray(vectors, dtype=np.float64)
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / max(1, len(x) - 1)
    evals, evecs = np.linalg.eigh(cov)
    order = np.argsort(evals)[::-1][:k]
    total = float(evals.sum()) or 1.0
    return mean, evecs[:, order].T, evals[order] / total


def pca_2d(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Project onto the first two principal components: (N x 2 float32 coordinates, explained-variance ratios)."""
    mean, basis, ratios = pca_basis(vectors, 2)
    coords = (np.asarray(vectors, dtype=np.float64) - mean) @ basis.T
    return coords.astype(np.float32), ratios.astype(np.float32)


def procrustes_align(coords: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Rotate/reflect `coords` (N x 2) to best match `reference` (orthogonal Procrustes, no scaling)."""
    a = np.asarray(coords, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape or len(a) < 2:
        return np.asarray(coords, dtype=np.float32)
    am, bm = a.mean(axis=0), b.mean(axis=0)
    u, _, vt = np.linalg.svd((a - am).T @ (b - bm))
    rot = u @ vt
    return ((a - am) @ rot + bm).astype(np.float32)


def pca_2d_torch(vectors) -> tuple[np.ndarray, np.ndarray]:
    """pca_2d for a torch tensor, computed on its own device (no numpy BLAS threads fighting torch's)."""
    import torch

    with torch.no_grad():
        x = vectors.detach().to(torch.float64)
        xc = x - x.mean(dim=0)
        cov = (xc.T @ xc / max(1, x.shape[0] - 1)).cpu()  # D x D: the eigen-solve is cheapest on the CPU
        evals, evecs = torch.linalg.eigh(cov)
        top = torch.flip(evecs[:, -2:], dims=(1,)).to(xc.device)
        ratios = torch.flip(evals[-2:], dims=(0,)) / evals.sum().clamp_min(1e-30)
        coords = (xc @ top).to(torch.float32).cpu().numpy()
        return np.ascontiguousarray(coords), ratios.to(torch.float32).cpu().numpy()
