"""The positional encoding a model adds (sinusoidal, its learned table, or none) and how alike positions look.

Computed without torch: the sinusoids by their formula, a learned table read from the snapshot's parameter vector
(the GPT registers its token embedding first and the position table second, so the table follows the
vocabulary × width embedding).
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..figures import Axis, Figure, Heatmap

NAMES = {"sinusoidal": "Sinusoidal encoding PE[p, i]", "learned": "Learned encoding (the trained table)",
         "none": "No positional encoding"}
LEARNED_HINT = ("A learned encoding is a table of the model's parameters: it appears once the model has trained "
                "(press Train).")


def sinusoidal_matrix(context: int, width: int) -> np.ndarray:
    """(context, width) float32: PE[p, 2i] = sin(p / 10000^(2i/width)), PE[p, 2i+1] = cos(...)."""
    pos = np.arange(context, dtype=np.float32)[:, None]
    freq = np.power(np.float32(10000.0), -np.arange(0, width, 2, dtype=np.float32) / np.float32(width))
    pe = np.zeros((context, width), dtype=np.float32)
    pe[:, 0::2] = np.sin(pos * freq)
    pe[:, 1::2] = np.cos(pos * freq)[:, : width // 2]
    return pe


def learned_matrix(snap: Any) -> np.ndarray:
    """(context, width) float32: a snapshot's learned position table, read from its parameter vector."""
    start = len(snap.alphabet) * snap.width
    size = snap.context * snap.width
    vector = np.asarray(snap.param_vector, dtype=np.float32)
    if vector.size < start + size:
        raise ValueError("The parameter vector is too short for a learned position table of this shape.")
    return vector[start:start + size].reshape(snap.context, snap.width).copy()


def encoding_matrix(kind: str, context: int, width: int, snap: Any = None) -> np.ndarray:
    """(context, width) float32 encoding of each position: sinusoidal, a snapshot's learned table, or zeros."""
    if kind == "sinusoidal":
        return sinusoidal_matrix(context, width)
    if kind == "learned":
        if snap is None:
            raise ValueError("A learned positional encoding exists only in a trained model.")
        return learned_matrix(snap)
    return np.zeros((context, width), dtype=np.float32)


def similarity(matrix: np.ndarray) -> np.ndarray:
    """(P, P) cosine similarity between the encodings of every two positions (0 where an encoding is all zero)."""
    m = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(m, axis=1)
    unit = m / np.where(norms > 0, norms, 1.0)[:, None]
    return np.clip(unit @ unit.T, -1.0, 1.0).astype(np.float32)


def _explanation(kind: str, context: int, width: int, step: int | None) -> str:
    if kind == "sinusoidal":
        return ("PE[p, 2i] = sin(p / 10000^(2i/d)), PE[p, 2i+1] = cos(p / 10000^(2i/d)): low dimensions turn fast, "
                "high ones slowly.")
    if kind == "learned":
        return (f"The model's own table of {context} × {width} numbers at step {step:,}, learned from a random start: "
                f"unlike the sinusoids, neighbours need not be alike.")
    return ("This model adds no positional encoding: attention sees a bag of tokens, and only the causal mask (if on) "
            "tells positions apart. Train the reverse task with and without an encoding: without, accuracy stays far "
            "below 100%.")


def mean_offset_similarity(sim: np.ndarray, offset: int) -> float:
    """The mean cosine between positions `offset` apart (NaN if there are none)."""
    d = np.diagonal(sim, offset=offset)
    return float(d.mean()) if d.size else float("nan")


def position_figures(kind: str | None, context: int, width: int, snap: Any = None) -> tuple[Figure, Figure]:
    """(the encoding heatmap, the cosine similarity of positions)."""
    pe_axes = dict(x=Axis("dimension i"), y=Axis("position p", inverted=True))
    sim_axes = dict(x=Axis("position p"), y=Axis("position q", inverted=True))
    sim_title = "Cosine similarity of the positions' encodings"
    if kind is None:
        hint = "Choose valid settings on the left."
        return Figure("positions", "Positional encoding", **pe_axes, hint=hint), \
            Figure("similarity", sim_title, **sim_axes, hint=hint)
    if kind == "learned" and snap is None:
        return Figure("positions", NAMES[kind], **pe_axes, hint=LEARNED_HINT), \
            Figure("similarity", sim_title, **sim_axes, hint=LEARNED_HINT)
    matrix = encoding_matrix(kind, context, width, snap)
    sim = similarity(matrix)
    peak = float(np.abs(matrix).max()) or 1.0
    step = None if snap is None else int(snap.step)
    pe = Figure(
        "positions", NAMES[kind] + ("" if step is None else f" at step {step:,}"),
        x=Axis("dimension i", range=(-0.5, width - 0.5)), y=Axis("position p", inverted=True,
                                                                   range=(-0.5, context - 0.5)),
        heatmaps=(Heatmap("encoding", matrix, "PE[p, i]: value added to the embedding",
                          rect=(-0.5, -0.5, width, context), levels=(-peak, peak), colormap="CET-D1",
                          row_name="position p", col_name="dimension i"),),
        caption=_explanation(kind, context, width, step) + f" Largest |value| {peak:.3g}.")
    far = max(2, context // 4)
    if kind == "none":
        caption = "No encoding: every position has the same (zero) encoding, so the cosine is 0 everywhere."
    else:
        caption = (f"Mean cosine of neighbours (p, p+1): {mean_offset_similarity(sim, 1):.2f}; of positions {far} "
                   f"apart: {mean_offset_similarity(sim, far):.2f}. Nearby positions with similar encodings form "
                   f"the band along the diagonal.")
    similar = Figure(
        "similarity", sim_title + ("" if step is None else f" at step {step:,}"),
        x=Axis("position p", range=(-0.5, context - 0.5)), y=Axis("position q", inverted=True,
                                                                  range=(-0.5, context - 0.5)),
        heatmaps=(Heatmap("cosine", sim, "cosine similarity of PE[p] and PE[q]", rect=(-0.5, -0.5, context, context),
                          levels=(-1.0, 1.0), colormap="CET-D1", row_name="position q", col_name="position p"),),
        caption=caption, aspect_locked=True)
    return pe, similar
