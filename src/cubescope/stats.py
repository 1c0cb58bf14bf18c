"""Pixel statistics of a cube, streamed over chunks of rows: the moments (mean and covariance
of the spectra) that PCA, MNF and the detectors start from, as Spectral Python's
``GaussianStats`` serves its detectors.

One pass over the cube accumulates, in float64, the sum and the band-by-band cross-products of
the pixels minus a shift (a sample mean of the cube): with the shift close to the mean, the
covariance ``(S2 - s1 s1ᵀ / n) / (n - 1)`` keeps full precision even for data with a large
offset (values ~10000 with a spread of ~1).

The pass runs over cache-sized blocks of pixels on every core. For float64 cubes everything is
float64; for float32 (and 8/16-bit) cubes the products inside one block of 32768 pixels are
formed in float32, which costs ~1e-6 relative in the covariance (below the data's own
precision), and the sums across blocks are float64.

No-data pixels (NaN or the no-data value in any used band) are left out; bad bands are left out
of the features.
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
