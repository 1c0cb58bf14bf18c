"""Cubes, computed results and images, cached by cube id and parameters (never by hashing a
cube's arrays).

Cubes are shared by every session of the server (``st.cache_resource``, read-only memory
maps). Any analysis runs through :func:`computed`, one cache keyed by the function and its
arguments; images are the analyses' typed products (:class:`cubescope.products.Product`),
cached by their keys and drawn by one tile function. Nothing here names an analysis but the
library matching and k-means class maps, whose tiles are class maps rather than images.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import streamlit as st

from cubescope import (
    Cube,
    CubeError,
    compress,
    display,
    library,
    mapping,
    pca,
    preview,
    roi,
    scatter,
    spectra,
    viewport,
)
from cubescope.badbands import decode_runs
from cubescope.cluster import KMeansResult, kmeans
from cubescope.demo import demo_cube
from cubescope.io.isolated import TURNS
from cubescope.io.limits import Limits
from cubescope.products import Compute, Product
from cubescope.store import CubeStore, configured_root
from cubescope_ui.streamed_uploads import RECEIVING
from cubescope_ui.text import plain

DEMO_ID = "demo"


@st.cache_resource(show_spinner=False)
def store() -> CubeStore:
    """The server's cube store (:func:`cubescope.store.configured_root`), shared with other servers through
    ``CUBESCOPE_SHARED_STORE`` when that is set."""
    max_bytes = int(float(os.environ.get("CUBESCOPE_STORE_MAX_BYTES", 20e9)))
    return CubeStore(configured_root(), max_bytes=max_bytes, limits=Limits.from_env(),
                     shared=os.environ.get("CUBESCOPE_SHARED_STORE") or None)


#: Suffix of a view key that shows a scaled cube's samples as stored (see :func:`open_cube`).
STORED = ":stored"
#: Suffix of a view key with an edited bad-band list, followed by its runs of band numbers.
BAD = ":bad="


def view_id(cube_id: str, bad: str | None = None) -> str:
    """The id of the view of cube ``cube_id`` with the bad-band list ``bad`` (runs of band
    numbers, see :func:`cubescope.badbands.encode_runs`; None: the file's list). Every cache
    is keyed by the view, so that an edited list computes everything anew."""
    return cube_id if bad is None else f"{cube_id}{BAD}{bad}"


def base_id(view: str) -> str:
    """The stored cube's id behind a view id."""
    return view.partition(":")[0]


@st.cache_resource(max_entries=32, show_spinner="Opening the cube…")
def open_cube(cube_id: str) -> Cube:
    """The cube behind an id; ``"demo"`` is the generated demo scene. An id ending in
    :data:`STORED` gives the cube's samples as stored, without the file's scaling; one with
    :data:`BAD` the cube with that bad-band list."""
    if cube_id.endswith(STORED):
        return open_cube(cube_id.removesuffix(STORED)).as_stored()
    if BAD in cube_id:
        base, _, runs = cube_id.partition(BAD)
        cube = open_cube(base)
        return cube.with_bad_bands(decode_runs(runs, cube.n_bands))
    if cube_id == DEMO_ID:
        return demo_cube()
    return store().open(cube_id)


@st.cache_data(max_entries=128, show_spinner=False)
def region_stats(cube_id: str, box: tuple[int, int, int, int]) -> spectra.RegionStats:
    r0, r1, c0, c1 = box
    return spectra.region_stats(open_cube(cube_id), slice(r0, r1), slice(c0, c1))


# --- computed results and images ------------------------------------------------------------
#
# Any analysis is computed through one cache, keyed by the cube id, the function's name and its
# arguments (hashed by value), and shared by the sessions; images are the analyses' own typed
# products (cubescope.products.Product), keyed by their ``key``.

Box = tuple[int, int, int, int]


@functools.cache
def _cache(doing: str) -> Callable[..., Any]:
    """The cache of computed results, saying ``doing`` while it computes one. Every message's
    function has the same name and code, so Streamlit keeps their results in one store."""

    @st.cache_resource(max_entries=16, show_spinner=doing)
    def computed(cube_id: str, name: str, args: tuple, kwargs: tuple, _function: Callable[..., Any]) -> Any:
        value = _function(open_cube(cube_id), *args, **dict(kwargs))
        if isinstance(value, np.ndarray):
            value.flags.writeable = False
        return value

    return computed


def computed(cube_id: str, doing: str, function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``function(cube, *args, **kwargs)`` for cube ``cube_id``, remembered by the arguments'
    values and shared by the sessions (read-only); ``doing`` says what it is doing meanwhile."""
    name = f"{function.__module__}.{function.__qualname__}"
    return _cache(doing)(cube_id, name, args, tuple(sorted(kwargs.items())), function)


def compute(cube_id: str, doing: str = "Computing…") -> Compute:
    """:func:`computed` for one cube, as a product's ``compute``."""
    return functools.partial(computed, cube_id, doing)


@st.cache_resource(max_entries=8, show_spinner=False)
def _derived_image(cube_id: str, key: tuple, _product: Product) -> np.ndarray:
    image = np.asarray(_product.image(open_cube(cube_id), compute(cube_id, _product.doing)))
    image.flags.writeable = False
    return image


def derived_image(cube_id: str, product: Product) -> np.ndarray:
    """A product's whole ``(rows, cols)`` image, shared by sessions and read-only."""
    if not product.held:
        return product.image(open_cube(cube_id), compute(cube_id, product.doing))
    with st.spinner(product.doing):
        return _derived_image(cube_id, product.key, product)


@st.cache_resource(max_entries=64, show_spinner=False)
def _image_stats(cube_id: str, key: tuple, _product: Product) -> display.ImageStats:
    return display.image_stats(derived_image(cube_id, _product))


def image_stats(cube_id: str, product: Product) -> display.ImageStats:
    """Extremes and a subsample of a whole image: one pass over it serves every stretch."""
    return _image_stats(cube_id, product.key, product)


def limits(cube_id: str, product: Product, method: str, low: float, high: float,
           vmin: float | None, vmax: float | None) -> tuple[float, float]:
    """The stretch of a whole image (percentiles from a regular subsample), so that zooming
    does not change its colours."""
    return display.stretch_limits(image_stats(cube_id, product), method, low, high, vmin, vmax)


def value_range(cube_id: str, product: Product) -> tuple[float, float]:
    """An image's finite extremes: where a range the user types starts."""
    return limits(cube_id, product, "min-max", 2.0, 98.0, None, None)


# --- the viewer's preview (cubescope.preview) -----------------------------------------------------
#: Cubes of more samples get no preview: its fit and its stretch table each read the whole cube.
MAX_PREVIEW_SAMPLES = 8 * 2**30


#: The worker's niceness: the lowest, below the server's page runs and below conversions (nice
#: 10), so that the previews of ten new cubes never hold up the conversion of another.
BACKGROUND_NICENESS = 19


def _lower_priority() -> None:
    try:  # Linux gives each thread its own niceness
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), BACKGROUND_NICENESS)
    except (OSError, AttributeError):
        pass  # elsewhere the worker runs at the server's priority


#: How long a job reading a whole cube waits for conversions and uploads to end before it runs anyway.
CONVERSIONS_WAIT = 60.0


def _after_conversions(function: Callable[..., Any], *args: Any) -> Any:
    # Ten uploads at once start ten previews, each a pass over its whole cube: run while
    # conversions are queued, they held up the first pages of those still converting (the
    # slowest of ten first pages 2-3 s later); run while uploads still arrive, between two
    # conversions, they still did (load10's slowest first page 6.8-8.7 s without them, 7.4-10.2
    # s with). A preview only speeds up browsing; it can wait.
    deadline = time.monotonic() + CONVERSIONS_WAIT
    while (left := deadline - time.monotonic()) > 0:
        if (TURNS.wait_idle(left) and RECEIVING.wait_none(max(0.0, deadline - time.monotonic()))
                and TURNS.wait_idle(0)):
            break
    return function(*args)


@st.cache_resource(show_spinner=False)
def _background() -> tuple[dict[bool, ThreadPoolExecutor], dict[tuple, Future], threading.Lock]:
    """Two workers at the lowest priority for the previews' slow parts, by whether a job reads
    its whole cube (so that such a job waiting for conversions holds up no window of a cube
    already previewed), and the jobs they were given (the newest 64, of which the newest 8
    large ones)."""
    workers = {whole: ThreadPoolExecutor(1, f"cubescope-preview-{'cube' if whole else 'window'}",
                                         initializer=_lower_priority) for whole in (True, False)}
    return workers, {}, threading.Lock()


def in_background(key: tuple, function: Callable[..., Any], *args: Any, large: bool = False,
                  whole_cube: bool = False) -> Any:
    """``function(*args)`` computed once in the background: its result when done, else None
    (the job is started, and a later run finds it done). A job that failed gives None.
    ``large`` results (megabytes) are kept for the newest 8 such jobs only. A ``whole_cube``
    job starts once no conversion runs or waits and no upload is being received (at most
    :data:`CONVERSIONS_WAIT` later)."""
    workers, jobs, lock = _background()
    key = ("large", *key) if large else key
    with lock:
        job = jobs.get(key)
        if job is None:
            job = jobs[key] = (workers[True].submit(_after_conversions, function, *args) if whole_cube
                               else workers[False].submit(function, *args))
            for old in [k for k in jobs if k[0] == "large"][:-8] + [k for k in jobs if k[0] != "large"][:-64]:
                del jobs[old]
    if not job.done() or job.exception() is not None:
        return None
    return job.result()


def preview_parts(cube_id: str, method: str, low: float, high: float, vmin: float | None,
                  vmax: float | None) -> tuple[preview.PreviewModel | None, np.ndarray | None] | None:
    """The preview's model and every band's stretch for cube ``cube_id``, each None until it is
    computed in the background; None for a cube too large or with too few usable bands."""
    cube = open_cube(cube_id)
    if cube.rows * cube.cols * cube.n_bands > MAX_PREVIEW_SAMPLES or int(cube.good_bands.sum()) < 2:
        return None
    model = in_background(("model", cube_id), preview.fit_preview, cube, whole_cube=True)
    limits = in_background(("limits", cube_id, method, low, high, vmin, vmax), preview.band_limits, cube, method, low,
                           high, vmin, vmax, whole_cube=True)
    return model, limits


@st.cache_resource(max_entries=16, show_spinner=False)
def _density(cube_id: str, keys: tuple, bins: int, _x: Product, _y: Product) -> scatter.Density:
    return scatter.density(derived_image(cube_id, _x), derived_image(cube_id, _y), bins)


def density(cube_id: str, x: Product, y: Product, bins: int) -> scatter.Density:
    """The pixels counted over two products' values (:func:`cubescope.scatter.density`)."""
    return _density(cube_id, (x.key, y.key), bins, x, y)


@st.cache_resource(max_entries=8, show_spinner=False)
def _selected(cube_id: str, keys: tuple, corners: str, _x: Product, _y: Product) -> np.ndarray:
    mask = scatter.select(derived_image(cube_id, _x), derived_image(cube_id, _y), scatter.decode_polygon(corners))
    mask.flags.writeable = False
    return mask


def selected(cube_id: str, x: Product, y: Product, corners: np.ndarray) -> np.ndarray:
    """The pixels whose two products' values lie inside the polygon ``corners`` (read-only)."""
    return _selected(cube_id, (x.key, y.key), scatter.encode_polygon(corners), x, y)


def _window_values(cube_id: str, product: Product, window: viewport.Window, step: int) -> np.ndarray:
    return product.samples(open_cube(cube_id), window, step, lambda: derived_image(cube_id, product))


@st.cache_resource(max_entries=48, show_spinner=False)
def _tile(cube_id: str, key: tuple, window: Box, step: int, method: str, low: float, high: float,
          vmin: float | None, vmax: float | None, _product: Product) -> display.Tile:
    shown = viewport.Window(*window)
    lo, hi = limits(cube_id, _product, method, low, high, vmin, vmax)
    return display.image_tile(_window_values(cube_id, _product, shown, step), shown, step, lo, hi)


def tile(cube_id: str, product: Product, window: Box, step: int, method: str, low: float, high: float,
         vmin: float | None, vmax: float | None) -> display.Tile:
    """What the viewer is sent for one image: the window's samples at ``step``, stretched."""
    return _tile(cube_id, product.key, window, step, method, low, high, vmin, vmax, _product=product)


@st.cache_resource(max_entries=24, show_spinner=False)
def _rgb_tile(cube_id: str, keys: tuple, window: Box, step: int, method: str, low: float, high: float,
              ranges: tuple | None, _products: tuple[Product, ...]) -> display.Tile:
    shown = viewport.Window(*window)
    if method == "range":
        channel_limits = tuple(ranges)
    else:
        channel_limits = tuple(limits(cube_id, p, method, low, high, None, None) for p in _products)
    channels = tuple(_window_values(cube_id, p, shown, step) for p in _products)
    return display.rgb_tile(channels, shown, step, channel_limits)


def rgb_tile(cube_id: str, products: tuple[Product, Product, Product], window: Box, step: int, method: str,
             low: float, high: float, ranges: tuple | None) -> display.Tile:
    """An RGB composite tile; each channel stretched on its own (``ranges``: one ``(lo, hi)``
    per channel for the range stretch)."""
    keys = tuple(p.key for p in products)
    return _rgb_tile(cube_id, keys, window, step, method, low, high, ranges, _products=products)


@st.cache_resource(max_entries=8, show_spinner="Placing the cube on the map…")
def mercator_grid(cube_id: str) -> mapping.MercatorGrid:
    """The Web Mercator grid over a georeferenced cube and the pixel each cell shows."""
    cube = open_cube(cube_id)
    if cube.geo is None:
        raise CubeError(f"'{cube.name}' is not georeferenced.")
    return mapping.mercator_grid(cube.geo)


@st.cache_resource(max_entries=24, show_spinner=False)
def _map_layer(cube_id: str, keys: tuple, channel_limits: tuple[tuple[float, float], ...], colormap: str,
               _products: tuple[Product, ...]) -> tuple[np.ndarray, np.ndarray]:
    cube = open_cube(cube_id)
    grid = mercator_grid(cube_id)
    coarse = max(1, max(cube.rows, cube.cols) // max(grid.shape))
    whole = viewport.Window.whole(cube.rows, cube.cols)
    # An image read from the cube is read at about the grid's resolution; a computed one is held whole.
    steps = [1 if p.held else coarse for p in _products]
    values = np.stack([grid.warp(_window_values(cube_id, p, whole, step), step)
                       for p, step in zip(_products, steps, strict=True)])
    if len(_products) == 3:
        rgba = display.rgb_composite(tuple(values), channel_limits)
    else:
        rgba = display.apply_colormap(display.normalize(values[0], *channel_limits[0]), colormap)
    return values, rgba


def map_layer(cube_id: str, products: tuple[Product, ...], channel_limits: tuple[tuple[float, float], ...],
              colormap: str) -> tuple[np.ndarray, np.ndarray]:
    """One image or an RGB composite on the map grid: ``(values (channels, h, w) float32, RGBA)``.
    Bands are read at about the grid's resolution, never whole at full size."""
    return _map_layer(cube_id, tuple(p.key for p in products), channel_limits, colormap, _products=products)



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


@st.cache_resource(max_entries=24, show_spinner=False)
def labels_tile(cube_id: str, name: str, window: Box, step: int, n_classes: int, _labels: np.ndarray) -> display.Tile:
    """The tile of a class map ``_labels`` (rows, cols) ints, -1 for no class, named ``name``
    (what the map is: its tiles are cached by name)."""
    shown = viewport.Window(*window)
    return display.class_tile(viewport.crop(_labels, shown, step), None, shown, step, n_classes)


def kmeans_classes(cube_id: str, n_classes: int, seed: int) -> KMeansResult:
    """k-means classes of every pixel (seeded: the same classes for everyone)."""
    return computed(cube_id, "Forming the classes…", kmeans, n_classes, seed=seed)


@st.cache_resource(max_entries=24, show_spinner=False)
def kmeans_tile(cube_id: str, n_classes: int, seed: int, window: Box, step: int) -> display.Tile:
    shown = viewport.Window(*window)
    labels = kmeans_classes(cube_id, n_classes, seed).labels
    return display.class_tile(viewport.crop(labels, shown, step), None, shown, step, n_classes)


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
    mask = viewport.box_mask(region, cube.rows, cube.cols)
    autoencoder = compress.fit_autoencoder(cube, k, seed=seed, mask=mask, progress=progress)
    progress(1.0, "Reconstructing with PCA, the autoencoder and Fourier…")
    fitted_pca = pca.fit_pca(cube, k, mask=mask, bands=autoencoder.bands_)
    results = compress.compare(cube, k, mask=mask, seed=seed, autoencoder=autoencoder, pca=fitted_pca)
    kept = _compressions()
    while len(kept) >= 4:
        kept.pop(next(iter(kept)))
    kept[key] = (autoencoder, fitted_pca, results)


def compression(key: tuple, fit: bool = False) -> dict[str, compress.Reconstruction]:
    """The three methods' reconstructions of a fitted compression; with ``fit``, fitted first
    when it is not yet (a progress bar tells how the training goes)."""
    if fit and not has_compression(key):
        bar = st.progress(0.0, text="Training the autoencoder…")
        try:
            fit_compression(key, lambda fraction, text: bar.progress(min(fraction, 1.0), text=plain(text)))
        finally:
            bar.empty()
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
