"""Cubes and derived products, cached by cube id and parameters (never by hashing arrays).

Cubes are shared by every session of the server (``st.cache_resource``, read-only memory
maps); small derived results (display images, region statistics) are cached per parameters
with ``st.cache_data``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import streamlit as st

from cubescope import (
    Cube,
    CubeError,
    compress,
    continuum,
    display,
    indices,
    library,
    mapping,
    pca,
    roi,
    smoothing,
    spectra,
    unmixing,
    viewport,
)
from cubescope.cluster import KMeansResult, kmeans
from cubescope.demo import demo_cube
from cubescope.io.limits import Limits
from cubescope.mnf import MNFResult, mnf
from cubescope.store import CubeStore

DEMO_ID = "demo"


@st.cache_resource(show_spinner=False)
def store() -> CubeStore:
    """The server's cube store (``CUBESCOPE_STORE``, default ``~/.cache/cubescope/store``),
    shared with other servers through ``CUBESCOPE_SHARED_STORE`` when that is set."""
    root = os.environ.get("CUBESCOPE_STORE") or Path.home() / ".cache" / "cubescope" / "store"
    max_bytes = int(float(os.environ.get("CUBESCOPE_STORE_MAX_BYTES", 20e9)))
    return CubeStore(root, max_bytes=max_bytes, limits=Limits.from_env(),
                     shared=os.environ.get("CUBESCOPE_SHARED_STORE") or None)


#: Suffix of a view key that shows a scaled cube's samples as stored (see :func:`open_cube`).
STORED = ":stored"


@st.cache_resource(max_entries=32, show_spinner="Opening the cube…")
def open_cube(cube_id: str) -> Cube:
    """The cube behind an id; ``"demo"`` is the generated demo scene. An id ending in
    :data:`STORED` gives the cube's samples as stored, without the file's scaling."""
    if cube_id.endswith(STORED):
        return open_cube(cube_id.removesuffix(STORED)).as_stored()
    if cube_id == DEMO_ID:
        return demo_cube()
    return store().open(cube_id)


@st.cache_data(max_entries=128, show_spinner=False)
def region_stats(cube_id: str, box: tuple[int, int, int, int]) -> spectra.RegionStats:
    r0, r1, c0, c1 = box
    return spectra.region_stats(open_cube(cube_id), slice(r0, r1), slice(c0, c1))


def _region_mask(cube: Cube, region: tuple[int, int, int, int] | None) -> np.ndarray | None:
    if region is None:
        return None
    mask = np.zeros((cube.rows, cube.cols), bool)
    r0, r1, c0, c1 = region
    mask[r0:r1, c0:c1] = True
    return mask


@st.cache_data(max_entries=64, show_spinner="Fitting the PCA…")
def pca_fit(cube_id: str, k: int, region: tuple[int, int, int, int] | None) -> pca.PCAResult:
    cube = open_cube(cube_id)
    return pca.fit_pca(cube, k, mask=_region_mask(cube, region))


@st.cache_resource(max_entries=8, show_spinner="Computing the PC images…")
def pca_scores(cube_id: str, k: int, region: tuple[int, int, int, int] | None) -> np.ndarray:
    """PC images ``(rows, cols, k)``; shared by sessions, read-only."""
    scores = pca_fit(cube_id, k, region).transform(open_cube(cube_id))
    scores.flags.writeable = False
    return scores


@st.cache_data(max_entries=32, show_spinner=False)
def pca_on_whole_cube(cube_id: str, k: int, region: tuple[int, int, int, int]) -> np.ndarray:
    return pca_fit(cube_id, k, region).explained_variance_on(open_cube(cube_id))


# --- what the viewer shows ---------------------------------------------------------------------
#
# An image is named by a *product* tuple, so that one tile function serves them all:
# ("band", b), ("savgol", b, window, degree, deriv, delta, exact), ("pc", k, region, component),
# ("pca_error", k, region).

Box = tuple[int, int, int, int]


@st.cache_resource(max_entries=8, show_spinner="Computing the image…")
def derived_image(cube_id: str, product: tuple) -> np.ndarray:
    """A computed ``(rows, cols)`` image, shared by sessions and read-only."""
    kind, *args = product
    cube = open_cube(cube_id)
    if kind == "savgol":
        band, window, degree, deriv, delta, exact = args
        image = smoothing.savgol_band(cube, band, window, degree, deriv, delta, use_wavelengths=exact)
    elif kind == "pc":
        k, region, component = args
        image = pca_scores(cube_id, k, region)[:, :, component]
    elif kind == "pca_error":
        k, region = args
        image = pca_fit(cube_id, k, region).reconstruction_error(cube)
    elif kind == "math":
        (expression,) = args
        image = indices.band_math(cube, expression)
    elif kind == "depth":
        low, high = args
        image = continuum.band_depth(cube, cube.wavelengths_nm, feature=(low, high))
    elif kind == "sam":
        library_key, reference = args
        image = library.spectral_angles(cube, kept_library(library_key).spectra[reference:reference + 1])[:, :, 0]
    elif kind == "abundance":
        key, sum_to_one, index = args
        image = abundances(cube_id, key, sum_to_one)[:, :, index]
    elif kind == "residual":
        key, sum_to_one = args
        image = unmixing.residual_error(cube, kept_library(key).spectra, abundances(cube_id, key, sum_to_one))
    elif kind == "mnf":
        k, component = args
        image = mnf_scores(cube_id, k)[:, :, component]
    elif kind == "cz_error":
        key, method = args
        image = compression(key)[method].pixel_rmse
    elif kind == "cz_code":
        key, method, index = args
        image = compression(key)[method].codes[:, :, index]
    else:
        raise ValueError(f"unknown product {kind!r}")
    image = np.asarray(image)
    image.flags.writeable = False
    return image


@st.cache_resource(max_entries=64, show_spinner=False)
def image_stats(cube_id: str, product: tuple) -> display.ImageStats:
    """Extremes and a subsample of a whole image: one pass over it serves every stretch."""
    image = open_cube(cube_id).band(product[1]) if product[0] == "band" else derived_image(cube_id, product)
    return display.image_stats(image)


def limits(cube_id: str, product: tuple, method: str, low: float, high: float,
           vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """The stretch of a whole image (percentiles from a regular subsample), so that zooming
    does not change its colours."""
    return display.stretch_limits(image_stats(cube_id, product), method, low, high, vmin, vmax)


def value_range(cube_id: str, product: tuple) -> tuple[float, float]:
    """An image's finite extremes: where a range the user types starts."""
    return limits(cube_id, product, "min-max", 2.0, 98.0, None, None)


def _window_values(cube_id: str, product: tuple, window: viewport.Window, step: int) -> np.ndarray:
    if product[0] == "band":
        return open_cube(cube_id).band_window(product[1], *window.slices(step))
    return viewport.crop(derived_image(cube_id, product), window, step)


@st.cache_resource(max_entries=48, show_spinner=False)
def tile(cube_id: str, product: tuple, window: Box, step: int, method: str, low: float, high: float,
         vmin: float | None, vmax: float | None) -> display.Tile:
    """What the viewer is sent for one image: the window's samples at ``step``, stretched."""
    shown = viewport.Window(*window)
    lo, hi = limits(cube_id, product, method, low, high, vmin, vmax)
    return display.image_tile(_window_values(cube_id, product, shown, step), shown, step, lo, hi)


@st.cache_resource(max_entries=24, show_spinner=False)
def rgb_tile(cube_id: str, products: tuple[tuple, tuple, tuple], window: Box, step: int, method: str,
             low: float, high: float, ranges: tuple | None) -> display.Tile:
    """An RGB composite tile; each channel stretched on its own (``ranges``: one ``(lo, hi)``
    per channel for the range stretch)."""
    shown = viewport.Window(*window)
    if method == "range":
        channel_limits = tuple(ranges)
    else:
        channel_limits = tuple(limits(cube_id, p, method, low, high, None, None) for p in products)
    channels = tuple(_window_values(cube_id, p, shown, step) for p in products)
    return display.rgb_tile(channels, shown, step, channel_limits)


@st.cache_resource(max_entries=8, show_spinner="Placing the cube on the map…")
def mercator_grid(cube_id: str) -> mapping.MercatorGrid:
    """The Web Mercator grid over a georeferenced cube and the pixel each cell shows."""
    cube = open_cube(cube_id)
    if cube.geo is None:
        raise CubeError(f"'{cube.name}' is not georeferenced.")
    return mapping.mercator_grid(cube.geo)


@st.cache_resource(max_entries=24, show_spinner=False)
def map_layer(cube_id: str, products: tuple[tuple, ...], channel_limits: tuple[tuple[float, float], ...],
              colormap: str) -> tuple[np.ndarray, np.ndarray]:
    """One image or an RGB composite on the map grid: ``(values (channels, h, w) float32, RGBA)``.
    Bands are read at about the grid's resolution, never whole at full size."""
    cube = open_cube(cube_id)
    grid = mercator_grid(cube_id)
    step = max(1, max(cube.rows, cube.cols) // max(grid.shape))
    whole = viewport.Window.whole(cube.rows, cube.cols)
    values = np.stack([grid.warp(_window_values(cube_id, p, whole, step if p[0] == "band" else 1),
                                 step if p[0] == "band" else 1) for p in products])
    if len(products) == 3:
        rgba = display.rgb_composite(tuple(values), channel_limits)
    else:
        rgba = display.apply_colormap(display.normalize(values[0], *channel_limits[0]), colormap)
    return values, rgba



@st.cache_resource(max_entries=16, show_spinner=False)
def _libraries() -> dict[str, library.SpectralLibrary]:
    """Libraries in use, by content key, shared by the sessions (a library is a few kilobytes)."""
    return {}


def keep_library(resampled: library.SpectralLibrary) -> str:
    """Keep a library (on the cube's bands) for the products that use it; return its key."""
    import hashlib

    digest = hashlib.sha256(resampled.spectra.tobytes() + "\x00".join(resampled.names).encode()).hexdigest()[:24]
    kept = _libraries()
    if len(kept) > 64:
        kept.clear()
    kept[digest] = resampled
    return digest


def kept_library(key: str) -> library.SpectralLibrary:
    found = _libraries().get(key)
    if found is None:
        raise CubeError("This library is no longer on the server; load it again.")
    return found


@st.cache_resource(max_entries=4, show_spinner="Matching every pixel against the library…")
def nearest_matches(cube_id: str, library_key: str) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's nearest reference of a kept library and its angle (radians)."""
    nearest, angle = library.nearest_reference(open_cube(cube_id), kept_library(library_key).spectra)
    nearest.flags.writeable = angle.flags.writeable = False
    return nearest, angle


@st.cache_resource(max_entries=4, show_spinner=False)
def class_map(cube_id: str, library_key: str, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Best-matching reference (-1: none within ``threshold`` radians) and its angle."""
    nearest, angle = nearest_matches(cube_id, library_key)
    return library.within(nearest, angle, threshold), angle


@st.cache_resource(max_entries=24, show_spinner=False)
def class_tile(cube_id: str, library_key: str, threshold: float, window: Box, step: int) -> display.Tile:
    """The class map's tile: each class in its colour, no match transparent; the values read
    out are the class number and the angle."""
    classes, best = class_map(cube_id, library_key, threshold)
    shown = viewport.Window(*window)
    return display.class_tile(viewport.crop(classes, shown, step), viewport.crop(best, shown, step), shown, step,
                              len(kept_library(library_key).names))


@st.cache_data(max_entries=128, show_spinner=False)
def roi_stats(cube_id: str, encoded: str) -> roi.ROIStats:
    """Pixel count, mean and std spectra of one ROI (given as its link encoding)."""
    (area,) = roi.decode_rois(encoded)
    return roi.roi_stats(open_cube(cube_id), area)


@st.cache_resource(max_entries=4, show_spinner="Forming the classes…")
def kmeans_classes(cube_id: str, n_classes: int, seed: int) -> KMeansResult:
    """k-means classes of every pixel (seeded: the same classes for everyone)."""
    return kmeans(open_cube(cube_id), n_classes, seed=seed)


@st.cache_resource(max_entries=24, show_spinner=False)
def kmeans_tile(cube_id: str, n_classes: int, seed: int, window: Box, step: int) -> display.Tile:
    shown = viewport.Window(*window)
    labels = kmeans_classes(cube_id, n_classes, seed).labels
    return display.class_tile(viewport.crop(labels, shown, step), None, shown, step, n_classes)


@st.cache_resource(max_entries=4, show_spinner="Unmixing every pixel…")
def abundances(cube_id: str, endmember_key: str, sum_to_one: bool) -> np.ndarray:
    """Abundances ``(rows, cols, n)`` of kept endmembers (a kept library) in every pixel."""
    result = unmixing.unmix(open_cube(cube_id), kept_library(endmember_key).spectra, sum_to_one=sum_to_one)
    result.flags.writeable = False
    return result


@st.cache_data(max_entries=16, show_spinner="Finding endmembers (ATGP)…")
def atgp_endmembers(cube_id: str, n: int) -> tuple[list[tuple[int, int]], np.ndarray]:
    return unmixing.atgp(open_cube(cube_id), n)


@st.cache_data(max_entries=16, show_spinner="Fitting the MNF…")
def mnf_fit(cube_id: str, k: int) -> MNFResult:
    return mnf(open_cube(cube_id), k)


@st.cache_resource(max_entries=4, show_spinner="Computing the MNF images…")
def mnf_scores(cube_id: str, k: int) -> np.ndarray:
    scores = mnf_fit(cube_id, k).transform(open_cube(cube_id))
    scores.flags.writeable = False
    return scores


@st.cache_resource(show_spinner=False)
def _compressions() -> dict[tuple, tuple]:
    """Fitted compressions by (cube id, k, region, seed): the autoencoder and the three
    methods' reconstructions. Shared by sessions, the four latest kept."""
    return {}


def compression_key(cube_id: str, k: int, region: tuple | None, seed: int) -> tuple:
    return (cube_id, k, region, seed)


def has_compression(key: tuple) -> bool:
    return key in _compressions()


def fit_compression(key: tuple, progress) -> None:
    """Train the autoencoder (reporting to ``progress``) and reconstruct with every method."""
    cube_id, k, region, seed = key
    cube = open_cube(cube_id)
    mask = _region_mask(cube, region)
    autoencoder = compress.fit_autoencoder(cube, k, seed=seed, mask=mask, progress=progress)
    progress(1.0, "Reconstructing with PCA, the autoencoder and Fourier…")
    fitted_pca = pca.fit_pca(cube, k, mask=mask, bands=autoencoder.bands_)
    results = compress.compare(cube, k, mask=mask, seed=seed, autoencoder=autoencoder, pca=fitted_pca)
    kept = _compressions()
    while len(kept) >= 4:
        kept.pop(next(iter(kept)))
    kept[key] = (autoencoder, fitted_pca, results)


def compression(key: tuple) -> dict[str, compress.Reconstruction]:
    """The three methods' reconstructions of a fitted compression."""
    return _compression(key)[2]


def compression_models(key: tuple) -> tuple[compress.AutoencoderResult, pca.PCAResult]:
    """The autoencoder and the PCA of a fitted compression."""
    found = _compression(key)
    return found[0], found[1]


def _compression(key: tuple) -> tuple:
    found = _compressions().get(key)
    if found is None:
        raise CubeError("This compression is no longer on the server; fit it again.")
    return found


@st.cache_data(max_entries=8, show_spinner=False)
def standardization(cube_id: str, method: str) -> compress.Standardization:
    """Per-band standardization parameters of a cube."""
    return compress.standardization(open_cube(cube_id), method)


@st.cache_data(max_entries=16, show_spinner=False)
def class_stats(cube_id: str, n_classes: int, seed: int, band: int) -> list[tuple[float, float]]:
    """Mean and std (ddof 0) of one band over each k-means class's pixels."""
    labels = kmeans_classes(cube_id, n_classes, seed).labels
    image = open_cube(cube_id).band(band)
    out = []
    for k in range(n_classes):
        values = image[(labels == k) & np.isfinite(image)]
        out.append((float(values.mean()), float(values.std())) if values.size else (float("nan"), float("nan")))
    return out
