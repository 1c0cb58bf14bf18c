"""Principal component analysis of a cube, streamed over chunks of rows.

Pixels are samples and bands are features. One pass over the cube accumulates, in float64,
the sum and the band-by-band cross-products of the pixels minus a shift (a sample mean of the
cube): with the shift close to the mean, the covariance ``(S2 - s1 s1ᵀ / n) / (n - 1)`` keeps
full precision even for data with a large offset (values ~10000 with a spread of ~1).

The pass runs over cache-sized blocks of pixels on every core. For float64 cubes everything is
float64; for float32 (and 8/16-bit) cubes the products inside one block of 32768 pixels are
formed in float32, which costs ~1e-6 relative in the covariance (below the data's own
precision), and the sums across blocks are float64. The
covariance is ``bands x bands``, so its eigendecomposition is instant; components follow
scikit-learn's names and sign convention (each component's largest-magnitude loading is
positive). Transforming is a second streamed pass that writes only the output.

No-data pixels (NaN or the no-data value in any used band) are left out of the fit and come
out as NaN; bad bands are left out of the features.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cubescope.cube import Cube, float_dtype_for
from cubescope.errors import CubeError

#: Bytes of float64 working data per chunk of rows (one chunk per task on the thread pool).
_CHUNK_BYTES = 8 * 2**20
#: Pixels per block inside a chunk: a block's centred samples stay in the CPU cache.
_BLOCK = 32768


#: Most bands a PCA is fitted on: the covariance is bands x bands (32 MB and about a second of
#: eigen-decomposition at 2000; 800 MB and minutes at 10000).
MAX_FEATURES = 2000


def _feature_bands(cube: Cube, bands: np.ndarray | list[int] | None) -> np.ndarray:
    if bands is None:
        return np.flatnonzero(cube.good_bands)
    chosen = np.unique(np.asarray(bands, dtype=int))
    if chosen.size == 0 or chosen[0] < 0 or chosen[-1] >= cube.n_bands:
        raise CubeError(f"Band choice for PCA must be within 0..{cube.n_bands - 1} and not empty.")
    return chosen


def _check_mask(cube: Cube, mask: np.ndarray | None) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask, bool)
    if mask.shape != (cube.rows, cube.cols):
        raise CubeError(f"The pixel mask has shape {mask.shape}; the image is {(cube.rows, cube.cols)}.")
    return mask


def _valid_pixels(block: np.ndarray, nodata: float | None, mask: np.ndarray | None) -> np.ndarray:
    """Which pixels (columns of a ``(features, pixels)`` block) have data in every used band."""
    take = np.ones(block.shape[1], bool) if mask is None else np.asarray(mask, bool).copy()
    if block.dtype.kind == "f":
        take &= np.isfinite(block).all(axis=0)
    if nodata is not None:
        take &= (block != nodata).all(axis=0)
    return take


def _row_chunks(cube: Cube, n_features: int) -> list[slice]:
    step = max(1, _CHUNK_BYTES // max(1, cube.cols * n_features * 8))
    return [slice(r, min(r + step, cube.rows)) for r in range(0, cube.rows, step)]


def _pixels(cube: Cube, bands: np.ndarray, rows: slice) -> np.ndarray:
    """``(features, pixels)`` samples of a chunk of rows, as stored (a view when possible)."""
    contiguous = bands[-1] - bands[0] == bands.size - 1
    block = cube.bsq[bands[0]:bands[-1] + 1, rows] if contiguous else cube.bsq[bands, rows]
    if cube.is_scaled:
        # Physical values (the file's gain and offset applied), no-data as NaN: a per-band
        # gain changes the covariance, so PCA must see what the pages show.
        block = cube.plane(block, bands)
    return block.reshape(bands.size, -1)


def work_dtype(dtype: np.dtype) -> np.dtype:
    """Type of the products inside a block for samples of ``dtype``: float64 for float64
    (and 32/64-bit integer) samples, float32 otherwise."""
    return np.dtype(np.float64 if float_dtype_for(dtype) == np.float64 else np.float32)


@lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # scanning the loaded libraries is slow: do it once


def _map_chunks(function, chunks: list[slice]) -> list:
    """``function`` over chunks of rows on every core. numpy and BLAS release the GIL; BLAS is
    held to one thread per worker so the workers do not oversubscribe the cores."""
    workers = min(len(chunks), os.cpu_count() or 1)
    if workers <= 1:
        return [function(chunk) for chunk in chunks]
    with _blas_controller().limit(limits=1, user_api="blas"), ThreadPoolExecutor(workers) as pool:
        return list(pool.map(function, chunks))


def _sum_chunks(function, chunks: list[slice]) -> np.ndarray:
    """The sum of ``function`` over chunks of rows, computed on every core and added as they
    come, one wave of workers at a time: at most one partial sum per worker is held (a
    bands x bands matrix each), however many chunks there are."""
    workers = max(1, min(len(chunks), os.cpu_count() or 1))
    total = None
    for start in range(0, len(chunks), workers):
        for part in _map_chunks(function, chunks[start:start + workers]):
            total = part if total is None else total + part
    return total


@dataclass(frozen=True)
class Moments:
    """Mean and covariance (ddof=1) of a set of pixels over the used bands."""

    mean: np.ndarray
    covariance: np.ndarray
    n_samples: int


def pixel_moments(cube: Cube, mask: np.ndarray | None = None, bands: np.ndarray | None = None,
                  dtype: np.dtype | None = None) -> Moments:
    """Mean and covariance of the valid pixels in ``mask``, in one streamed float64 pass.

    Parameters
    ----------
    cube : Cube
    mask : ndarray of bool, shape (rows, cols), optional
        Pixels to use (default all); pixels without data in a used band are always left out.
    bands : sequence of int, optional
        Bands used as features (default: every band not on the bad-band list).
    dtype : dtype, optional
        Type of the products inside a block (default :func:`work_dtype`: float32 for float32
        samples); float64 where the covariance's small eigenvalues matter (MNF).
    """
    bands = _feature_bands(cube, bands)
    mask = _check_mask(cube, mask)
    shift = _shift(cube, bands, mask)
    dtype = work_dtype(cube.dtype) if dtype is None else np.dtype(dtype)

    def accumulate(rows: slice) -> np.ndarray:
        return chunk_gram(_pixels(cube, bands, rows), shift, dtype, cube.nodata,
                          None if mask is None else mask[rows].ravel())

    return moments_from_gram(_sum_chunks(accumulate, _row_chunks(cube, bands.size)), shift)


def chunk_gram(raw: np.ndarray, shift: np.ndarray, dtype: np.dtype, nodata: float | None = None,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Shifted sums of one chunk of pixels, to be added over chunks (see :func:`moments_from_gram`).

    Parameters
    ----------
    raw : ndarray, shape (features, pixels)
        Samples as stored.
    shift : ndarray, shape (features,)
        A value close to the mean (the same for every chunk).
    dtype : dtype
        Working type of the products inside a block (float32 or float64).
    nodata : float, optional
        Sample value meaning no data; such pixels (and NaN ones, and those outside ``mask``)
        are left out.
    mask : ndarray of bool, shape (pixels,), optional

    Returns
    -------
    ndarray of float64, shape (m, m) with m >= features + 1
        ``[:f, :f]`` sums of products, ``[:f, f]`` sums, ``[f, f]`` the count.
    """
    features = raw.shape[0]
    # Rows of the working block: the features, then a row of ones (so that one matrix product
    # also gives the sums and the count), then zeros up to a multiple of 16, the shape BLAS
    # kernels handle fastest.
    n_rows = -(-(features + 1) // 16) * 16
    shift_work = np.asarray(shift).astype(dtype)[:, None]
    gram = np.zeros((n_rows, n_rows))
    buffer = np.zeros((n_rows, min(_BLOCK, max(raw.shape[1], 1))), dtype)
    buffer[features] = 1.0
    for start in range(0, raw.shape[1], _BLOCK):
        stop = min(start + _BLOCK, raw.shape[1])
        block = raw[:, start:stop]
        work = buffer[:, :stop - start]
        np.subtract(block, shift_work, out=work[:features], dtype=dtype, casting="unsafe")
        product = work @ work.T
        if mask is not None or nodata is not None or not np.isfinite(product).all():
            # Leave out masked and no-data pixels (NaN makes the product non-finite).
            take = _valid_pixels(block, nodata, None if mask is None else mask[start:stop])
            work = work[:, take]
            product = work @ work.T
        gram += product
    return gram


def moments_from_gram(gram: np.ndarray, shift: np.ndarray) -> Moments:
    """Mean and covariance from the sum of :func:`chunk_gram` over all chunks."""
    f = len(shift)
    s1, s2, n = gram[:f, f], gram[:f, :f], round(gram[f, f])
    if n < 2:
        raise CubeError(
            "PCA needs at least two pixels with data in every used band; this selection has "
            f"{n}. Choose a larger region, or leave out the bands that are empty."
        )
    mean = shift + s1 / n
    covariance = (s2 - np.outer(s1, s1) / n) / (n - 1)
    return Moments(mean, (covariance + covariance.T) / 2, n)


def _shift(cube: Cube, bands: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """The mean of a regular sample of ~16k pixels: close enough to the true mean that the
    shifted sums lose no precision (any finite shift gives the right answer; a close one keeps
    all of float64's digits)."""
    n_pixels = cube.rows * cube.cols
    flat = np.arange(0, n_pixels, max(1, n_pixels // 16384))
    if mask is not None:
        flat = np.flatnonzero(mask.ravel())
        flat = flat[:: max(1, flat.size // 16384)]
    rows, cols = np.divmod(flat, cube.cols)
    return shift_from_sample(cube.plane(cube.bsq[bands[:, None], rows[None, :], cols[None, :]], bands))


def shift_from_sample(sample: np.ndarray) -> np.ndarray:
    """The shift for :func:`chunk_gram`: the mean over pixels of a ``(features, pixels)``
    sample, no-data as NaN (0 for a feature without data: any finite shift gives the right
    answer, a close one keeps all of float64's digits)."""
    sample = np.asarray(sample, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN band
        shift = np.nanmean(sample, axis=1) if sample.shape[1] else np.zeros(sample.shape[0])
    return np.nan_to_num(shift)


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
