"""2-D projections: PCA against a hand-made cloud, the torch and numpy paths agree, Procrustes undoes a flip."""
from __future__ import annotations

import numpy as np
import torch

from explorer.analysis.projection import pca_2d, pca_2d_torch, procrustes_align


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
