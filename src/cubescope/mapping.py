"""Placing a georeferenced cube on a web map (Web Mercator, EPSG:3857).

Basemaps in the browser are Web Mercator tiles; a cube's grid (UTM, geographic) or swath is
not. :func:`mercator_grid` samples the cube on a regular Web Mercator grid covering it, once
per cube: every output pixel knows which cube pixel it shows (nearest, through the cube's own
inverse georeferencing), so band images, composites and products are warped by indexing, and
the pixel under a map click is found exactly by :meth:`cubescope.geo.Georef.pixel_at`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cubescope.errors import CubeError
from cubescope.geo import Georef

#: The WGS84 ellipsoid's semi-major axis, the sphere radius of Web Mercator (m).
EARTH_RADIUS = 6378137.0
#: Web Mercator stops here (degrees of latitude): the square world of the tile pyramid.
MAX_LATITUDE = 85.0511287798066


def to_mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator x, y (metres) of lon/lat (degrees)."""
    lat = np.clip(np.asarray(lat, dtype=np.float64), -MAX_LATITUDE, MAX_LATITUDE)
    x = EARTH_RADIUS * np.radians(np.asarray(lon, dtype=np.float64))
    y = EARTH_RADIUS * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
    return x, y


def from_mercator(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lon/lat (degrees) of Web Mercator x, y (metres)."""
    lon = np.degrees(np.asarray(x, dtype=np.float64) / EARTH_RADIUS)
    lat = np.degrees(2 * np.arctan(np.exp(np.asarray(y, dtype=np.float64) / EARTH_RADIUS)) - np.pi / 2)
    return lon, lat


@dataclass(frozen=True)
class MercatorGrid:
    """A regular Web Mercator grid covering a cube, and the cube pixel each cell shows.

    Attributes
    ----------
    bounds : tuple of float
        ``(west, south, east, north)`` of the grid's outer edges, Web Mercator metres.
    rows, cols : ndarray of int, shape (h, w)
        The cube pixel at each cell centre (top row first); -1 where the cell lies outside
        the cube.
    origin : tuple of float
        ``(lon, lat)`` in degrees that ``centres`` are counted from.
    centres : ndarray of float32, shape (2, h, w)
        Longitude and latitude of the centre of the pixel each cell shows, in degrees from
        ``origin`` (float32 offsets keep about 1e-6 degrees, a tenth of a metre, at half the
        cost of float64); NaN outside the cube. What a readout names when it names a pixel.
    """

    bounds: tuple[float, float, float, float]
    rows: np.ndarray
    cols: np.ndarray
    origin: tuple[float, float] = (0.0, 0.0)
    centres: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows.shape

    @property
    def inside(self) -> np.ndarray:
        return self.rows >= 0

    def warp(self, image: np.ndarray, step: int = 1) -> np.ndarray:
        """The values of ``image`` (the cube's ``(rows, cols[, channels])`` sampled every
        ``step``-th pixel) on the grid; NaN outside the cube."""
        image = np.asarray(image)
        shape = self.rows.shape + image.shape[2:]
        out = np.full(shape, np.nan, dtype=np.float32)
        inside = self.inside
        r = np.minimum(self.rows[inside] // step, image.shape[0] - 1)
        c = np.minimum(self.cols[inside] // step, image.shape[1] - 1)
        out[inside] = image[r, c]
        return out


def mercator_grid(geo: Georef, max_side: int = 1024) -> MercatorGrid:
    """The Web Mercator grid over ``geo``'s image, at about the image's own resolution and at
    most ``max_side`` cells on its longer side.

    Raises
    ------
    CubeError
        If the image lies beyond Web Mercator's latitudes (a polar scene).
    """
    west, south, east, north = geo.bounds()
    if south > MAX_LATITUDE or north < -MAX_LATITUDE:
        raise CubeError("This scene lies beyond the latitudes a web map can show (±85°).")
    if east - west > 180:  # across the antimeridian: the bounds wrapped
        raise CubeError("This scene crosses the antimeridian (±180°), which the map cannot show in one piece yet.")
    x0, y0 = to_mercator(west, south)
    x1, y1 = to_mercator(east, north)
    width, height = float(x1 - x0), float(y1 - y0)
    if not (width > 0 and height > 0):
        raise CubeError("The scene's georeferencing covers no area.")
    # About one cell per image pixel along the image's longer side, within max_side.
    longest = max(geo.rows, geo.cols)
    cells = max(2, min(max_side, int(longest * 1.2)))
    size = max(width, height) / cells
    w, h = max(1, math.ceil(width / size)), max(1, math.ceil(height / size))
    xs = x0 + (np.arange(w) + 0.5) * size
    ys = y0 + h * size - (np.arange(h) + 0.5) * size  # top row first
    lon, lat = from_mercator(*np.meshgrid(xs, ys))
    rows, cols = geo.pixel_at(lon.ravel(), lat.ravel())
    rows, cols = rows.reshape(h, w), cols.reshape(h, w)
    origin = (float((west + east) / 2), float((south + north) / 2))
    centres = np.full((2, h, w), np.nan, dtype=np.float32)
    inside = rows >= 0
    if inside.any():
        lon_c, lat_c = geo.lonlat(rows[inside], cols[inside])
        centres[0][inside] = np.asarray(lon_c, dtype=np.float64) - origin[0]
        centres[1][inside] = np.asarray(lat_c, dtype=np.float64) - origin[1]
    return MercatorGrid((float(x0), float(y0), float(x0 + w * size), float(y0 + h * size)), rows, cols,
                        origin, centres)
