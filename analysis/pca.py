"""PCA of the mean-imputed, centred vote matrix, and Polis's sparsity-aware projection.

Imputing a missing vote with its column mean and then centring gives 0 in that cell, so the
centred matrix has exactly the sparsity of the votes: it is built as a CSR of
``vote - column mean`` over the voted cells and never densified. The top components come
from Lanczos (ARPACK ``svds``) or, for tiny matrices, from the small Gram matrix.
Polis: ``math/src/polismath/math/pca.clj`` (``sparsity-aware-project-ptpt``) and
``conversation.clj`` (``:mat`` imputes column means; ``:proj``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.sparse.linalg import svds

from analysis.matrix import VoteMatrix

__all__ = ["PCAResult", "centred_matrix", "column_means", "project"]

_SMALL = 300
"""Up to this many rows or columns the exact Gram-matrix eigensolver is used (cheaper
than Lanczos' per-iteration overhead at that size; the Gram matrix is at most 300 x 300)."""


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
            gram = (centred.T @ centred).toarray()
            values, vectors = np.linalg.eigh(gram)
            top = np.argsort(values)[::-1][:k]
            return vectors[:, top].T, np.sqrt(np.clip(values[top], 0, None))
        gram = (centred @ centred.T).toarray()
        values, vectors = np.linalg.eigh(gram)
        top = np.argsort(values)[::-1][:k]
        sigma = np.sqrt(np.clip(values[top], 0, None))
        right = (centred.T @ vectors[:, top]).T
        norms = np.linalg.norm(right, axis=1)
        right = np.divide(right, norms[:, None], out=np.zeros_like(right), where=norms[:, None] > 0)
        return right, sigma
    if start is not None and start.shape == (k, n_cols):
        warm = _subspace_iteration(centred, start)
        if warm is not None:
            return warm
    if start is not None and start.shape[-1] == n_cols and np.any(start[0]):
        v0 = start[0] if n_cols <= n_rows else centred @ start[0]
    else:
        v0 = rng.uniform(-1.0, 1.0, size=min(n_rows, n_cols))
    if not np.any(v0):
        v0 = rng.uniform(-1.0, 1.0, size=min(n_rows, n_cols))
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
