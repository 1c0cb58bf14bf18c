"""Principal component analysis of a cube, streamed over chunks of rows.

Pixels are samples and bands are features. The fit starts from the pixels' moments
(:mod:`cubescope.stats`: one streamed pass, float64 sums of shifted cross-products). The
covariance is ``bands x bands``, so its eigendecomposition is instant; components follow
scikit-learn's names and sign convention (each component's largest-magnitude loading is
positive). Transforming is a second streamed pass that writes only the output.

No-data pixels (NaN or the no-data value in any used band) are left out of the fit and come
out as NaN; bad bands are left out of the features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.products import Compute, Product, applied
from cubescope.stats import (
    _BLOCK,
    MAX_FEATURES,
    Moments,
    _feature_bands,
    _map_chunks,
    _pixels,
    _row_chunks,
    _valid_pixels,
    pixel_moments,
    work_dtype,
)
from cubescope.viewport import box_mask


@dataclass(frozen=True)
class PCAResult:
    """A fitted PCA, with scikit-learn's attribute names.

    Attributes
    ----------
    components_ : ndarray, shape (k, n_features)
        Principal axes (rows, unit length), largest-magnitude loading positive.
    mean_ : ndarray, shape (n_features,)
    explained_variance_ : ndarray, shape (k,)
        Variance along each component (ddof=1), i.e. eigenvalues of the covariance.
    explained_variance_ratio_ : ndarray, shape (k,)
        ``explained_variance_`` over the total variance (trace of the covariance).
    cumulative_variance_ratio_ : ndarray, shape (k,)
    total_variance_ : float
    n_samples_ : int
        Pixels used in the fit.
    bands_ : ndarray of int, shape (n_features,)
        Cube bands used as features.
    all_variance_ratio_ : ndarray, shape (n_features,)
        Ratios of every component (for a scree plot beyond ``k``).
    """

    components_: np.ndarray
    mean_: np.ndarray
    explained_variance_: np.ndarray
    explained_variance_ratio_: np.ndarray
    cumulative_variance_ratio_: np.ndarray
    total_variance_: float
    n_samples_: int
    bands_: np.ndarray
    all_variance_ratio_: np.ndarray

    @property
    def n_components_(self) -> int:
        return self.components_.shape[0]

    def components_needed(self, fraction: float) -> int | None:
        """Fewest components whose cumulative ratio reaches ``fraction`` (None if all do not)."""
        reached = np.flatnonzero(np.cumsum(self.all_variance_ratio_) >= fraction - 1e-12)
        return int(reached[0]) + 1 if reached.size else None

    # ------------------------------------------------------------------ transforms
    def transform(self, cube: Cube, out: np.ndarray | None = None) -> np.ndarray:
        """PC images of ``cube``: shape ``(rows, cols, k)``, NaN where a pixel lacks data.

        The result is a view of a band-sequential ``(k, rows, cols)`` array (``out`` if given),
        so each PC image ``scores[:, :, i]`` is contiguous in memory.
        """
        self._check_cube(cube)
        dtype = work_dtype(cube.dtype)
        k = self.n_components_
        if out is None:
            out = np.empty((k, cube.rows, cube.cols), dtype)
        weights = self.components_.astype(dtype)
        mean = self.mean_.astype(dtype)

        def project(rows: slice) -> None:
            project_chunk(_pixels(cube, self.bands_, rows), weights, mean, cube.nodata, out[:, rows].reshape(k, -1))

        _map_chunks(project, _row_chunks(cube, self.bands_.size))
        return np.moveaxis(out, 0, 2)

    def inverse_transform(self, scores: np.ndarray) -> np.ndarray:
        """Spectra (over ``bands_``) from scores: ``(..., k) -> (..., n_features)``."""
        return np.asarray(scores) @ self.components_ + self.mean_

    def reconstruction_error(self, cube: Cube) -> np.ndarray:
        """Root-mean-square difference per pixel between its spectrum (over ``bands_``) and its
        reconstruction from the ``k`` components; shape ``(rows, cols)``, NaN without data."""
        self._check_cube(cube)
        out = np.empty((cube.rows, cube.cols))
        mean = self.mean_[:, None]
        for rows in _row_chunks(cube, self.bands_.size):
            raw = _pixels(cube, self.bands_, rows)
            centred = raw.astype(np.float64) - mean
            residual = centred - self.components_.T @ (self.components_ @ centred)
            error = np.sqrt(np.mean(residual * residual, axis=0))
            error[~_valid_pixels(raw, cube.nodata, None)] = np.nan
            out[rows] = error.reshape(-1, cube.cols)
        return out

    def explained_variance_on(self, cube: Cube, mask: np.ndarray | None = None) -> np.ndarray:
        """Fraction of the variance of other data (another cube, or pixels not in the fit)
        that each component explains.

        Each component's share is the variance of the data's projections on it (centred with
        the fit's mean, so projections of new data are the scores :meth:`transform` gives)
        divided by the data's own total variance. On the fitted pixels this equals
        ``explained_variance_ratio_``; on other data it is usually lower, and the components
        are no longer ordered by it nor uncorrelated there, because they were chosen to
        maximise variance on the fitted pixels, not on these.
        """
        self._check_cube(cube)
        moments = pixel_moments(cube, mask, self.bands_)
        projected = np.einsum("kb,bc,kc->k", self.components_, moments.covariance, self.components_)
        return projected / np.trace(moments.covariance)

    def _check_cube(self, cube: Cube) -> None:
        if cube.n_bands <= self.bands_[-1]:
            raise CubeError(
                f"The PCA was fitted on band {self.bands_[-1]}; this cube has only {cube.n_bands} bands."
            )


def project_chunk(raw: np.ndarray, weights: np.ndarray, mean: np.ndarray, nodata: float | None,
                  out: np.ndarray) -> np.ndarray:
    """Scores of one chunk of pixels: ``weights @ (raw - mean)``, NaN where a pixel lacks data.

    Parameters
    ----------
    raw : ndarray, shape (features, pixels)
    weights : ndarray, shape (k, features)
        Components, in the working float type.
    mean : ndarray, shape (features,)
    nodata : float, optional
    out : ndarray, shape (k, pixels)
    """
    dtype = weights.dtype
    centre = mean.astype(dtype)[:, None]
    buffer = np.empty((raw.shape[0], min(_BLOCK, max(raw.shape[1], 1))), dtype)
    for start in range(0, raw.shape[1], _BLOCK):
        stop = min(start + _BLOCK, raw.shape[1])
        block = raw[:, start:stop]
        # Centre first, then project: exact for data with large offsets. NaN propagates.
        centred = np.subtract(block, centre, out=buffer[:, :stop - start], dtype=dtype, casting="unsafe")
        scores = np.matmul(weights, centred, out=out[:, start:stop])
        if nodata is not None or not np.isfinite(scores).all():
            scores[:, ~_valid_pixels(block, nodata, None)] = np.nan
    return out


#: The most principal components the app fits (and a link may ask for).
MAX_COMPONENTS = 20


def fit_pca(
    cube: Cube,
    n_components: int,
    mask: np.ndarray | None = None,
    bands: np.ndarray | list[int] | None = None,
) -> PCAResult:
    """Fit a PCA to the pixels of a cube.

    Parameters
    ----------
    cube : Cube
    n_components : int
        Components to keep (1 to the number of used bands).
    mask : ndarray of bool, shape (rows, cols), optional
        Pixels to fit on (e.g. a region); default all pixels with data.
    bands : sequence of int, optional
        Bands to use; default every band not on the bad-band list.

    Returns
    -------
    PCAResult

    Examples
    --------
    >>> from cubescope.demo import demo_cube
    >>> pca = fit_pca(demo_cube(), 3)
    >>> pca.components_.shape  # components x bands used
    (3, 128)
    >>> float(pca.explained_variance_ratio_[0].round(2))  # the first component: brightness
    0.96
    >>> pca.transform(demo_cube()).shape  # each pixel's scores
    (200, 240, 3)
    """
    feature_bands = _feature_bands(cube, bands)
    if feature_bands.size > MAX_FEATURES:
        raise CubeError(
            f"PCA on {feature_bands.size:,} bands needs a {feature_bands.size:,} x {feature_bands.size:,} covariance "
            f"matrix and its eigen-decomposition; this server fits PCA on up to {MAX_FEATURES:,} bands. "
            "Bin or select bands first (e.g. every 4th band)."
        )
    if not 1 <= n_components <= feature_bands.size:
        raise CubeError(
            f"The number of components must be between 1 and {feature_bands.size} (the bands used); "
            f"got {n_components}."
        )
    return pca_from_moments(pixel_moments(cube, mask, feature_bands), n_components, feature_bands)


def pca_from_moments(moments: Moments, n_components: int, bands: np.ndarray) -> PCAResult:
    """The PCA of pixels with these moments (``bands``: the cube bands used as features)."""
    if not (np.all(np.isfinite(moments.covariance)) and np.all(np.isfinite(moments.mean))):
        raise CubeError(
            "The values are too large for a PCA: their squares overflow the floating-point range. "
            "Divide the cube by a constant (e.g. its scale factor) first, or leave out the bands with huge values."
        )
    try:
        eigenvalues, eigenvectors = np.linalg.eigh(moments.covariance)
    except np.linalg.LinAlgError as exc:
        raise CubeError(
            "The PCA did not converge on these values (they are near the floating-point limits). Divide the "
            "cube by a constant first, or leave out the bands with extreme values."
        ) from exc
    order = np.argsort(eigenvalues)[::-1]
    eigenvalues = np.clip(eigenvalues[order], 0.0, None)
    vectors = eigenvectors[:, order].T
    # scikit-learn's svd_flip(u_based_decision=False): largest |loading| positive.
    signs = np.sign(vectors[np.arange(vectors.shape[0]), np.argmax(np.abs(vectors), axis=1)])
    vectors *= np.where(signs == 0, 1.0, signs)[:, None]
    total = float(np.trace(moments.covariance))
    if total <= 0:
        raise CubeError("Every used band is constant over these pixels: there is no variance to analyse.")
    ratios = eigenvalues / total
    return PCAResult(
        components_=vectors[:n_components],
        mean_=moments.mean,
        explained_variance_=eigenvalues[:n_components],
        explained_variance_ratio_=ratios[:n_components],
        cumulative_variance_ratio_=np.cumsum(ratios[:n_components]),
        total_variance_=total,
        n_samples_=moments.n_samples,
        bands_=np.asarray(bands),
        all_variance_ratio_=ratios,
    )


def fit_on_region(cube: Cube, n_components: int, region: tuple[int, int, int, int] | None = None) -> PCAResult:
    """:func:`fit_pca` on the pixels of ``region`` = ``(row0, row1, col0, col1)`` (end-exclusive;
    None: the whole cube)."""
    return fit_pca(cube, n_components, mask=box_mask(region, cube.rows, cube.cols))


@dataclass(frozen=True)
class PCImage(Product):
    """The scores of principal component ``component`` (0-based) of a ``k``-component PCA fitted
    on ``region`` (None: the whole cube); NaN where a pixel has no data."""

    k: int
    region: tuple[int, int, int, int] | None
    component: int
    doing = "Computing the PC images…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        fitted = compute(fit_on_region, self.k, self.region)
        return compute(applied, fitted)[:, :, self.component]


@dataclass(frozen=True)
class ErrorImage(Product):
    """The RMS error of each pixel's reconstruction from ``k`` principal components, in the
    cube's units."""

    k: int
    region: tuple[int, int, int, int] | None
    doing = "Reconstructing every pixel…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        return compute(fit_on_region, self.k, self.region).reconstruction_error(cube)
