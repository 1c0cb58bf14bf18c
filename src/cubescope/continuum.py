"""Continuum removal and band depth.

The continuum of a spectrum is its upper convex hull over the true wavelengths (Clark & Roush
1984); dividing by it leaves absorption features as dips below 1. The hull is built by the
monotone-chain algorithm run along the bands, each spectrum keeping its
own stack, compiled by Numba (one pass over the bands per spectrum), with NaN samples and bad
bands left out of the hull (and NaN in the result). This equals Spectral Python's
``remove_continuum`` where both are defined, and treats a whole cube in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.products import Compute, Product

#: Spectra handled at once (bounded working memory: a few arrays of this many spectra x bands).
CHUNK_SPECTRA = 4096


def continuum_removed(spectra: Any, wavelengths: Any, bad_bands: Any = None, *,
                      chunk: int = CHUNK_SPECTRA) -> np.ndarray:
    """Each spectrum divided by its upper convex hull.

    Parameters
    ----------
    spectra : array_like, shape (..., bands), or Cube
        Spectra along the last axis (a Cube is read row chunk by row chunk; its bad bands and
        no-data are left out).
    wavelengths : array_like, shape (bands,)
        Band centres in any unit (the hull is taken over these, not over band indices); they
        need not be sorted (two spectrometers stepping back are sorted first).
    bad_bands : array_like of bool, shape (bands,), optional
        Bands left out of every hull; NaN in the result.

    Returns
    -------
    ndarray, same shape as ``spectra`` (``(rows, cols, bands)`` for a Cube)
        float32 for float32 (or integer) input, float64 for float64. NaN where the input is NaN
        or the band is bad, outside a spectrum's first and last valid bands, and where the
        continuum is zero or negative (see :func:`undefined_continuum`).
    """
    wavelengths = np.asarray(wavelengths, dtype=np.float64).ravel()
    if isinstance(spectra, Cube):
        return _cube(spectra, wavelengths, bad_bands, chunk)
    data = np.asarray(spectra)
    if data.shape[-1:] != wavelengths.shape:
        raise CubeError(f"{wavelengths.size} wavelengths for spectra of {data.shape[-1] if data.ndim else 0} bands.")
    if not np.isfinite(wavelengths).all():
        raise CubeError("Continuum removal needs a finite wavelength for every band.")
    dtype = np.float64 if data.dtype == np.float64 else np.float32
    flat = data.reshape(-1, wavelengths.size)
    out = np.empty(flat.shape, dtype=dtype)
    _remove_rows(flat, wavelengths, bad_bands, out, chunk)
    return out.reshape(data.shape)


def _remove_rows(flat: np.ndarray, wavelengths: np.ndarray, bad_bands: Any, out: np.ndarray, chunk: int) -> None:
    """Continuum-remove the spectra ``flat`` (n, bands) into ``out``, ``chunk`` spectra at a time."""
    order = np.argsort(wavelengths, kind="stable")
    sorted_already = bool(np.all(order == np.arange(order.size)))
    x = wavelengths[order]
    bad = np.zeros(wavelengths.size, bool) if bad_bands is None else np.asarray(bad_bands, bool)[order]
    result = np.empty((min(chunk, flat.shape[0]), wavelengths.size))
    for start in range(0, flat.shape[0], chunk):
        block = flat[start:start + chunk]
        block = np.ascontiguousarray(block if sorted_already else block[:, order], dtype=np.float64)
        done = result[:len(block)]
        _remove(block, x, bad, done)
        if sorted_already:
            out[start:start + chunk] = done
        else:
            out[start:start + chunk, order] = done


def _cube(cube: Cube, wavelengths: np.ndarray, bad_bands: Any, chunk: int) -> np.ndarray:
    if wavelengths.size != cube.n_bands:
        raise CubeError(f"{wavelengths.size} wavelengths for a cube of {cube.n_bands} bands.")
    if not np.isfinite(wavelengths).all():
        raise CubeError("Continuum removal needs a finite wavelength for every band.")
    bad = cube.bad_bands if bad_bands is None else bad_bands
    out = np.empty(cube.shape, dtype=cube.float_dtype)
    # A few megabytes of rows at a time: the working copies stay far below the cube's size.
    for rows in cube.iter_row_chunks(max(chunk * cube.n_bands * 4, 1)):
        block = cube.row_block(rows)
        spectra = block.reshape(cube.n_bands, -1).T
        _remove_rows(spectra, wavelengths, bad, out[rows].reshape(-1, cube.n_bands), chunk)
    return out


@njit(cache=True, nogil=True)
def _remove(y: np.ndarray, x: np.ndarray, bad: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Continuum-removed ``y`` (n, bands) into ``out``; ``x`` ascending. Monotone chain per
    spectrum: a vertex is dropped while it lies on or under the line from the one before it
    to the next valid band, so what stays is the upper hull."""
    n, bands = y.shape
    stack = np.empty(bands, np.int64)
    for i in range(n):
        top = 0
        for j in range(bands):
            v = y[i, j]
            if bad[j] or not np.isfinite(v):
                continue
            while top >= 2:
                a, b = stack[top - 2], stack[top - 1]
                if (x[b] - x[a]) * (v - y[i, a]) - (y[i, b] - y[i, a]) * (x[j] - x[a]) >= 0:
                    top -= 1
                else:
                    break
            stack[top] = j
            top += 1
        for j in range(bands):
            out[i, j] = np.nan
        k = 0
        for j in range(stack[0] if top else bands, stack[top - 1] + 1 if top else bands):
            v = y[i, j]
            if bad[j] or not np.isfinite(v):
                continue
            while k < top - 1 and stack[k + 1] <= j:
                k += 1
            a = stack[k]
            if a == j or k == top - 1:
                continuum = y[i, a]
            else:
                b = stack[k + 1]
                span = x[b] - x[a]
                continuum = y[i, a] + (y[i, b] - y[i, a]) * (x[j] - x[a]) / span if span > 0 else y[i, a]
            # A continuum at or below zero (a 0 reflectance on the hull) has nothing to divide by.
            out[i, j] = v / continuum if continuum > 0 else np.nan


def undefined_continuum(spectra: Any, removed: Any, bad_bands: Any = None) -> np.ndarray:
    """Which spectra lost samples to a continuum at or below zero.

    Parameters
    ----------
    spectra : array_like, shape (..., bands)
        The input of :func:`continuum_removed`.
    removed : array_like, shape (..., bands)
        Its output.
    bad_bands : array_like of bool, shape (bands,), optional

    Returns
    -------
    ndarray of bool, shape (...)
        True for a spectrum with a valid sample whose continuum-removed value is NaN.
    """
    spectra, removed = np.asarray(spectra), np.asarray(removed)
    valid = np.isfinite(spectra)
    if bad_bands is not None:
        valid &= ~np.asarray(bad_bands, bool)
    # Samples outside the first and last valid band are NaN by design, never undefined: the
    # hull's ends are valid samples, so only a non-positive continuum leaves a valid sample NaN.
    return np.any(valid & np.isnan(removed), axis=-1)


def band_depth(spectra: Any, wavelengths: Any, *, at: float | None = None,
               feature: tuple[float, float] | None = None, bad_bands: Any = None) -> np.ndarray:
    """Depth of an absorption feature: ``1 - R / R_continuum``.

    Parameters
    ----------
    spectra : array_like (..., bands), or Cube
    wavelengths : array_like, shape (bands,)
    at : float, optional
        Depth at the band nearest this wavelength, against the whole spectrum's hull.
    feature : (float, float), optional
        ``(left shoulder, right shoulder)``: the continuum is the straight line between the
        bands nearest the two shoulders, and the depth the largest within them (Clark & Roush
        1984). For a Cube only the bands between the shoulders are read.
    bad_bands : array_like of bool, optional

    Returns
    -------
    ndarray, shape (...) (``(rows, cols)`` for a Cube)
        NaN where the spectrum has no valid value there, or its continuum is not positive.
    """
    wavelengths = np.asarray(wavelengths, dtype=np.float64).ravel()
    if (at is None) == (feature is None):
        raise CubeError("Give either a wavelength (at=) or a feature's two shoulders (feature=).")
    if at is not None:
        band = int(np.nanargmin(np.abs(wavelengths - at)))
        removed = continuum_removed(spectra, wavelengths, bad_bands)
        return 1.0 - removed[..., band]
    lo_w, hi_w = sorted(float(v) for v in feature)
    left = int(np.nanargmin(np.abs(wavelengths - lo_w)))
    right = int(np.nanargmin(np.abs(wavelengths - hi_w)))
    if wavelengths[left] >= wavelengths[right]:
        raise CubeError(f"The feature {lo_w:g}-{hi_w:g} covers no band between its shoulders.")
    inside = np.flatnonzero((wavelengths >= wavelengths[left]) & (wavelengths <= wavelengths[right]))
    if isinstance(spectra, Cube):
        bad = spectra.bad_bands if bad_bands is None else np.asarray(bad_bands, bool)
        values = np.stack([spectra.band(b) for b in inside], axis=-1)
    else:
        bad = None if bad_bands is None else np.asarray(bad_bands, bool)
        values = np.asarray(spectra, dtype=np.float64)[..., inside]
    x = wavelengths[inside]
    order = np.argsort(x, kind="stable")
    x, values = x[order], values[..., order]
    if bad is not None:
        values = np.where(bad[inside][order], np.nan, values)
    first, last = values[..., :1], values[..., -1:]
    line = first + (last - first) * (x - x[0]) / (x[-1] - x[0])
    line = np.where(line > 0, line, np.nan)  # a continuum at or below zero has no depth to measure
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = 1.0 - np.nanmin(np.where(np.isfinite(values), values / line, np.inf), axis=-1)
    depth = np.where(np.isfinite(depth), depth, np.nan)
    return depth.astype(np.float32) if isinstance(spectra, Cube) else depth


@dataclass(frozen=True)
class BandDepthImage(Product):
    """The depth of the absorption feature between the shoulders ``low`` and ``high`` (nm) in
    every pixel; see :func:`band_depth`."""

    low: float
    high: float
    doing = "Measuring the feature's depth…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        return band_depth(cube, cube.wavelengths_nm, feature=(self.low, self.high))
