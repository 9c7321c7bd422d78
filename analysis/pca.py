"""PCA of the mean-imputed, centred vote matrix, and Polis's sparsity-aware projection.

Imputing a missing vote with its column mean and then centring gives 0 in that cell, so the
centred matrix has exactly the sparsity of the votes: it is built as a CSR of
``vote - column mean`` over the voted cells and never densified. The top components come
from Lanczos bidiagonalisation (PROPACK through ``svds``) or, for small matrices, from the
Gram matrix.
Polis: ``math/src/polismath/math/pca.clj`` (``sparsity-aware-project-ptpt``) and
``conversation.clj`` (``:mat`` imputes column means; ``:proj``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.linalg import eigh
from scipy.sparse.linalg import svds

from analysis.matrix import VoteMatrix

__all__ = ["PCAResult", "centred_matrix", "column_means", "project"]

_SMALL = 300
"""Up to this many rows or columns the exact Gram-matrix eigensolver is used (cheaper
than Lanczos' per-iteration overhead at that size; the Gram matrix is at most 300 x 300)."""

_BLOCK_CELLS = 1 << 18
_DENSE_BLOCKS_FROM = 0.05
"""From this share of cells voted on, the Gram matrix is summed over dense row blocks of at
most ``_BLOCK_CELLS`` cells (2 MB as float64): dense BLAS then beats a sparse product whose
result is dense anyway, and memory stays bounded by one block. Sparser data keeps the
sparse product (its cost grows with the square of the votes per row, not of the columns)."""


@dataclass(frozen=True, eq=False, slots=True)
class PCAResult:
    """Components (n_components x statements) and the participants' scaled projections."""

    components: NDArray[np.float64]
    mean: NDArray[np.float64]
    explained_variance: NDArray[np.float64]
    projections: NDArray[np.float64]
    scale: NDArray[np.float64]
    statement_extremity: NDArray[np.float64]


def column_means(matrix: VoteMatrix) -> NDArray[np.float64]:
    """Mean vote per statement over the participants who voted on it (0 when nobody did)."""
    csr = matrix.votes
    sums = np.bincount(csr.indices, weights=csr.data, minlength=matrix.n_statements)
    counts = np.bincount(csr.indices, minlength=matrix.n_statements)
    return np.divide(sums, counts, out=np.zeros(matrix.n_statements), where=counts > 0)


def centred_matrix(matrix: VoteMatrix, mean: NDArray[np.float64]) -> sp.csr_array:
    """``vote - mean`` on the voted cells; the imputed cells are exactly 0 after centring."""
    csr = matrix.votes
    return sp.csr_array((csr.data - mean[csr.indices], csr.indices, csr.indptr), shape=csr.shape)


def _flip_signs(components: NDArray[np.float64]) -> NDArray[np.float64]:
    """Deterministic signs: each component's largest absolute loading is positive."""
    if components.size == 0:
        return components
    pivot = np.argmax(np.abs(components), axis=1)
    signs = np.sign(components[np.arange(len(components)), pivot])
    signs[signs == 0] = 1.0
    flipped: NDArray[np.float64] = components * signs[:, None]
    return flipped


def _subspace_iteration(
    centred: sp.csr_array,
    start: NDArray[np.float64],
    *,
    tol: float = 1e-10,
    max_iter: int = 30,
) -> tuple[NDArray[np.float64], NDArray[np.float64]] | None:
    """Block power iteration on ``AᵀA`` from the previous components (Polis warm-starts its
    power iteration the same way); None when it has not converged, to fall back to Lanczos.

    Converged means every Ritz pair's residual ``|AᵀA v - s² v|`` is below ``tol * s₁²``.
    """
    basis, _ = np.linalg.qr(start.T)
    for _ in range(max_iter):
        product = np.asarray(centred.T @ (centred @ basis))
        # Rayleigh-Ritz on the current subspace.
        small = basis.T @ product
        values, vectors = np.linalg.eigh((small + small.T) / 2)
        order = np.argsort(values)[::-1]
        values, vectors = values[order], vectors[:, order]
        ritz = basis @ vectors
        residual = np.linalg.norm(product @ vectors - ritz * values, axis=0)
        if values[0] <= 0:
            return None
        if residual.max() <= tol * values[0]:
            return ritz.T, np.sqrt(np.clip(values, 0, None))
        basis, _ = np.linalg.qr(product)
    return None


def _gram(rows: sp.csr_array) -> NDArray[np.float64]:
    """``AᵀA`` (columns x columns, few columns), summed over dense row blocks."""
    n_rows, n_cols = rows.shape
    if rows.nnz < _DENSE_BLOCKS_FROM * n_rows * n_cols:
        return np.asarray((rows.T @ rows).toarray(), dtype=np.float64)
    gram = np.zeros((n_cols, n_cols))
    step = max(1, _BLOCK_CELLS // max(n_cols, 1))
    for start in range(0, n_rows, step):
        block = rows[start : start + step].toarray()
        gram += block.T @ block
    return gram


def _top_eigen(
    gram: NDArray[np.float64], k: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The ``k`` largest eigenpairs of a symmetric matrix, largest first."""
    n = len(gram)
    values, vectors = eigh(gram, subset_by_index=[n - k, n - 1])
    return values[::-1], vectors[:, ::-1]


def _top_components(
    centred: sp.csr_array,
    n_components: int,
    rng: np.random.Generator,
    start: NDArray[np.float64] | None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Right singular vectors (rows) and singular values of the top ``n_components``."""
    n_rows, n_cols = centred.shape
    k = min(n_components, n_rows, n_cols)
    if k == 0:
        return np.zeros((0, n_cols)), np.zeros(0)
    if min(n_rows, n_cols) <= max(_SMALL, k + 1):
        if n_cols <= n_rows:
            values, vectors = _top_eigen(_gram(centred), k)
            return vectors.T, np.sqrt(np.clip(values, 0, None))
        values, vectors = _top_eigen(_gram(sp.csr_array(centred.T)), k)
        sigma = np.sqrt(np.clip(values, 0, None))
        right = (centred.T @ vectors).T
        norms = np.linalg.norm(right, axis=1)
        right = np.divide(right, norms[:, None], out=np.zeros_like(right), where=norms[:, None] > 0)
        return right, sigma
    if start is not None and start.shape == (k, n_cols):
        warm = _subspace_iteration(centred, start)
        if warm is not None:
            return warm
    seed = start[0] if start is not None and start.shape[-1] == n_cols else None
    if seed is not None and not np.any(seed):
        seed = None
    try:
        # PROPACK (Lanczos bidiagonalisation with reorthogonalisation) gives the same
        # triplets as ARPACK to machine precision 1.2-2x faster here, but its Krylov
        # space is fixed (10 k vectors) ...
        v0 = np.asarray(centred @ seed) if seed is not None else rng.uniform(-1, 1, n_rows)
        if not np.any(v0):
            v0 = rng.uniform(-1.0, 1.0, size=n_rows)
        _, sigma, vt = svds(centred, k=k, v0=v0, solver="propack")
    except np.linalg.LinAlgError:
        # ... so when the top singular values lie too close for it, ARPACK restarts.
        if seed is None:
            v0 = rng.uniform(-1.0, 1.0, size=min(n_rows, n_cols))
        else:
            v0 = seed if n_cols <= n_rows else np.asarray(centred @ seed)
        _, sigma, vt = svds(centred, k=k, v0=v0, solver="arpack", random_state=rng)
    order = np.argsort(sigma)[::-1]
    return vt[order], sigma[order]


def project(
    matrix: VoteMatrix,
    *,
    n_components: int = 2,
    extra_pass_columns: int = 0,
    random_state: np.random.SeedSequence | int = 0,
    start: NDArray[np.float64] | None = None,
) -> PCAResult:
    """PCA, then each participant's projection scaled by sqrt(#statements / #voted).

    ``extra_pass_columns`` counts moderated-out statements that Polis zeroes rather than
    drops: they add to both the statement count and every participant's vote count.
    ``start`` (the previous components, statements aligned) warm-starts the solver.
    """
    rng = np.random.default_rng(random_state)
    mean = column_means(matrix)
    centred = centred_matrix(matrix, mean)
    vectors, sigma = _top_components(centred, n_components, rng, start)
    vectors = _flip_signs(vectors)
    components = np.zeros((n_components, matrix.n_statements))
    components[: len(vectors)] = vectors
    variance = np.zeros(n_components)
    variance[: len(sigma)] = sigma**2 / max(matrix.n_participants - 1, 1)
    total = matrix.n_statements + extra_pass_columns
    voted = matrix.votes_per_participant() + extra_pass_columns
    scale = np.sqrt(total / np.maximum(voted, 1))
    projections = np.asarray(centred @ components.T) * scale[:, None]
    # A lone agree vote on statement j, projected and scaled (Polis pca-project-cmnts).
    loadings = np.linalg.norm(components, axis=0)
    extremity = np.abs(1.0 - mean) * loadings * np.sqrt(total)
    return PCAResult(
        components=components,
        mean=mean,
        explained_variance=variance,
        projections=projections,
        scale=scale,
        statement_extremity=extremity,
    )
