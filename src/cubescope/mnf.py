"""Minimum noise fraction (Green et al. 1988; Lee et al. 1990's noise-adjusted PCA).

Components are ordered by signal-to-noise ratio rather than by variance: the generalized
eigenvectors of the data covariance against the noise covariance. The noise covariance is
estimated from differences of horizontally adjacent pixels (centred, halved, ddof 1), as
Spectral Python's ``noise_from_diffs(X, direction="right")`` does, so the eigenvalues equal
``spectral.mnf(calc_stats(X), noise_from_diffs(X, direction="right"))``'s. Both covariances are
accumulated in one streamed float64 pass per statistic, chunk by chunk of rows, on every core.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.pca import project_chunk
from cubescope.products import Compute, Product, applied
from cubescope.stats import (
    MAX_FEATURES,
    Moments,
    _check_mask,
    _feature_bands,
    _map_chunks,
    _pixels,
    _row_chunks,
    _sum_chunks,
    chunk_gram,
    moments_from_gram,
    pixel_moments,
    work_dtype,
)


@dataclass(frozen=True)
class MNFResult:
    """A fitted minimum noise fraction.

    Attributes
    ----------
    components_ : ndarray, shape (k, n_features)
        Scores are ``(x - mean_) @ components_.T``; each component's noise has unit variance.
    eigenvalues_ : ndarray, shape (k,)
        Descending generalized eigenvalues of the data covariance against the noise covariance
        (each component's variance over its noise variance, i.e. 1 + SNR).
    snr_ : ndarray, shape (k,)
        ``eigenvalues_ - 1``.
    all_eigenvalues_ : ndarray, shape (n_features,)
    mean_ : ndarray, shape (n_features,)
    noise_covariance_ : ndarray, shape (n_features, n_features)
    inverse_components_ : ndarray, shape (k, n_features)
        Rows that map scores back to spectra: ``x = mean_ + scores @ inverse_components_``
        (exact with all components; with ``k`` of them, the noise-reduced reconstruction).
    bands_ : ndarray of int
        Cube bands used as features.
    n_samples_ : int
        Pixels used for the data covariance.
    """

    components_: np.ndarray
    eigenvalues_: np.ndarray
    snr_: np.ndarray
    all_eigenvalues_: np.ndarray
    mean_: np.ndarray
    noise_covariance_: np.ndarray
    inverse_components_: np.ndarray
    bands_: np.ndarray
    n_samples_: int

    @property
    def n_components_(self) -> int:
        return self.components_.shape[0]

    def transform(self, cube: Cube) -> np.ndarray:
        """MNF images ``(rows, cols, k)``, NaN where a pixel lacks data (a view of a
        band-sequential array: each image contiguous)."""
        if cube.n_bands <= self.bands_[-1]:
            raise CubeError(f"The MNF was fitted on band {self.bands_[-1]}; this cube has {cube.n_bands} bands.")
        dtype = work_dtype(cube.dtype)
        k = self.n_components_
        out = np.empty((k, cube.rows, cube.cols), dtype)
        weights = self.components_.astype(dtype)

        def project(rows: slice) -> None:
            project_chunk(_pixels(cube, self.bands_, rows), weights, self.mean_, cube.nodata,
                          out[:, rows].reshape(k, -1))

        _map_chunks(project, _row_chunks(cube, self.bands_.size))
        return np.moveaxis(out, 0, 2)

    def inverse_transform(self, scores: np.ndarray) -> np.ndarray:
        """Spectra over ``bands_`` from scores ``(..., k)``: the noise-reduced reconstruction."""
        return np.asarray(scores) @ self.inverse_components_ + self.mean_


def noise_gram(block: np.ndarray, dtype: np.dtype, nodata: float | None = None,
               mask: np.ndarray | None = None) -> np.ndarray:
    """:func:`cubescope.pca.chunk_gram` of the differences of horizontally adjacent pixels in
    ``block`` (features, rows, cols), as stored; a difference counts when both pixels have data
    (and, with ``mask`` (rows, cols), both lie in it)."""
    features = block.shape[0]
    if nodata is None:
        deltas = np.subtract(block[:, :, :-1], block[:, :, 1:], dtype=dtype)
    else:
        values = np.array(block, dtype=dtype)
        values[block == nodata] = np.nan
        deltas = values[:, :, :-1] - values[:, :, 1:]
    deltas = deltas.reshape(features, -1)
    inside = None if mask is None else (mask[:, :-1] & mask[:, 1:]).ravel()
    return chunk_gram(deltas, np.zeros(features), dtype, None, inside)


def noise_moments(cube: Cube, mask: np.ndarray | None = None, bands: np.ndarray | None = None):
    """Mean and covariance (ddof 1, halved) of differences of horizontally adjacent pixels."""
    bands = _feature_bands(cube, bands)
    mask = _check_mask(cube, mask)
    if cube.cols < 2:
        raise CubeError("The noise is estimated from neighbouring columns; this image has only one column.")
    dtype = np.dtype(np.float64)
    nodata = None if cube.is_scaled else cube.nodata  # scaled samples arrive as floats with NaN

    def accumulate(rows: slice) -> np.ndarray:
        block = _pixels(cube, bands, rows).reshape(bands.size, -1, cube.cols)
        return noise_gram(block, dtype, nodata, None if mask is None else mask[rows])

    moments = moments_from_gram(_sum_chunks(accumulate, _row_chunks(cube, bands.size)), np.zeros(bands.size))
    return moments.mean, moments.covariance / 2.0


def mnf(cube: Cube, n_components: int, *, mask: np.ndarray | None = None,
        bands: np.ndarray | list[int] | None = None) -> MNFResult:
    """Fit a minimum noise fraction transform.

    Parameters
    ----------
    cube : Cube
    n_components : int
        Components kept (1 to the number of used bands).
    mask : ndarray of bool, shape (rows, cols), optional
        Pixels the statistics are taken from (default all with data).
    bands : sequence of int, optional
        Bands used (default every band not flagged bad).

    Returns
    -------
    MNFResult

    Raises
    ------
    CubeError
        When the noise covariance is singular (a band without noise: constant, or a copy of
        another), or the parameters do not fit the cube.

    Examples
    --------
    >>> from cubescope.demo import demo_cube
    >>> fitted = mnf(demo_cube(), 5)
    >>> fitted.components_.shape
    (5, 128)
    >>> bool(fitted.snr_[0] > fitted.snr_[-1])  # components by falling signal to noise
    True
    """
    feature_bands = _feature_bands(cube, bands)
    if feature_bands.size > MAX_FEATURES:
        raise CubeError(f"MNF on {feature_bands.size:,} bands is beyond what this server fits ({MAX_FEATURES:,}).")
    if not 1 <= n_components <= feature_bands.size:
        raise CubeError(f"The number of components must be between 1 and {feature_bands.size}; got {n_components}.")
    # float64 products: the generalized eigenvalues near 1 (components mostly noise) are
    # sensitive to the covariances' last digits, which float32 products would lose.
    signal = pixel_moments(cube, mask, feature_bands, dtype=np.float64)
    _, noise = noise_moments(cube, mask, feature_bands)
    return mnf_from_moments(signal, noise, n_components, feature_bands)


def mnf_from_moments(signal: Moments, noise: np.ndarray, n_components: int, bands: np.ndarray) -> MNFResult:
    """The MNF of pixels with these data moments and this noise covariance."""
    import scipy.linalg  # on first use: storing cubes, which imports the package, never needs it

    if not (np.isfinite(signal.covariance).all() and np.isfinite(noise).all()):
        raise CubeError("The values are too large for an MNF (their squares overflow); scale the cube down first.")
    try:
        eigenvalues, vectors = scipy.linalg.eigh(signal.covariance, noise)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise CubeError(
            "The noise covariance is singular: some band has no pixel-to-pixel noise (constant, or a copy of "
            "another band). Flag such bands as bad, or choose the bands to use."
        ) from exc
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues, vectors = eigenvalues[order], vectors[:, order]
    # One sign per component, as in PCA: its largest-magnitude weight positive.
    signs = np.sign(vectors[np.argmax(np.abs(vectors), axis=0), np.arange(vectors.shape[1])])
    vectors = vectors * np.where(signs == 0, 1.0, signs)
    components = vectors[:, :n_components].T
    inverse = components @ noise  # rows of inv(V): V.T N V = I
    return MNFResult(components, eigenvalues[:n_components], eigenvalues[:n_components] - 1.0, eigenvalues,
                     signal.mean, noise, inverse, bands, signal.n_samples)


@dataclass(frozen=True)
class MNFImage(Product):
    """Component ``component`` (0-based) of a ``k``-component MNF of the whole cube."""

    k: int
    component: int
    doing = "Computing the MNF images…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        return compute(applied, compute(mnf, self.k))[:, :, self.component]
