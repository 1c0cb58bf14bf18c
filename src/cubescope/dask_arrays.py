"""PCA, Savitzky-Golay, band math, continuum removal, spectral angles, unmixing, detection and
classification on Dask arrays: the same computations, spread over threads or a cluster.

A cube as a Dask array is ``(bands, rows, cols)``, chunked along rows only, so every chunk
holds whole spectra. The per-chunk work is the in-memory code's own (:func:`cubescope.pca.chunk_gram`,
:func:`cubescope.pca.project_chunk`, :func:`cubescope.smoothing.apply_plan`), so both paths
give the same numbers; Dask only decides where the chunks run.

Computations use the threaded scheduler, unless ``CUBESCOPE_DASK_SCHEDULER`` holds the
address of a ``dask.distributed`` scheduler (``tcp://host:8786``). For a cluster, build the
array with :func:`from_npy` on a path every worker can read (the store on shared storage): each
worker then memory-maps its own rows instead of receiving them through the scheduler.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from cubescope import continuum, detect, indices, library, unmixing
from cubescope.cube import Cube, band_mask, float_dtype_for
from cubescope.errors import CubeError
from cubescope.mnf import mnf_from_moments, noise_gram
from cubescope.pca import PCAResult, pca_from_moments, project_chunk
from cubescope.smoothing import apply_plan, savgol_plan
from cubescope.stats import chunk_gram, moments_from_gram, shift_from_sample, work_dtype

#: Bytes of samples per chunk of rows when the caller does not choose.
CHUNK_BYTES = 64 * 2**20


def _rows_per_chunk(bands: int, cols: int, itemsize: int, rows_per_chunk: int | None) -> int:
    if rows_per_chunk is not None:
        return max(1, int(rows_per_chunk))
    return max(1, CHUNK_BYTES // max(1, bands * cols * itemsize))


def from_cube(cube: Cube, rows_per_chunk: int | None = None):
    """A cube as a Dask array ``(bands, rows, cols)`` chunked by rows: its samples as stored, or,
    for a cube with the file's gain and offset (:attr:`Cube.is_scaled`), its physical values as
    floats with no-data as NaN, as :meth:`Cube.band` gives them.

    For threads on this machine; for a cluster prefer :func:`from_npy`.
    """
    import dask.array as da

    step = _rows_per_chunk(cube.n_bands, cube.cols, cube.dtype.itemsize, rows_per_chunk)
    array = da.from_array(cube.bsq, chunks=(cube.n_bands, step, cube.cols), asarray=False)
    if cube.is_scaled:
        array = array.map_blocks(cube.plane, dtype=cube.float_dtype)
    return array


def _read_rows(path: str, start: int, stop: int) -> np.ndarray:
    data = np.load(path, mmap_mode="r", allow_pickle=False)
    return np.array(data[:, start:stop])


def from_npy(path: str | os.PathLike[str], rows_per_chunk: int | None = None):
    """A band-sequential ``.npy`` (a store's ``data.npy``) as a Dask array; each chunk is read
    by whichever worker computes it."""
    import dask
    import dask.array as da

    path = str(Path(path))
    data = np.load(path, mmap_mode="r", allow_pickle=False)
    if data.ndim != 3:
        raise CubeError(f"'{path}' holds a {data.ndim}D array; a band-sequential cube is 3D.")
    bands, rows, cols = data.shape
    step = _rows_per_chunk(bands, cols, data.dtype.itemsize, rows_per_chunk)
    pieces = [
        da.from_delayed(dask.delayed(_read_rows)(path, start, min(start + step, rows)),
                        shape=(bands, min(start + step, rows) - start, cols), dtype=data.dtype)
        for start in range(0, rows, step)
    ]
    return da.concatenate(pieces, axis=1)


@lru_cache(maxsize=4)
def _client(address: str):
    from distributed import Client

    return Client(address)


def compute(*values: Any) -> tuple:
    """Compute Dask values with the configured scheduler (see the module notes)."""
    import dask

    address = os.environ.get("CUBESCOPE_DASK_SCHEDULER")
    if address:
        return tuple(_client(address).compute(list(values), sync=True))
    try:
        from distributed import default_client

        client = default_client()  # a client the caller started (a notebook, a test)
        return tuple(client.compute(list(values), sync=True))
    except (ImportError, ValueError):
        return dask.compute(*values, scheduler="threads")


def _check(array) -> None:
    if array.ndim != 3:
        raise CubeError(f"A cube array is (bands, rows, cols); this one has {array.ndim} axes.")
    if len(array.chunks[0]) != 1:
        raise CubeError("Chunk the array along rows and columns only: every chunk must hold whole spectra.")


def _features(array, bands: Any, n_components: int, nodata: float | None) -> tuple[np.ndarray, np.ndarray]:
    """The bands used (checked) and a shift close to their mean, from a regular sample of
    about 16k pixels: what a streamed covariance starts from."""
    _check(array)
    bands = np.arange(array.shape[0]) if bands is None else np.unique(np.asarray(bands, dtype=int))
    if bands.size == 0 or bands[0] < 0 or bands[-1] >= array.shape[0]:
        raise CubeError(f"Band choice must be within 0..{array.shape[0] - 1} and not empty.")
    if not 1 <= n_components <= bands.size:
        raise CubeError(f"The number of components must be between 1 and {bands.size}; got {n_components}.")
    rows, cols = array.shape[1:]
    step = max(1, int(np.sqrt(rows * cols / 16384)))
    (sample,) = compute(array[:, ::step, ::step])
    sample = sample[bands].reshape(bands.size, -1).astype(np.float64)
    if nodata is not None:
        sample[sample == nodata] = np.nan
    return bands, shift_from_sample(sample)


def _block_gram(block: np.ndarray, bands: np.ndarray, shift: np.ndarray, dtype: np.dtype,
                nodata: float | None) -> np.ndarray:
    return chunk_gram(block[bands].reshape(bands.size, -1), shift, dtype, nodata)


def fit_pca(array, n_components: int, *, bands: Any = None, nodata: float | None = None) -> PCAResult:
    """:func:`cubescope.pca.fit_pca` for a Dask array ``(bands, rows, cols)``.

    Parameters
    ----------
    array : dask.array.Array, shape (bands, rows, cols), chunked along rows/cols only
    n_components : int
    bands : sequence of int, optional
        Bands used as features (default all).
    nodata : float, optional
        Sample value meaning no data (NaN always does).
    """
    import dask

    bands, shift = _features(array, bands, n_components, nodata)
    dtype = work_dtype(array.dtype)
    parts = [dask.delayed(_block_gram)(block, bands, shift, dtype, nodata) for block in array.to_delayed().ravel()]
    (gram,) = compute(dask.delayed(sum)(parts))
    return pca_from_moments(moments_from_gram(gram, shift), n_components, bands)


def _block_scores(block: np.ndarray, result: PCAResult, dtype: np.dtype, nodata: float | None) -> np.ndarray:
    k = result.n_components_
    raw = block[result.bands_].reshape(result.bands_.size, -1)
    out = np.empty((k, raw.shape[1]), dtype)
    project_chunk(raw, result.components_.astype(dtype), result.mean_, nodata, out)
    return out.reshape(k, *block.shape[1:])


def transform(result: PCAResult, array, *, nodata: float | None = None):
    """PC images ``(k, rows, cols)`` of a Dask array, lazily (compute or store it)."""
    _check(array)
    dtype = work_dtype(array.dtype)
    k = result.n_components_
    return array.map_blocks(_block_scores, result, dtype, nodata, dtype=dtype,
                            chunks=((k,), *array.chunks[1:]))


def _block_savgol(block: np.ndarray, plan, dtype: np.dtype, nodata: float | None) -> np.ndarray:
    samples = np.array(block, dtype=dtype)
    if nodata is not None:
        samples[block == nodata] = np.nan
    return apply_plan(plan, samples)


def savgol(array, window: int, polyorder: int, deriv: int = 0, delta: float = 1.0, *,
           wavelengths: Any = None, bad_bands: Any = None, nodata: float | None = None):
    """:func:`cubescope.smoothing.savgol_cube` for a Dask array, lazily; same parameters as
    :func:`cubescope.smoothing.savgol_plan`. Returns floats ``(bands, rows, cols)``."""
    _check(array)
    plan = savgol_plan(array.shape[0], window, polyorder, deriv, delta, wavelengths=wavelengths,
                       bad_bands=bad_bands)
    dtype = float_dtype_for(array.dtype)
    return array.map_blocks(_block_savgol, plan, dtype, nodata, dtype=dtype)


def _block_band_math(block: np.ndarray, cube: Cube, parsed: Any) -> np.ndarray:
    values = {b: cube.plane(block[b], b).astype(np.float64) for b in parsed.bands}
    result = indices.evaluate(parsed, lambda name: values[parsed.names[name]])
    return np.broadcast_to(result, block.shape[1:]).astype(cube.float_dtype)


def band_math(array, cube: Cube, expression: str):
    """:func:`cubescope.indices.band_math` over a Dask array of ``cube``'s stored samples
    (``(bands, rows, cols)``, e.g. :func:`from_cube`), lazily: ``(rows, cols)``. The expression
    is checked against ``cube`` (its wavelengths, widths, bad bands) before anything runs."""
    _check(array)
    parsed = indices.parse(cube, expression)
    if cube.bad_bands is not None and any(cube.bad_bands[b] for b in parsed.bands):
        return array[0].map_blocks(lambda block: np.full(block.shape, np.nan, cube.float_dtype),
                                   dtype=cube.float_dtype)
    return array.map_blocks(_block_band_math, cube, parsed, dtype=cube.float_dtype, drop_axis=0)


def _block_continuum(block: np.ndarray, wavelengths: np.ndarray, bad_bands: Any, nodata: float | None,
                     dtype: np.dtype) -> np.ndarray:
    samples = np.array(block, dtype=dtype)
    if nodata is not None:
        samples[block == nodata] = np.nan
    removed = continuum.continuum_removed(np.moveaxis(samples, 0, -1), wavelengths, bad_bands)
    return np.ascontiguousarray(np.moveaxis(removed, -1, 0))


def continuum_removed(array, wavelengths: Any, *, bad_bands: Any = None, nodata: float | None = None):
    """:func:`cubescope.continuum.continuum_removed` for a Dask array ``(bands, rows, cols)``,
    lazily; the same ``(bands, rows, cols)`` floats back."""
    _check(array)
    dtype = float_dtype_for(array.dtype)
    return array.map_blocks(_block_continuum, np.asarray(wavelengths, float), bad_bands, nodata, dtype, dtype=dtype)


def _block_angles(block: np.ndarray, references: np.ndarray, bands: Any, nodata: float | None,
                  dtype: np.dtype) -> np.ndarray:
    samples = np.array(block, dtype=dtype)
    if nodata is not None:
        samples[block == nodata] = np.nan
    angles = library.spectral_angles(np.moveaxis(samples, 0, -1), references, bands=bands)
    return np.ascontiguousarray(np.moveaxis(angles, -1, 0))


def spectral_angles(array, references: Any, *, bands: Any = None, nodata: float | None = None):
    """:func:`cubescope.library.spectral_angles` for a Dask array ``(bands, rows, cols)``,
    lazily: ``(n_refs, rows, cols)`` radians."""
    _check(array)
    refs = np.atleast_2d(np.asarray(references, dtype=np.float64))
    dtype = float_dtype_for(array.dtype)
    return array.map_blocks(_block_angles, refs, bands, nodata, dtype, dtype=dtype,
                            chunks=((refs.shape[0],), *array.chunks[1:]))


def _block_noise(block: np.ndarray, bands: np.ndarray, dtype: np.dtype, nodata: float | None) -> np.ndarray:
    return noise_gram(block[bands], dtype, nodata)


def fit_mnf(array, n_components: int, *, bands: Any = None, nodata: float | None = None):
    """:func:`cubescope.mnf.mnf` for a Dask array ``(bands, rows, cols)``. Chunked along rows
    only (as :func:`from_cube` does) it equals the in-memory fit; chunks across columns drop
    the neighbour differences across their borders from the noise estimate."""
    import dask

    bands, shift = _features(array, bands, n_components, nodata)
    dtype = np.dtype(np.float64)  # as the in-memory fit: eigenvalues near 1 need every digit
    blocks = array.to_delayed().ravel()
    signal = dask.delayed(sum)([dask.delayed(_block_gram)(b, bands, shift, dtype, nodata) for b in blocks])
    noise = dask.delayed(sum)([dask.delayed(_block_noise)(b, bands, dtype, nodata) for b in blocks])
    signal_gram, noise_gram = compute(signal, noise)
    noise_cov = moments_from_gram(noise_gram, np.zeros(bands.size)).covariance / 2.0
    return mnf_from_moments(moments_from_gram(signal_gram, shift), noise_cov, n_components, bands)


def _block_unmix(block: np.ndarray, endmembers: np.ndarray, keep: np.ndarray, sum_to_one: bool,
                 nodata: float | None) -> np.ndarray:
    samples = np.array(block, dtype=np.float64)
    if nodata is not None:
        samples[block == nodata] = np.nan
    abundances = unmixing.unmix(np.moveaxis(samples, 0, -1), endmembers, sum_to_one=sum_to_one, bands=keep)
    return np.ascontiguousarray(np.moveaxis(abundances, -1, 0))


def unmix(array, endmembers: Any, *, sum_to_one: bool = False, bands: Any = None, nodata: float | None = None):
    """:func:`cubescope.unmixing.unmix` for a Dask array ``(bands, rows, cols)``, lazily:
    ``(n_endmembers, rows, cols)`` abundances."""
    _check(array)
    ends = np.atleast_2d(np.asarray(endmembers, dtype=np.float64))
    keep = np.ones(array.shape[0], bool) if bands is None else band_mask(bands, array.shape[0])
    return array.map_blocks(_block_unmix, ends, keep, sum_to_one, nodata, dtype=np.float64,
                            chunks=((ends.shape[0],), *array.chunks[1:]))


def background(array, *, bands: Any = None, nodata: float | None = None) -> detect.Background:
    """:func:`cubescope.detect.background` of a Dask array ``(bands, rows, cols)``."""
    import dask

    bands, shift = _features(array, bands, 1, nodata)
    if bands.size < 2:
        raise CubeError(f"Detection needs at least two bands; this array has {bands.size}.")
    parts = [dask.delayed(_block_gram)(block, bands, shift, np.dtype(np.float64), nodata)
             for block in array.to_delayed().ravel()]
    (gram,) = compute(dask.delayed(sum)(parts))
    return detect.background_from_moments(moments_from_gram(gram, shift), bands)


def _block_detect(block: np.ndarray, stats: detect.Background, target: np.ndarray | None, kind: str,
                  dtype: np.dtype, nodata: float | None) -> np.ndarray:
    raw = block[stats.bands].reshape(stats.bands.size, -1)
    return detect.score_chunk(raw, stats, target, kind, nodata, dtype).reshape(block.shape[1:])


def _detector(array, kind: str, target: Any, stats: detect.Background | None, nodata: float | None):
    _check(array)
    if target is not None:
        target = np.asarray(target, dtype=np.float64).ravel()
        if target.size != array.shape[0]:
            raise CubeError(f"The target has {target.size} values; the array has {array.shape[0]} bands.")
        if stats is None:
            stats = background(array, bands=np.flatnonzero(np.isfinite(target)), nodata=nodata)
        target = stats.whitening @ (target[stats.bands] - stats.mean)
        if not target @ target > 0:
            raise CubeError("The target is the background's mean: there is nothing to detect.")
    elif stats is None:
        stats = background(array, nodata=nodata)
    dtype = work_dtype(array.dtype)
    return array.map_blocks(_block_detect, stats, target, kind, dtype, nodata, dtype=dtype, drop_axis=0,
                            chunks=array.chunks[1:])


def rx(array, *, stats: detect.Background | None = None, nodata: float | None = None):
    """:func:`cubescope.detect.rx` (global background) of a Dask array, lazily: ``(rows, cols)``."""
    return _detector(array, "rx", None, stats, nodata)


def matched_filter(array, target: Any, *, stats: detect.Background | None = None, nodata: float | None = None):
    """:func:`cubescope.detect.matched_filter` (global background) of a Dask array, lazily."""
    return _detector(array, "mf", target, stats, nodata)


def ace(array, target: Any, *, stats: detect.Background | None = None, nodata: float | None = None):
    """:func:`cubescope.detect.ace` (global background) of a Dask array, lazily."""
    return _detector(array, "ace", target, stats, nodata)


def _block_classes(block: np.ndarray, classifier: Any, nodata: float | None) -> np.ndarray:
    return classifier.predict(Cube(block, nodata=nodata))


def classify(classifier: Any, array, *, nodata: float | None = None):
    """:meth:`cubescope.classify.Classifier.predict` of a Dask array, lazily: ``(rows, cols)`` int32."""
    _check(array)
    return array.map_blocks(_block_classes, classifier, nodata, dtype=np.int32, drop_axis=0, chunks=array.chunks[1:])
