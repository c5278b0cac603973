"""Count-based word vectors: the windowed co-occurrence matrix, its PPMI weighting and its truncated SVD."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # scipy.sparse is imported where it is used: it costs ~0.2 s at start-up
    import scipy.sparse as sp

# Matrices whose smaller side is at most this are decomposed densely (exact, and faster than ARPACK there).
DENSE_SVD_LIMIT = 256


def cooccurrence_matrix(
    ids: np.ndarray, vocab_size: int, window: int, distance_weighting: bool = False
) -> sp.csr_matrix:
    """Symmetric counts (float64 CSR) of word j occurring within `window` positions of word i, on both sides.

    Every pair of positions p < q with q - p <= window adds to both C[w_p, w_q] and C[w_q, w_p], so a row
    sums each occurrence's neighbours, and a word near itself adds 2 to the diagonal. With distance
    weighting a pair at distance d adds 1/d instead of 1 (as GloVe does). Negative ids (unknown words
    kept as -1 by Vocab.encode(drop_unknown=False)) hold their position but make no pairs.
    """
    import scipy.sparse as sp
    if window < 1:
        raise ValueError("window must be at least 1")
    if vocab_size < 1:
        raise ValueError("vocab_size must be at least 1")
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError("ids must be a 1-D sequence of word ids")
    if ids.size and int(ids.max()) >= vocab_size:
        raise ValueError(f"word id {int(ids.max())} is out of range for a vocabulary of {vocab_size}")
    ids = ids.astype(np.int32, copy=False)
    has_unknown = bool(ids.size) and int(ids.min()) < 0
    rows, cols, data = [], [], []
    for offset in range(1, min(window, ids.size - 1) + 1):
        left, right = ids[:-offset], ids[offset:]
        weight = 1.0 / offset if distance_weighting else 1.0
        if has_unknown:
            keep = (left >= 0) & (right >= 0)
            left, right = left[keep], right[keep]
        rows.append(left)
        cols.append(right)
        data.append(np.full(left.size, weight))
    if not rows:
        return sp.csr_matrix((vocab_size, vocab_size), dtype=np.float64)
    shape = (vocab_size, vocab_size)
    one_way = sp.coo_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))), shape=shape)
    one_way = one_way.tocsr()  # sums the duplicate (i, j) entries
    both = (one_way + one_way.T).tocsr()
    both.sort_indices()
    return both


def ppmi(matrix: sp.spmatrix | np.ndarray, alpha: float = 0.75) -> sp.csr_matrix:
    """Positive pointwise mutual information of a co-occurrence matrix, with context-distribution smoothing.

    With C the counts, N = sum of C, P(w, c) = C[w, c] / N, P(w) = sum_c C[w, c] / N and the smoothed
    context distribution P_a(c) = (sum_w C[w, c])**alpha / sum_c' (sum_w C[w, c'])**alpha,
        PPMI[w, c] = max(0, log(P(w, c) / (P(w) * P_a(c)))).
    Only nonzero counts are visited (zero counts have PMI = -inf and so PPMI = 0). alpha = 1 is plain PPMI;
    alpha = 0.75 (Levy, Goldberg & Dagan 2015) lifts rare contexts' probabilities and so damps the high PMI
    that rare contexts otherwise get. With alpha != 1 the result need not be symmetric.
    """
    import scipy.sparse as sp
    if alpha <= 0:
        raise ValueError("alpha must be positive")
    counts = sp.csr_matrix(matrix, dtype=np.float64, copy=True)  # canonicalised below: never the caller's
    counts.sum_duplicates()
    counts.eliminate_zeros()
    if (counts.data < 0).any():
        raise ValueError("co-occurrence counts cannot be negative")
    total = counts.data.sum()
    if total == 0:
        return sp.csr_matrix(counts.shape, dtype=np.float64)
    row_sums = np.asarray(counts.sum(axis=1)).ravel()
    context = np.asarray(counts.sum(axis=0)).ravel() ** alpha
    p_context = context / context.sum()
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    pmi = np.log(counts.data) - np.log(row_sums[rows] / total) - np.log(p_context[counts.indices]) - np.log(total)
    result = sp.csr_matrix((np.maximum(pmi, 0.0), counts.indices.copy(), counts.indptr.copy()), shape=counts.shape)
    result.eliminate_zeros()
    return result


@dataclass(frozen=True)
class SvdResult:
    """Word vectors from a truncated SVD M ~ U S V^T, with the spectrum."""

    vectors: np.ndarray  # (n_rows, dim) float32: U * S**power (power 0.5 by default)
    singular_values: np.ndarray  # (dim,) float64, descending
    explained_ratio: np.ndarray  # (dim,) float64: s_k**2 / ||M||_F**2, so its sum is at most 1
    components: np.ndarray  # (dim, n_cols) float64: V^T, the context directions
    solver: str = "dense"  # the solver that gave the result: "dense", "arpack", "propack" or "randomized"
    note: str = ""  # one line when the asked solver failed and another gave the result, else empty

    @property
    def dim(self) -> int:
        """How many dimensions were kept."""
        return int(self.singular_values.size)

    @property
    def total_explained(self) -> float:
        """The share of the matrix's squared Frobenius norm that the kept dimensions reproduce."""
        return float(self.explained_ratio.sum())


def _fix_signs(u: np.ndarray, vt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flip each singular pair so that the largest-magnitude entry of its u column is positive."""
    biggest = np.argmax(np.abs(u), axis=0)
    signs = np.sign(u[biggest, np.arange(u.shape[1])])
    signs[signs == 0] = 1.0
    return u * signs, vt * signs[:, None]


SOLVER_NAMES = {"propack": "PROPACK", "arpack": "ARPACK", "randomized": "the randomized SVD", "dense": "the dense SVD"}
# After PROPACK and ARPACK, a matrix of at most this many entries is decomposed densely (exact; 200 MB as float64),
# a larger one by the randomized SVD.
DENSE_FALLBACK_ENTRIES = 25_000_000


def _solve(solver: str, m: sp.csr_matrix, k: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The top-k singular triplets by one solver, largest first."""
    if solver == "dense":
        u, s, vt = np.linalg.svd(m.toarray(), full_matrices=False)
        return u[:, :k], s[:k], vt[:k]
    if solver == "randomized":
        from sklearn.utils.extmath import randomized_svd  # imported here: scikit-learn takes ~1 s to import

        return randomized_svd(m, k, random_state=seed)
    from scipy.sparse.linalg import svds

    # svds wants a start vector of length shape[0] for PROPACK and min(shape) for ARPACK
    v0 = np.random.default_rng(seed).uniform(-1.0, 1.0, size=m.shape[0] if solver == "propack" else min(m.shape))
    u, s, vt = svds(m, k=k, v0=v0, solver=solver)
    order = np.argsort(s)[::-1]
    return u[:, order], s[order], vt[order]


def sparse_svd(m: sp.csr_matrix, k: int, seed: int = 0,
               method: str = "propack") -> tuple[np.ndarray, np.ndarray, np.ndarray, str, str]:
    """(U, s, V^T, the solver used, a note) of the top-k triplets by `method`; where PROPACK or ARPACK does not
    converge (or fails otherwise) the next of PROPACK, ARPACK, then the dense SVD (the randomized one above
    DENSE_FALLBACK_ENTRIES entries) takes over, and the note says so. k < min(m.shape) for the sparse solvers."""
    chain = {"propack": ["propack", "arpack"], "arpack": ["arpack"], "randomized": ["randomized"]}[method]
    if chain[-1] != "randomized":
        chain.append("dense" if m.shape[0] * m.shape[1] <= DENSE_FALLBACK_ENTRIES else "randomized")
    failures = []
    for solver in chain:
        try:
            u, s, vt = _solve(solver, m, k, seed)
        except (np.linalg.LinAlgError, RuntimeError) as exc:  # ArpackNoConvergence and ArpackError are RuntimeErrors
            failures.append(f"{SOLVER_NAMES[solver]} failed ({_first_line(exc)})")
            continue
        if not (np.all(np.isfinite(s)) and np.all(np.isfinite(u)) and np.all(np.isfinite(vt))):
            failures.append(f"{SOLVER_NAMES[solver]} returned non-finite values")
            continue
        note = f"{'; '.join(failures)}: {SOLVER_NAMES[solver]} was used instead" if failures else ""
        return u, s, vt, solver, note
    raise ValueError(f"The SVD failed: {'; '.join(failures)}.")


def _first_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def truncated_svd(
    matrix: sp.spmatrix | np.ndarray, dim: int, seed: int = 0, power: float = 0.5, method: str = "arpack"
) -> SvdResult:
    """The top-`dim` singular triplets of a (sparse) matrix, and word vectors U * S**power.

    power = 0.5 (U sqrt(S), the default) splits the spectrum evenly between words and contexts, which
    Levy, Goldberg & Dagan (2015) found better for similarity than U S (power = 1) used in classic LSA.
    method "arpack" (scipy.sparse.linalg.svds from a seeded start vector) is exact; "propack" (svds' Lanczos
    bidiagonalisation) is exact too and about 10x faster on a 6,000-word PPMI matrix; "randomized"
    (scikit-learn's randomized_svd) is about 5x faster on a 6,000-word PPMI matrix but its smaller singular
    values come out a few per cent low. Where PROPACK or ARPACK fails, the next solver takes over (see
    sparse_svd): the result's `solver` and `note` say which gave it. Only matrices whose smaller side is at
    most DENSE_SVD_LIMIT are decomposed densely at once. `dim` is capped at the smaller side (at one less on
    the sparse path). Results are the same for the same seed; signs are fixed so that each U column's
    largest-magnitude entry is positive.
    """
    import scipy.sparse as sp
    if dim < 1:
        raise ValueError("dim must be at least 1")
    if method not in ("arpack", "propack", "randomized"):
        raise ValueError(f"unknown SVD method {method!r}: use 'arpack', 'propack' or 'randomized'")
    m = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    m.sum_duplicates()
    smaller = min(m.shape)
    if smaller < 1:
        raise ValueError("cannot decompose an empty matrix")
    frobenius_sq = float(np.square(m.data).sum())
    solver, note = "dense", ""
    if smaller <= DENSE_SVD_LIMIT:
        u, s, vt = _solve("dense", m, min(dim, smaller), seed)
    elif method == "randomized":
        u, s, vt, solver, note = sparse_svd(m, min(dim, smaller), seed, method)
    else:
        u, s, vt, solver, note = sparse_svd(m, min(dim, smaller - 1), seed, method)
    u, vt = _fix_signs(u, vt)
    explained = s**2 / frobenius_sq if frobenius_sq > 0 else np.zeros_like(s)
    vectors = (u * s**power).astype(np.float32)
    return SvdResult(vectors=np.ascontiguousarray(vectors), singular_values=s, explained_ratio=explained,
                     components=vt, solver=solver, note=note)


def top_block(matrix: sp.spmatrix | np.ndarray, n: int) -> np.ndarray:
    """The dense n x n block (float32, C-contiguous, for a heatmap) of ids 0..n-1, the n most frequent words."""
    import scipy.sparse as sp
    if n < 0:
        raise ValueError("n cannot be negative")
    m = sp.csr_matrix(matrix)
    n = min(n, m.shape[0], m.shape[1])
    return np.ascontiguousarray(m[:n, :n].toarray(), dtype=np.float32)
