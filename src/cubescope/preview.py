"""A compressed copy of the shown part of a cube, from which a browser paints any band and any
pixel's spectrum at once, before the exact one arrives.

The copy is the cube's principal components, as the PCA page computes them: the mean spectrum,
the loadings of the leading ``k`` components (``k`` from the explained variance, at most
:data:`MAX_COMPONENTS`) and the scores of the pixels shown (the zoom window at the viewer's
sample step), each component quantized to 16 bits with its own offset and scale. Band ``b`` of a
shown pixel is then ``mean[b] + loadings[b] . (offset + scale * code)``; its error against the
cube is the PCA's reconstruction error (:attr:`PreviewModel.rmse`, in the cube's units) plus at
most half a quantization step per component.

Bad bands, and bands without any value, are not in the fit and have no preview (a browser waits
for their exact image); a pixel lacking data in a band the fit uses has no preview value either
(it shows as no data).

Examples
--------
>>> from cubescope.demo import demo_cube
>>> from cubescope.viewport import Window
>>> cube = demo_cube()
>>> model = fit_preview(cube)
>>> model.n_components <= MAX_COMPONENTS and model.explained >= 0.999
True
>>> shown = preview_window(cube, model, Window(0, 200, 0, 240), step=2)
>>> shown.codes.shape
(4, 100, 120)
>>> band = preview_band(model, shown, 40)
>>> float(np.nanmax(np.abs(band - cube.band(40)[::2, ::2]))) < 0.03
True
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.pca import fit_pca, project_chunk
from cubescope.stats import _feature_bands, work_dtype
from cubescope.viewport import Window

#: Most components a preview keeps: the browser's work per painted band grows with them.
MAX_COMPONENTS = 16
#: The share of the cube's variance a preview's components explain, when fewer than
#: :data:`MAX_COMPONENTS` do.
VARIANCE = 0.999
#: The code of a pixel without a preview value.
NO_DATA = 65535
#: Samples per chunk of window rows read at once.
_CHUNK_SAMPLES = 1 << 22


@dataclass(frozen=True)
class PreviewModel:
    """What a preview reconstructs bands from.

    Attributes
    ----------
    bands : ndarray of int, shape (m,)
        The cube's bands in the fit (its good bands).
    mean : ndarray of float32, shape (n_bands,)
        The mean spectrum, NaN at bands not in the fit.
    loadings : ndarray of float32, shape (n_bands, k)
        The components' loadings per band, NaN at bands not in the fit.
    explained : float
        The share of the variance the ``k`` components explain.
    rmse : float
        The root-mean-square difference between the cube and its reconstruction from the ``k``
        components, over the fitted bands and pixels, in the cube's units.
    """

    bands: np.ndarray
    mean: np.ndarray
    loadings: np.ndarray
    explained: float
    rmse: float

    @property
    def n_components(self) -> int:
        return self.loadings.shape[1]


@dataclass(frozen=True)
class PreviewWindow:
    """The quantized scores of the pixels shown.

    Attributes
    ----------
    codes : ndarray of uint16, shape (k, h, w)
        Each component's scores, ``offset + scale * code``; :data:`NO_DATA` where a pixel has no
        preview value.
    offsets, scales : ndarray of float32, shape (k,)
    window : Window
        The full-resolution pixels covered.
    step : int
        Every ``step``-th row and column of the window.
    """

    codes: np.ndarray
    offsets: np.ndarray
    scales: np.ndarray
    window: Window
    step: int


def fit_preview(cube: Cube, variance: float = VARIANCE, max_components: int = MAX_COMPONENTS) -> PreviewModel:
    """The principal components a preview of ``cube`` is made of: the fewest explaining
    ``variance`` of it, at most ``max_components``.

    Raises
    ------
    CubeError
        When the cube has fewer than two usable bands (there is nothing to compress).
    """
    bands = _feature_bands(cube, None)
    if bands.size < 2:
        raise CubeError("A preview needs at least two usable bands.")
    try:
        fitted = fit_pca(cube, min(max_components, bands.size), bands=bands)
    except CubeError:
        # A band empty everywhere (NaN or no-data, not flagged bad) leaves no pixel with data in
        # every band: fit without it, and it has no preview, as a bad band.
        filled = np.array([b for b in bands if np.isfinite(cube.band(b)).any()], dtype=int)
        if filled.size == bands.size or filled.size < 2:
            raise
        bands = filled
        fitted = fit_pca(cube, min(max_components, bands.size), bands=bands)
    k = fitted.components_needed(variance) or fitted.n_components_
    k = min(k, fitted.n_components_)
    mean = np.full(cube.n_bands, np.nan, np.float32)
    mean[fitted.bands_] = fitted.mean_
    loadings = np.full((cube.n_bands, k), np.nan, np.float32)
    loadings[fitted.bands_] = fitted.components_[:k].T
    left = max(0.0, 1.0 - float(np.sum(fitted.explained_variance_ratio_[:k])))
    rmse = float(np.sqrt(left * fitted.total_variance_ / fitted.bands_.size))
    return PreviewModel(fitted.bands_, mean, loadings, float(np.sum(fitted.explained_variance_ratio_[:k])), rmse)


def preview_window(cube: Cube, model: PreviewModel, window: Window, step: int) -> PreviewWindow:
    """The quantized scores of every ``step``-th pixel of ``window``, read over chunks of rows
    (memory bounded by a chunk, never the window's spectra at once).

    Parameters
    ----------
    cube : Cube
    model : PreviewModel
        :func:`fit_preview` of this cube.
    window : Window
    step : int
        At least 1.
    """
    if step < 1:
        raise CubeError(f"A preview's sample step is at least 1, not {step}.")
    rows = range(window.row0, window.row1, step)
    cols = slice(window.col0, window.col1, step)
    h, w = len(rows), len(range(window.col0, window.col1, step))
    k, bands = model.n_components, model.bands
    dtype = work_dtype(cube.dtype)
    weights = np.ascontiguousarray(model.loadings[bands].T, dtype=dtype)
    mean = model.mean[bands].astype(dtype)
    scores = np.empty((k, h * w), dtype)
    chunk = max(1, _CHUNK_SAMPLES // max(1, w * bands.size))
    contiguous = bands[-1] - bands[0] == bands.size - 1
    for start in range(0, h, chunk):
        picked = slice(rows.start + start * step, min(rows.stop, rows.start + (start + chunk) * step), step)
        block = cube.bsq[bands[0]:bands[-1] + 1, picked, cols] if contiguous else cube.bsq[bands, picked, cols]
        if cube.is_scaled:
            block = cube.plane(block, bands)
        count = block.shape[1] * w
        project_chunk(block.reshape(bands.size, -1), weights, mean, cube.nodata, scores[:, start * w:start * w + count])
    return _quantized(scores.reshape(k, h, w), window, step)


def _quantized(scores: np.ndarray, window: Window, step: int) -> PreviewWindow:
    k = scores.shape[0]
    finite = np.isfinite(scores).all(axis=0)
    offsets, scales = np.zeros(k, np.float32), np.ones(k, np.float32)
    codes = np.full(scores.shape, NO_DATA, np.uint16)
    for i in range(k):
        values = scores[i][finite]
        if values.size:
            low, high = float(values.min()), float(values.max())
            scale = (high - low) / (NO_DATA - 1) if high > low else 1.0
            offsets[i], scales[i] = low, scale
            codes[i][finite] = np.rint((values - low) / scale).astype(np.uint16)
    return PreviewWindow(codes, offsets, scales, window, step)


def preview_band(model: PreviewModel, shown: PreviewWindow, band: int) -> np.ndarray:
    """Band ``band`` of the pixels shown, as a browser paints it from the preview: ``(h, w)``
    float32, NaN without a preview value (and everywhere for a band not in the fit)."""
    scores = shown.offsets[:, None, None] + shown.scales[:, None, None] * shown.codes.astype(np.float32)
    values = model.mean[band] + np.tensordot(model.loadings[band], scores, axes=1)
    values[(shown.codes == NO_DATA).any(axis=0)] = np.nan
    return values.astype(np.float32)


def preview_spectrum(model: PreviewModel, shown: PreviewWindow, row: int, col: int) -> np.ndarray:
    """The spectrum of pixel ``(row, col)`` (full-resolution coordinates inside the window) as the
    preview gives it: that of the shown sample covering it; NaN at bands not in the fit."""
    i = (row - shown.window.row0) // shown.step
    j = (col - shown.window.col0) // shown.step
    codes = shown.codes[:, i, j]
    if (codes == NO_DATA).any():
        return np.full(model.mean.shape, np.nan, np.float32)
    scores = shown.offsets + shown.scales * codes.astype(np.float32)
    return (model.mean + model.loadings @ scores).astype(np.float32)


def band_limits(cube: Cube, method: str = "percentile", low: float = 2.0, high: float = 98.0,
                vmin: float | None = None, vmax: float | None = None) -> np.ndarray:
    """Every band's stretch ``(lo, hi)``, each exactly as the band's own image is stretched
    (:func:`cubescope.display.stretch_limits` of the whole band), so that a preview is coloured
    as its exact image will be: ``(n_bands, 2)``, NaN for a band without data. One band is read
    at a time."""
    from cubescope.display import image_stats, stretch_limits

    out = np.full((cube.n_bands, 2), np.nan)
    for b in range(cube.n_bands):
        if method == "range":
            out[b] = stretch_limits(np.empty(0), method, low, high, vmin, vmax)
        else:
            out[b] = stretch_limits(image_stats(cube.band(b)), method, low, high, vmin, vmax)
    return out
