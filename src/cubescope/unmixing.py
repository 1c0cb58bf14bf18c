"""Linear unmixing: abundances of endmembers in every pixel, and endmember extraction.

:func:`unmix` solves non-negative least squares per pixel, optionally with the abundances
summing to one (fully constrained least squares), exactly and for every pixel at once: with a
few endmembers (the usual 3 to 10) the optimum is the least-squares solution on the one subset
of endmembers (its support) where that solution is feasible and best, so every subset is solved
for all pixels in closed form on the ``p x p`` Gram matrix and the best feasible one kept per
pixel. No per-pixel Python loop, no iterative tolerance: the answer equals
``scipy.optimize.nnls`` to rounding.

:func:`atgp` picks endmembers from the image by the automatic target generation process (Ren &
Chang 2003, IEEE Trans. Aerospace and Electronic Systems 39(4), 1232-1249): the brightest
pixel, then repeatedly the pixel with the largest part outside the span of those found.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from cubescope.cube import Cube, band_mask
from cubescope.errors import CubeError
from cubescope.products import Compute, Product

#: Most endmembers :func:`unmix` takes (it solves 2^p - 1 small systems per pixel).
MAX_ENDMEMBERS = 10
_CHUNK_PIXELS = 16384


def unmix(data: Any, endmembers: Any, *, sum_to_one: bool = False, bands: Any = None) -> np.ndarray:
    """Abundances of ``endmembers`` in each spectrum: ``min ||E^T a - x||`` with ``a >= 0``
    (and ``sum(a) = 1`` with ``sum_to_one``).

    Parameters
    ----------
    data : Cube or array_like, shape (..., bands)
        A Cube is read row chunk by row chunk; its bad bands are left out.
    endmembers : array_like, shape (n_endmembers, bands)
    sum_to_one : bool
        The exact fully constrained solution (not the non-negative one rescaled afterwards).
    bands : array_like of bool or int, optional
        Only these bands count.

    Returns
    -------
    ndarray, shape (..., n_endmembers) (``(rows, cols, n)`` for a Cube), float64
        NaN for a spectrum with NaN in a counted band.

    Examples
    --------
    >>> import numpy as np
    >>> ends = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    >>> unmix(0.25 * ends[0] + 0.75 * ends[1], ends).round(6)
    array([0.25, 0.75])
    """
    ends = np.atleast_2d(np.asarray(endmembers, dtype=np.float64))
    p = ends.shape[0]
    if not 1 <= p <= MAX_ENDMEMBERS:
        raise CubeError(f"Unmixing takes 1 to {MAX_ENDMEMBERS} endmembers; got {p}.")
    if not np.isfinite(ends).all():
        raise CubeError("An endmember has a NaN value; resample it to the cube's bands or leave those bands out.")
    if isinstance(data, Cube):
        keep = data.good_bands if bands is None else band_mask(bands, data.n_bands)
        out = np.empty((data.rows, data.cols, p))
        for rows in data.iter_row_chunks(16 * 2**20):
            block = data.row_block(rows, np.flatnonzero(keep))
            spectra = block.reshape(block.shape[0], -1).T
            out[rows] = _solve(spectra, ends[:, keep], sum_to_one).reshape(-1, data.cols, p)
        return out
    array = np.asarray(data, dtype=np.float64)
    if array.shape[-1] != ends.shape[1]:
        raise CubeError(f"Endmembers of {ends.shape[1]} bands for spectra of {array.shape[-1]}.")
    keep = np.ones(ends.shape[1], bool) if bands is None else band_mask(bands, ends.shape[1])
    flat = array.reshape(-1, array.shape[-1])[:, keep]
    return _solve(flat, ends[:, keep], sum_to_one).reshape(*array.shape[:-1], p)


def _solve(spectra: np.ndarray, ends: np.ndarray, sum_to_one: bool) -> np.ndarray:
    """Exact constrained least squares for ``spectra`` (n, bands) against ``ends`` (p, bands)."""
    n, p = spectra.shape[0], ends.shape[0]
    out = np.full((n, p), np.nan)
    gram = ends @ ends.T
    subsets = [s for size in range(1, p + 1) for s in combinations(range(p), size)]
    for start in range(0, n, _CHUNK_PIXELS):
        x = np.asarray(spectra[start:start + _CHUNK_PIXELS], dtype=np.float64)
        valid = np.isfinite(x).all(axis=1)
        x = np.where(valid[:, None], x, 0.0)
        b = x @ ends.T  # (m, p): every subset's right-hand side is a part of this
        best_cost = np.full(len(x), np.inf)
        best = np.zeros((len(x), p))
        for subset in subsets:
            index = list(subset)
            g = gram[np.ix_(index, index)]
            inverse = np.linalg.pinv(g)
            coefficients = b[:, index] @ inverse
            if sum_to_one:
                ones = inverse.sum(axis=0)
                total = ones.sum()
                if total <= 0:
                    continue
                shift = (coefficients.sum(axis=1, keepdims=True) - 1.0) / total
                coefficients = coefficients - shift * ones
            feasible = (coefficients >= -1e-12).all(axis=1)
            # ||x - E_S^T a||^2 - ||x||^2 = a^T G a - 2 a.b: the same constant dropped for all subsets.
            cost = ((coefficients @ g - 2 * b[:, index]) * coefficients).sum(axis=1)
            better = feasible & (cost < best_cost)
            if not better.any():
                continue
            rows = np.flatnonzero(better)
            best_cost[rows] = cost[rows]
            best[rows] = 0.0
            best[rows[:, None], index] = np.maximum(coefficients[rows], 0.0)
        best[~valid] = np.nan
        out[start:start + len(x)] = best
    return out


def residual_error(data: Any, endmembers: Any, abundances: np.ndarray, *, bands: Any = None) -> np.ndarray:
    """Root-mean-square residual ``||x - E^T a|| / sqrt(bands)`` per spectrum (the error map)."""
    ends = np.atleast_2d(np.asarray(endmembers, dtype=np.float64))
    if isinstance(data, Cube):
        keep = data.good_bands if bands is None else band_mask(bands, data.n_bands)
        out = np.empty((data.rows, data.cols))
        for rows in data.iter_row_chunks(16 * 2**20):
            block = data.row_block(rows, np.flatnonzero(keep))
            spectra = block.reshape(block.shape[0], -1).T
            fitted = abundances[rows].reshape(-1, ends.shape[0]) @ ends[:, keep]
            out[rows] = np.sqrt(np.mean((spectra - fitted) ** 2, axis=1)).reshape(-1, data.cols)
        return out
    array = np.asarray(data, dtype=np.float64)
    keep = np.ones(ends.shape[1], bool) if bands is None else band_mask(bands, ends.shape[1])
    fitted = abundances @ ends[:, keep]
    return np.sqrt(np.mean((array[..., keep] - fitted) ** 2, axis=-1))


def atgp(cube: Cube, n: int, *, bands: Any = None) -> tuple[list[tuple[int, int]], np.ndarray]:
    """``n`` endmembers by the automatic target generation process (Ren & Chang 2003).

    Returns
    -------
    pixels : list of (row, col)
    spectra : ndarray, shape (n, bands) (all the cube's bands, NaN at bad ones)
    """
    if not 1 <= n <= min(MAX_ENDMEMBERS, cube.rows * cube.cols):
        raise CubeError(f"ATGP finds 1 to {MAX_ENDMEMBERS} endmembers; got {n}.")
    keep = cube.good_bands if bands is None else band_mask(bands, cube.n_bands)
    chosen = np.flatnonzero(keep)
    found: list[tuple[int, int]] = []
    targets = np.zeros((0, chosen.size))
    for _ in range(n):
        projector = None
        if len(targets):
            u = np.linalg.pinv(targets.T)
            projector = np.eye(chosen.size) - targets.T @ u
        best, where = -1.0, None
        for rows in cube.iter_row_chunks(16 * 2**20):
            block = cube.row_block(rows, chosen)
            spectra = block.reshape(block.shape[0], -1).T.astype(np.float64)
            residual = spectra if projector is None else spectra @ projector.T
            norms = np.einsum("ij,ij->i", residual, residual)
            norms[~np.isfinite(norms)] = -1.0
            k = int(np.argmax(norms))
            if norms[k] > best:
                best, where = float(norms[k]), (rows.start + k // cube.cols, k % cube.cols)
        if where is None or best <= 0:
            break
        found.append(where)
        targets = np.vstack([targets, cube.spectrum(*where)[chosen]])
    spectra = np.array([cube.spectrum(r, c) for r, c in found])
    return found, spectra


@dataclass(frozen=True, eq=False)
class AbundanceImage(Product):
    """The abundance of endmember ``index`` of ``endmembers`` ``(n, bands)`` in every pixel;
    ``index`` = n: the residual error (RMS) of the unmixing."""

    endmembers: np.ndarray
    sum_to_one: bool
    index: int
    doing = "Unmixing every pixel…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        abundances = compute(unmix, self.endmembers, sum_to_one=self.sum_to_one)
        if self.index < len(self.endmembers):
            return abundances[:, :, self.index]
        return residual_error(cube, self.endmembers, abundances)
