"""Target and anomaly detection: RX, the matched filter, ACE and CEM, streamed over row blocks.

Each detector scores every pixel against the background's Gaussian statistics (mean and
covariance of the cube's pixels, :mod:`cubescope.stats`), over the bands not marked bad (and,
for a target, where the target has a value). The background is global, or with
``window=(inner, outer)`` local: its mean is taken, for each pixel, over the pixels inside the
``outer`` x ``outer`` square around it and outside the ``inner`` one, and its covariance is
the whole cube's (Spectral Python's ``cov=`` variant; a covariance per window would cost
minutes and needs more pixels than a window holds). Near the borders both windows are shifted
to stay whole inside the image, as Spectral Python's are (the pixel is then off their centre).

Formulas, with ``z = W (x - mu)`` the whitened pixel (``W^T W`` the covariance's
pseudo-inverse) and ``s = W (t - mu)`` the whitened target:

- RX: ``z . z`` (squared Mahalanobis distance from the background);
- matched filter: ``s . z / s . s`` (0 on the background, 1 on the target);
- ACE: ``(s . z)^2 / ((s . s)(z . z))`` (squared cosine in whitened space, 0 to 1);
- CEM: ``w . x`` with ``w = R^-1 t / (t^T R^-1 t)``, ``R`` the correlation matrix (uncentred).

Pixels without data in a used band score NaN and are left out of every background.

Examples
--------
>>> from cubescope.demo import demo_cube
>>> cube = demo_cube()
>>> scores = rx(cube)
>>> scores.shape
(200, 240)
>>> target = cube.spectrum(100, 120)
>>> float(matched_filter(cube, target)[100, 120].round(3))  # the target pixel itself scores 1
1.0
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.pca import project_chunk
from cubescope.products import Compute, Product
from cubescope.stats import _feature_bands, _map_chunks, _pixels, pixel_moments, work_dtype

#: Float64 bytes of whitened samples (with their window sums) per chunk of rows, windowed.
_WINDOW_CHUNK_BYTES = 48 * 2**20
#: Rows per chunk of a global detector.
_ROWS = 64


@dataclass(frozen=True)
class Background:
    """Gaussian statistics of the background over the bands used.

    Attributes
    ----------
    bands : ndarray of int, shape (b,)
        The cube's bands the statistics are over.
    mean : ndarray, shape (b,)
    covariance : ndarray, shape (b, b)
    whitening : ndarray, shape (r, b)
        ``W`` with ``W^T W`` the pseudo-inverse of the covariance (``r`` its rank).
    n_samples : int
        Pixels the statistics were taken over.
    """

    bands: np.ndarray
    mean: np.ndarray
    covariance: np.ndarray
    whitening: np.ndarray
    n_samples: int


def background(cube: Cube, mask: Any = None, bands: Any = None) -> Background:
    """The background statistics of ``cube``'s pixels (those in ``mask``, when given).

    Parameters
    ----------
    cube : Cube
    mask : ndarray of bool, shape (rows, cols), optional
        The background pixels (default every pixel with data).
    bands : sequence of int, optional
        Bands used (default every band not marked bad).

    Raises
    ------
    CubeError
        With fewer than two usable bands, or fewer pixels than two.
    """
    bands = _feature_bands(cube, bands)
    if bands.size < 2:
        raise CubeError(f"Detection needs at least two usable bands; '{cube.name}' has {bands.size}.")
    moments = pixel_moments(cube, mask=mask, bands=bands)
    if moments.n_samples < 2:
        raise CubeError("The background has fewer than two pixels with data in every band used.")
    if not np.isfinite(moments.covariance).all():
        # Values near float32's largest overflow its products; float64's hold them.
        moments = pixel_moments(cube, mask=mask, bands=bands, dtype=np.float64)
    if not np.isfinite(moments.covariance).all():
        raise CubeError("The pixels' values are too large to measure their spread (their covariance overflows).")
    return background_from_moments(moments, bands)


def background_from_moments(moments: Any, bands: np.ndarray) -> Background:
    """The :class:`Background` of pixels with these moments (:class:`cubescope.stats.Moments`)
    over ``bands``; its whitening is the covariance's pseudo-inverse square root."""
    values, vectors = np.linalg.eigh(moments.covariance)
    keep = values > max(values[-1], 0.0) * bands.size * np.finfo(np.float64).eps
    if not keep.any():
        raise CubeError("Every background pixel has the same spectrum: there is no spread to measure against.")
    whitening = (vectors[:, keep] / np.sqrt(values[keep])).T
    return Background(np.asarray(bands), moments.mean, moments.covariance, whitening, moments.n_samples)


def rx(cube: Cube, window: tuple[int, int] | None = None, stats: Background | None = None) -> np.ndarray:
    """RX anomaly scores: each pixel's squared Mahalanobis distance from the background.

    Parameters
    ----------
    cube : Cube
    window : (inner, outer), optional
        Odd widths in pixels of the square windows between which each pixel's background mean
        is taken (see the module notes); default the global background.
    stats : Background, optional
        The background's statistics (default :func:`background` of the whole cube).

    Returns
    -------
    ndarray, shape (rows, cols)
        Scores (float32 for float32 data), NaN where a pixel lacks data.
    """
    stats = stats if stats is not None else background(cube)
    return _scores(cube, stats, None, "rx", window)


def matched_filter(cube: Cube, target: Any, window: tuple[int, int] | None = None,
                   stats: Background | None = None) -> np.ndarray:
    """Matched filter scores for ``target``: 0 on the background mean, 1 on the target.

    Parameters
    ----------
    cube : Cube
    target : array_like, shape (n_bands,)
        The target spectrum on the cube's bands, in its units (NaN at bands it lacks).
    window, stats
        As for :func:`rx`.

    Returns
    -------
    ndarray, shape (rows, cols)
    """
    stats, target = _with_target(cube, target, stats)
    return _scores(cube, stats, target, "mf", window)


def ace(cube: Cube, target: Any, window: tuple[int, int] | None = None,
        stats: Background | None = None) -> np.ndarray:
    """Adaptive coherence estimator scores for ``target``: the squared cosine of the angle
    between pixel and target in the background's whitened space, from 0 to 1.

    Parameters and returns as for :func:`matched_filter`.
    """
    stats, target = _with_target(cube, target, stats)
    return _scores(cube, stats, target, "ace", window)


def gas_target(stats: Background, absorption: Any) -> np.ndarray:
    """The target of a gas plume for the matched filter: the background mean seen through one
    unit of the gas, ``mean * (1 + k)`` on the background's bands (NaN elsewhere).

    With it, the matched filter's score is the pixel's enhancement in the units of ``k``: a
    methane unit absorption spectrum in ppm m^-1 gives scores in ppm m, as the methane matched
    filter run on AVIRIS-NG and EMIT radiance (Thompson et al. 2015, Foote et al. 2020).

    Parameters
    ----------
    stats : Background
        The background (:func:`background`) over the bands the absorption has values at.
    absorption : array_like, shape (n_bands,)
        The unit absorption spectrum ``k`` on the cube's bands: the fractional change of
        radiance per unit of the gas (negative where the gas absorbs).

    Returns
    -------
    ndarray, shape (n_bands,)
    """
    absorption = np.asarray(absorption, dtype=np.float64).ravel()
    if not np.isfinite(absorption[stats.bands]).all():
        raise CubeError("The absorption spectrum lacks values at bands the background statistics use.")
    target = np.full(absorption.size, np.nan)
    target[stats.bands] = stats.mean * (1.0 + absorption[stats.bands])
    return target


def cem(cube: Cube, target: Any) -> np.ndarray:
    """Constrained energy minimization scores for ``target``: the filter passes the target
    with gain 1 and gives the least output energy over the cube's pixels.

    Parameters
    ----------
    cube : Cube
    target : array_like, shape (n_bands,)

    Returns
    -------
    ndarray, shape (rows, cols)
    """
    target = _target(cube, target)
    bands = np.flatnonzero(cube.good_bands & np.isfinite(target))
    stats = background(cube, bands=bands)
    n = stats.n_samples
    correlation = stats.covariance * ((n - 1) / n) + np.outer(stats.mean, stats.mean)
    d = target[bands]
    solved = np.linalg.lstsq(correlation, d, rcond=None)[0]
    gain = d @ solved
    if not np.isfinite(gain) or gain <= 0:
        raise CubeError("The target cannot be told from the background (its energy under the filter is zero).")
    weights = (solved / gain)[None, :]
    return _project(cube, bands, weights, np.zeros(bands.size))


# ----------------------------------------------------------------------------- internals
def _target(cube: Cube, target: Any) -> np.ndarray:
    target = np.asarray(target, dtype=np.float64).ravel()
    if target.size != cube.n_bands:
        raise CubeError(f"The target has {target.size} values; '{cube.name}' has {cube.n_bands} bands.")
    if (cube.good_bands & np.isfinite(target)).sum() < 2:
        raise CubeError("The target has values at fewer than two of the cube's usable bands.")
    return target


def _with_target(cube: Cube, target: Any, stats: Background | None) -> tuple[Background, np.ndarray]:
    target = _target(cube, target)
    if stats is None:
        stats = background(cube, bands=np.flatnonzero(cube.good_bands & np.isfinite(target)))
    elif not np.isfinite(target[stats.bands]).all():
        raise CubeError("The target lacks values at bands the background statistics use.")
    whitened = stats.whitening @ (target[stats.bands] - stats.mean)
    if not whitened @ whitened > 0:
        raise CubeError("The target is the background's mean: there is nothing to detect.")
    return stats, whitened


def _output(cube: Cube) -> np.ndarray:
    return np.full((cube.rows, cube.cols), np.nan, dtype=work_dtype(cube.dtype))


def _project(cube: Cube, bands: np.ndarray, weights: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """``weights @ (x - mean)`` of every pixel (one weight vector), NaN without data."""
    out = _output(cube)
    dtype = work_dtype(cube.dtype)

    def run(rows: slice) -> None:
        raw = _pixels(cube, bands, rows)
        scores = np.empty((1, raw.shape[1]), dtype)
        project_chunk(raw, weights.astype(dtype), mean, cube.nodata, scores)
        out[rows] = scores.reshape(-1, cube.cols)

    _map_chunks(run, _chunks(cube.rows, _ROWS))
    return out


def _chunks(rows: int, step: int) -> list[slice]:
    return [slice(r, min(r + step, rows)) for r in range(0, rows, step)]


def score_chunk(raw: np.ndarray, stats: Background, target: np.ndarray | None, kind: str,
                nodata: float | None, dtype: np.dtype) -> np.ndarray:
    """Global-background scores of one chunk of pixels ``raw`` ``(bands used, pixels)``, as
    stored: ``kind`` "rx", "mf" or "ace", ``target`` whitened (:func:`_with_target`); NaN where
    a pixel lacks data. The in-memory and the Dask detectors share it."""
    if kind == "mf":
        # Linear in the pixel: one weight vector, no whitened copy of the pixels needed.
        weights = (target @ stats.whitening / (target @ target))[None, :].astype(dtype)
        out = np.empty((1, raw.shape[1]), dtype)
        return project_chunk(raw, weights, stats.mean, nodata, out)[0]
    z = np.empty((stats.whitening.shape[0], raw.shape[1]), dtype)
    project_chunk(raw, stats.whitening.astype(dtype), stats.mean, nodata, z)
    zz = np.einsum("ij,ij->j", z, z)
    if kind == "rx":
        return zz
    sz = target.astype(dtype) @ z
    return sz * sz / (float(target @ target) * zz)


def _scores(cube: Cube, stats: Background, target: np.ndarray | None, kind: str,
            window: tuple[int, int] | None) -> np.ndarray:
    if window is not None:
        return _windowed(cube, stats, target, kind, _check_window(cube, window))
    out = _output(cube)
    dtype = work_dtype(cube.dtype)

    def run(rows: slice) -> None:
        score = score_chunk(_pixels(cube, stats.bands, rows), stats, target, kind, cube.nodata, dtype)
        out[rows] = score.reshape(-1, cube.cols)

    _map_chunks(run, _chunks(cube.rows, _ROWS))
    return out


def _check_window(cube: Cube, window: Any) -> tuple[int, int]:
    try:
        inner, outer = (int(v) for v in window)
    except (TypeError, ValueError):
        raise CubeError("A detection window is two odd widths in pixels, (inner, outer).") from None
    if inner < 1 or outer <= inner or inner % 2 == 0 or outer % 2 == 0:
        raise CubeError(f"The window ({inner}, {outer}) must be two odd widths with inner < outer, e.g. (3, 15).")
    if outer > min(cube.rows, cube.cols):
        raise CubeError(f"The outer window ({outer} pixels) is larger than this {cube.rows} x {cube.cols} image.")
    return inner, outer


def _bounds(n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop of the window of width ``size`` about each of ``n`` positions, shifted to
    stay whole inside ``[0, n)``."""
    start = np.clip(np.arange(n) - size // 2, 0, n - size)
    return start, start + size


def _windowed(cube: Cube, stats: Background, target: np.ndarray | None, kind: str,
              window: tuple[int, int]) -> np.ndarray:
    inner, outer = window
    out = _output(cube)
    rank = stats.whitening.shape[0]
    o0, o1 = _bounds(cube.rows, outer)
    i0, i1 = _bounds(cube.rows, inner)
    co0, co1 = _bounds(cube.cols, outer)
    ci0, ci1 = _bounds(cube.cols, inner)
    per_row = (rank + 1) * (cube.cols + 1) * 8 * 3
    step = max(1, _WINDOW_CHUNK_BYTES // per_row - outer)

    def run(rows: slice) -> None:
        first, last = int(o0[rows.start]), int(o1[rows.stop - 1])  # rows any window of the chunk reads
        raw = _pixels(cube, stats.bands, slice(first, last))
        z = np.empty((rank, raw.shape[1]), np.float64)
        project_chunk(raw, stats.whitening, stats.mean, cube.nodata, z)
        valid = np.isfinite(z).all(axis=0)
        z[:, ~valid] = 0.0
        height = last - first
        # Summed-area tables of the whitened pixels and of the valid ones, a zero row and column first.
        table = np.zeros((rank + 1, height + 1, cube.cols + 1))
        table[:rank, 1:, 1:] = z.reshape(rank, height, cube.cols)
        table[rank, 1:, 1:] = valid.reshape(height, cube.cols)
        table.cumsum(axis=1, out=table)
        table.cumsum(axis=2, out=table)

        def box(r0: np.ndarray, r1: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
            r0, r1 = (r0 - first)[:, None], (r1 - first)[:, None]
            c0, c1 = c0[None, :], c1[None, :]
            return table[:, r1, c1] - table[:, r0, c1] - table[:, r1, c0] + table[:, r0, c0]

        sums = box(o0[rows], o1[rows], co0, co1) - box(i0[rows], i1[rows], ci0, ci1)
        with np.errstate(invalid="ignore", divide="ignore"):
            local = sums[:rank] / sums[rank]  # whitened local mean, (rank, h, cols)
        here = z.reshape(rank, height, cube.cols)[:, rows.start - first:rows.stop - first]
        d = here - local
        dd = np.einsum("ijk,ijk->jk", d, d)
        if kind == "rx":
            score = dd
        else:
            s = target[:, None, None] - local
            ss = np.einsum("ijk,ijk->jk", s, s)
            sd = np.einsum("ijk,ijk->jk", s, d)
            score = sd / ss if kind == "mf" else sd * sd / (ss * dd)
        mine = valid.reshape(height, cube.cols)[rows.start - first:rows.stop - first]
        out[rows] = np.where(mine & (sums[rank] > 0), score, np.nan)

    _map_chunks(run, _chunks(cube.rows, step))
    return out


#: The detectors by name, as a page offers them; those after RX need a target.
DETECTORS = ("RX", "Matched filter", "ACE", "CEM")


@dataclass(frozen=True, eq=False)
class DetectionImage(Product):
    """One detector's scores over the cube: ``method`` one of :data:`DETECTORS`, ``target``
    (n_bands,) for all but RX, ``window`` (inner, outer) for a local background (not CEM);
    with ``absorption`` the target is a gas's unit absorption spectrum (:func:`gas_target`,
    matched filter and ACE)."""

    method: str
    target: np.ndarray | None = None
    window: tuple[int, int] | None = None
    absorption: bool = False
    doing = "Scoring every pixel…"

    def image(self, cube: Cube, compute: Compute) -> np.ndarray:
        if self.method not in DETECTORS:
            raise CubeError(f"Detect with one of {', '.join(DETECTORS)}, not '{self.method}'.")
        if self.method == "RX":
            return rx(cube, self.window, stats=compute(background))
        if self.target is None:
            raise CubeError(f"{self.method} needs a target spectrum.")
        if self.method == "CEM":
            return cem(cube, self.target)
        target = _target(cube, self.target)
        bands = tuple(int(b) for b in np.flatnonzero(cube.good_bands & np.isfinite(target)))
        stats = compute(background, None, bands)
        if self.absorption:
            target = gas_target(stats, target)
        detector = matched_filter if self.method == "Matched filter" else ace
        return detector(cube, target, self.window, stats=stats)


@dataclass(frozen=True)
class Detections:
    """The pixels scoring at least a threshold.

    Attributes
    ----------
    mask : ndarray of bool, shape (rows, cols)
    pixels : int
        How many pixels score at least the threshold.
    objects : int
        How many groups of touching pixels (8-connected) they form.
    top : list of (row, col, score)
        The highest-scoring pixels, best first.
    """

    mask: np.ndarray
    pixels: int
    objects: int
    top: list[tuple[int, int, float]]


def detections(scores: np.ndarray, threshold: float, top: int = 5) -> Detections:
    """The pixels of ``scores`` (rows, cols) at or above ``threshold``, grouped into objects,
    and the ``top`` highest-scoring pixels (NaN scores are never detections)."""
    from scipy import ndimage

    scores = np.asarray(scores)
    mask = np.nan_to_num(scores, nan=-np.inf) >= threshold
    _, objects = ndimage.label(mask, structure=np.ones((3, 3), bool))
    finite = np.flatnonzero(np.isfinite(scores.ravel()))
    best = finite[np.argsort(scores.ravel()[finite])[::-1][:top]]
    rows, cols = np.unravel_index(best, scores.shape)
    return Detections(mask, int(mask.sum()), int(objects),
                      [(int(r), int(c), float(scores[r, c])) for r, c in zip(rows, cols, strict=True)])
