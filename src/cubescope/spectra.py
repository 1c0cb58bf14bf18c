"""Spectra of pixels and regions."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError


@dataclass(frozen=True)
class RegionStats:
    """Per-band statistics of a region's valid pixels.

    Attributes
    ----------
    mean, std : ndarray, shape (bands,)
        Mean and standard deviation (ddof=0) over the region's pixels that hold data.
    count : int
        How many pixels hold data in every good band.
    rows, cols : slice
        The rectangle, in full-resolution pixels.
    """

    mean: np.ndarray
    std: np.ndarray
    count: int
    rows: slice
    cols: slice


def region_stats(cube: Cube, rows: slice, cols: slice) -> RegionStats:
    """Mean and standard deviation spectra of a rectangle, streaming over bands.

    Pixels that lack data in any good band (NaN or the no-data value) are left out, so every
    band's statistics come from the same pixels.

    Raises
    ------
    CubeError
        If the rectangle is empty or holds no valid pixel.
    """
    r0, r1, _ = rows.indices(cube.rows)
    c0, c1, _ = cols.indices(cube.cols)
    if r1 <= r0 or c1 <= c0:
        raise CubeError("The selected region is empty; drag a rectangle over the image.")
    rows, cols = slice(r0, r1), slice(c0, c1)
    valid = cube.valid_mask[rows, cols]
    count = int(valid.sum())
    if count == 0:
        raise CubeError("No pixel in the selected region holds data.")
    mean = np.empty(cube.n_bands)
    std = np.empty(cube.n_bands)
    for start, stop in cube.iter_band_chunks():
        block = cube.plane(cube.bsq[start:stop, rows, cols], slice(start, stop))[:, valid].astype(np.float64)
        mean[start:stop] = block.mean(axis=1)
        std[start:stop] = block.std(axis=1)
    return RegionStats(mean, std, count, rows, cols)


def with_gaps(values: np.ndarray, bad_bands: np.ndarray | None) -> np.ndarray:
    """A copy of a spectrum with bad bands set to NaN, so plots draw them as gaps."""
    out = np.array(values, dtype=float)
    if bad_bands is not None:
        out[bad_bands] = np.nan
    return out
