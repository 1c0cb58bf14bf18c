"""From image values to screen colours: statistics, stretch, colormap, and the tiles the
viewer is sent.

A stretch is computed once per whole image (:class:`ImageStats`), so the colours do not change
with the zoom; a :class:`Tile` holds only the window shown, at the resolution it is shown, as
palette indices (one byte a sample) or RGBA, beside the real values it reads out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cubescope.errors import CubeError
from cubescope.viewport import Window, crop

#: Colormap names offered in pages (plotly colorscale names).
COLORMAPS = ("gray", "viridis", "cividis", "inferno", "magma", "turbo", "RdBu_r", "Spectral_r")
STRETCHES = ("percentile", "min-max", "range")

# Percentiles of a regular subsample of this many pixels match the full image's to well
# within one display level, at a fraction of the cost.
_PERCENTILE_SAMPLE = 1 << 18


@dataclass(frozen=True)
class ImageStats:
    """What any stretch of an image needs: its finite extremes and a regular subsample of its
    finite values (all of them for images up to 2**18 pixels). Kept per image, so that another
    stretch or another percentile costs no pass over the image."""

    minimum: float
    maximum: float
    sample: np.ndarray


def image_stats(image: np.ndarray) -> ImageStats:
    """The :class:`ImageStats` of an image of any shape (NaN and infinities ignored)."""
    flat = np.asarray(image).ravel()
    if flat.size == 0:
        return ImageStats(math.nan, math.nan, np.empty(0, flat.dtype))
    step = max(1, flat.size // _PERCENTILE_SAMPLE)
    sample = flat[::step]
    if flat.dtype.kind != "f":
        return ImageStats(float(flat.min()), float(flat.max()), np.array(sample))
    # fmin/fmax skip NaN without a copy of the image; only infinities need the slow path.
    low, high = float(np.fmin.reduce(flat)), float(np.fmax.reduce(flat))
    if not (math.isfinite(low) and math.isfinite(high)):
        finite = flat[np.isfinite(flat)]
        if finite.size == 0:
            return ImageStats(math.nan, math.nan, np.empty(0, flat.dtype))
        low, high = float(finite.min()), float(finite.max())
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:  # every sampled value is NaN, but not every value
        sample = flat[np.isfinite(flat)]
    return ImageStats(low, high, np.array(sample))


def stretch_limits(
    image: np.ndarray | ImageStats,
    method: str = "percentile",
    low: float = 2.0,
    high: float = 98.0,
    vmin: float | None = None,
    vmax: float | None = None,
) -> tuple[float, float]:
    """The values mapped to the dark and bright ends of the display.

    Parameters
    ----------
    image : ndarray or ImageStats
        Any shape; NaN and infinities are ignored. Its :func:`image_stats` serve as well.
    method : {"percentile", "min-max", "range"}
        ``percentile``: the ``low`` and ``high`` percentiles (0-100, of a regular subsample of
        at most 2**18 values); ``min-max``: the finite extremes; ``range``: ``vmin`` and
        ``vmax`` as given.

    Returns
    -------
    (lo, hi) : tuple of float
        ``lo <= hi``; equal for a constant image. ``(nan, nan)`` when nothing is finite.
    """
    if method == "range":
        if vmin is None or vmax is None or not (np.isfinite(vmin) and np.isfinite(vmax)):
            raise CubeError("A user range needs finite low and high values.")
        if vmin > vmax:
            raise CubeError(f"The range's low value ({vmin:g}) is above its high value ({vmax:g}).")
        return float(vmin), float(vmax)
    if method not in ("min-max", "percentile"):
        raise CubeError(f"Unknown stretch '{method}'; use one of {', '.join(STRETCHES)}.")
    if method == "percentile" and not 0 <= low < high <= 100:
        raise CubeError(f"Percentiles must satisfy 0 <= low < high <= 100 (got {low:g}, {high:g}).")
    stats = image if isinstance(image, ImageStats) else image_stats(image)
    if stats.sample.size == 0:
        return math.nan, math.nan
    if method == "min-max":
        return stats.minimum, stats.maximum
    lo, hi = np.percentile(stats.sample, [low, high])
    return float(lo), float(hi)


def normalize(image: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Map ``[lo, hi]`` linearly to ``[0, 1]`` as float32, clipping outside; NaN stays NaN.

    A constant image (``lo == hi``) maps to 0.5 where it equals ``lo`` (no division by zero),
    0 below and 1 above. Infinities clip to 0 or 1 like any out-of-range value.
    """
    values = np.asarray(image, dtype=np.float32)
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return np.full(values.shape, np.nan, dtype=np.float32)
    if hi > lo:
        out = (values - np.float32(lo)) * np.float32(1.0 / (hi - lo))
    else:
        out = np.where(values > lo, 1.0, np.where(values < lo, 0.0, 0.5)).astype(np.float32)
        out[np.isnan(values)] = np.nan
    np.clip(out, 0.0, 1.0, out=out)
    return out


@lru_cache(maxsize=32)
def colormap_lut(name: str) -> np.ndarray:
    """A ``(256, 3)`` uint8 lookup table for a plotly colorscale name (``"gray"`` built in)."""
    if name in ("gray", "grey", "greys_r"):
        ramp = np.arange(256, dtype=np.uint8)
        return np.stack([ramp, ramp, ramp], axis=1)
    import plotly.colors

    try:
        scale = plotly.colors.get_colorscale(name)
    except Exception as exc:
        raise CubeError(f"Unknown colormap '{name}'; use one of {', '.join(COLORMAPS)}.") from exc
    stops = np.array([s for s, _ in scale], dtype=float)
    colours = np.array(
        [plotly.colors.unlabel_rgb(plotly.colors.convert_colors_to_same_type(c, "rgb")[0][0])
         for _, c in scale],
        dtype=float,
    )
    x = np.linspace(0.0, 1.0, 256)
    lut = np.stack([np.interp(x, stops, colours[:, k]) for k in range(3)], axis=1)
    return np.round(lut).astype(np.uint8)


def apply_colormap(unit: np.ndarray, name: str = "gray") -> np.ndarray:
    """Colour a ``[0, 1]`` image: ``(rows, cols, 4)`` uint8 RGBA, NaN fully transparent."""
    lut = colormap_lut(name)
    nan = np.isnan(unit)
    index = np.nan_to_num(unit * 255.0 + 0.5, nan=0.0).astype(np.uint8)
    rgba = np.empty((*unit.shape, 4), dtype=np.uint8)
    rgba[..., :3] = lut[index]
    rgba[..., 3] = np.where(nan, 0, 255)
    return rgba


def rgb_composite(
    channels: tuple[np.ndarray, np.ndarray, np.ndarray],
    limits: tuple[tuple[float, float], ...],
) -> np.ndarray:
    """Three band images stretched one by one into an RGBA uint8 image.

    A pixel is transparent where any of its three values is NaN.
    """
    units = [normalize(c, lo, hi) for c, (lo, hi) in zip(channels, limits, strict=True)]
    stack = np.stack(units, axis=-1)
    nan = np.isnan(stack).any(axis=-1)
    rgba = np.empty((*stack.shape[:2], 4), dtype=np.uint8)
    rgba[..., :3] = np.nan_to_num(stack * 255.0 + 0.5, nan=0.0).astype(np.uint8)
    rgba[..., 3] = np.where(nan, 0, 255)
    return rgba


#: Palette layout of band tiles: data levels, then marker colours, then no data.
DATA_LEVELS = 240
#: Colour-blind-friendly (Okabe-Ito) colours for pins and their spectra, then two for regions.
MARKER_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
                  "#F0E442", "#FF00FF", "#FFFFFF")
NAN_INDEX = 255


@lru_cache(maxsize=32)
def palette(name: str) -> bytes:
    """The 256 RGB entries (768 bytes) of a displayed band image's palette: :data:`DATA_LEVELS`
    colormap levels, the marker colours, then padding (the last index, :data:`NAN_INDEX`, is no data)."""
    lut = colormap_lut(name)
    levels = lut[np.round(np.linspace(0, 255, DATA_LEVELS)).astype(int)]
    markers = np.array([[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in MARKER_COLOURS], np.uint8)
    pad = np.zeros((256 - DATA_LEVELS - len(markers), 3), np.uint8)
    return np.concatenate([levels, markers, pad]).tobytes()


def to_indices(unit: np.ndarray) -> np.ndarray:
    """A ``[0, 1]`` image as uint8 palette indices ``0..DATA_LEVELS-1``; NaN -> ``NAN_INDEX``."""
    scaled = unit * np.float32(DATA_LEVELS - 1) + np.float32(0.5)
    return np.nan_to_num(scaled, nan=float(NAN_INDEX)).astype(np.uint8)


@dataclass(frozen=True)
class Tile:
    """What the viewer is sent for one image: the shown samples of a window and their colours.

    Attributes
    ----------
    values : ndarray
        ``(h, w)`` or ``(h, w, channels)`` float32: the samples' real values (NaN for no data),
        read out under the pointer (three channels for RGB; class and angle for a class map).
    pixels : ndarray
        ``(h, w)`` uint8 palette indices (:func:`to_indices`) or ``(h, w, 4)`` RGBA.
    window : Window
        The full-resolution pixels the tile covers.
    step : int
        Every ``step``-th row and column of the window is sent.
    limits : tuple
        The stretch: ``(lo, hi)``, or one ``(lo, hi)`` per channel of an RGB tile.
    """

    values: np.ndarray
    pixels: np.ndarray
    window: Window
    step: int
    limits: tuple


def image_tile(values: np.ndarray, window: Window, step: int, lo: float, hi: float) -> Tile:
    """The tile of one image: ``values`` are the window's samples already taken at ``step``
    (:func:`cubescope.viewport.crop`), ``lo``/``hi`` the stretch of the whole image (so the
    colours do not change with the zoom)."""
    values = np.asarray(values, dtype=np.float32)
    return Tile(values, to_indices(normalize(values, lo, hi)), window, step, (lo, hi))


def render_tile(image: np.ndarray, window: Window, step: int, method: str = "percentile", low: float = 2.0,
                high: float = 98.0, vmin: float | None = None, vmax: float | None = None) -> Tile:
    """The whole display path of one ``(rows, cols)`` image: the stretch from the whole image,
    then the window's samples at ``step``, coloured (what the app caches and sends)."""
    lo, hi = stretch_limits(image, method, low, high, vmin, vmax)
    return image_tile(crop(image, window, step), window, step, lo, hi)


def rgb_tile(channels: tuple[np.ndarray, np.ndarray, np.ndarray], window: Window, step: int,
             limits: tuple[tuple[float, float], ...]) -> Tile:
    """The tile of an RGB composite; each channel has its own ``(lo, hi)`` stretch."""
    values = np.stack([np.asarray(c, dtype=np.float32) for c in channels], axis=-1)
    return Tile(values, rgb_composite(tuple(channels), limits), window, step, tuple(limits))


def class_colours(n: int) -> np.ndarray:
    """``n`` distinct RGB colours for class maps (the marker colours, then evenly spaced hues)."""
    base = [[int(c[i:i + 2], 16) for i in (1, 3, 5)] for c in MARKER_COLOURS]
    colours = list(base[:n])
    for k in range(len(colours), n):
        hue = (k * 0.618033988749895) % 1.0
        rgb = np.clip(np.abs((hue * 6 + np.array([0, 4, 2])) % 6 - 3) - 1, 0, 1)
        colours.append(list((rgb * 200 + 40).astype(int)))
    return np.array(colours, dtype=np.uint8).reshape(-1, 3)


def class_tile(classes: np.ndarray, extra: np.ndarray | None, window: Window, step: int,
               n_classes: int | None = None) -> Tile:
    """A class map's tile: RGBA by class (:func:`class_colours`; -1 transparent), with the class
    number (and ``extra``, e.g. the matching angle) as the values read out."""
    classes = np.asarray(classes)
    colours = class_colours(n_classes or int(classes.max(initial=-1)) + 1)
    rgba = np.zeros((*classes.shape, 4), dtype=np.uint8)
    matched = classes >= 0
    rgba[matched, :3] = colours[classes[matched]]
    rgba[matched, 3] = 255
    planes = [np.where(matched, classes, np.nan)] + ([] if extra is None else [extra])
    return Tile(np.stack(planes, axis=-1).astype(np.float32), rgba, window, step, (0.0, 0.0))
