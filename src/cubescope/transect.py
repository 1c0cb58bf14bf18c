"""Transects: the pixels a straight line crosses, their spectra, and how far along the line each
lies (metres on the ground for a georeferenced cube).

Samples are whole pixels, never interpolated across pixels: a line from one pixel's centre to
another's visits every pixel its segment passes through, in order, each once.

>>> line_pixels((0, 0), (2, 5)).tolist()
[[0, 0], [0, 1], [1, 1], [1, 2], [1, 3], [1, 4], [2, 4], [2, 5]]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.words import spreadsheet_safe

#: Most pixels a transect may visit (a line across a 16000-pixel image).
MAX_PIXELS = 32_768


def line_pixels(start: Sequence[int], end: Sequence[int]) -> np.ndarray:
    """The pixels the segment between two pixels' centres passes through, in order.

    A grid traversal (Amanatides and Woo): each step crosses the nearer of the next row and
    the next column boundary; through a corner exactly, both at once (the pixels that only
    touch the line at that corner are not visited).

    Parameters
    ----------
    start, end : (row, col)
        The end pixels.

    Returns
    -------
    ndarray of int, shape (n, 2)
        ``(row, col)`` of each pixel, ``start`` first and ``end`` last.
    """
    r, c = int(start[0]), int(start[1])
    r1, c1 = int(end[0]), int(end[1])
    dr, dc = r1 - r, c1 - c
    step_r, step_c = int(np.sign(dr)), int(np.sign(dc))
    # Line parameter t runs 0..1 from centre to centre; boundaries lie half a pixel away.
    next_r = 0.5 / abs(dr) if dr else np.inf
    next_c = 0.5 / abs(dc) if dc else np.inf
    delta_r = 1 / abs(dr) if dr else np.inf
    delta_c = 1 / abs(dc) if dc else np.inf
    visited = [(r, c)]
    for _ in range(abs(dr) + abs(dc)):
        if (r, c) == (r1, c1):
            break
        if np.isclose(next_r, next_c):
            r, c, next_r, next_c = r + step_r, c + step_c, next_r + delta_r, next_c + delta_c
        elif next_r < next_c:
            r, next_r = r + step_r, next_r + delta_r
        else:
            c, next_c = c + step_c, next_c + delta_c
        visited.append((r, c))
    return np.array(visited, dtype=int)


@dataclass(frozen=True)
class Transect:
    """The spectra along a line.

    Attributes
    ----------
    pixels : ndarray of int, shape (n, 2)
        ``(row, col)`` of each pixel crossed, from the line's start.
    distance : ndarray of float, shape (n,)
        How far each pixel's centre lies from the start pixel's, in ``unit``.
    unit : str
        "m" (geodesic, on the WGS84 ellipsoid) for a georeferenced cube, else "pixels".
    spectra : ndarray of float, shape (n, bands)
        Each pixel's spectrum (no-data as NaN, the file's scaling applied).
    """

    pixels: np.ndarray
    distance: np.ndarray
    unit: str
    spectra: np.ndarray

    def profile(self, band: int) -> np.ndarray:
        """The values of band ``band`` along the line, shape ``(n,)``."""
        return self.spectra[:, band]


def transect(cube: Cube, start: Sequence[int], end: Sequence[int]) -> Transect:
    """The pixels of ``cube`` a line from pixel ``start`` to pixel ``end`` crosses, and their
    spectra and distances along the line.

    Raises
    ------
    CubeError
        If an end lies outside the image or the line would visit more than
        :data:`MAX_PIXELS` pixels.
    """
    for name, (row, col) in (("start", start), ("end", end)):
        if not (0 <= int(row) < cube.rows and 0 <= int(col) < cube.cols):
            raise CubeError(f"The transect's {name} ({row}, {col}) lies outside the {cube.rows} x {cube.cols} image.")
    if abs(int(end[0]) - int(start[0])) + abs(int(end[1]) - int(start[1])) + 1 > MAX_PIXELS:
        raise CubeError(f"A transect visits at most {MAX_PIXELS} pixels; draw a shorter line.")
    pixels = line_pixels(start, end)
    rows, cols = pixels[:, 0], pixels[:, 1]
    spectra = cube.plane(cube.bsq[:, rows, cols]).T
    distance, unit = _distances(cube, rows, cols)
    return Transect(pixels=pixels, distance=distance, unit=unit, spectra=np.ascontiguousarray(spectra))


def _distances(cube: Cube, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, str]:
    if cube.geo is None:
        return np.hypot(rows - rows[0], cols - cols[0]).astype(float), "pixels"
    from pyproj import Geod

    lon, lat = cube.lonlat(rows, cols)
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
        # A swath's pixel without a location (a fill at its edge): no distance on the ground can
        # be measured through it, so the line is measured in pixels, as without georeferencing.
        return np.hypot(rows - rows[0], cols - cols[0]).astype(float), "pixels"
    _, _, metres = Geod(ellps="WGS84").inv(np.full_like(lon, lon[0]), np.full_like(lat, lat[0]), lon, lat)
    return np.abs(metres), "m"


def transect_csv(line: Transect, cube: Cube) -> bytes:
    """CSV of a transect, one row per pixel: row, column, distance (with its unit), longitude
    and latitude (for a georeferenced cube), then one column per band named by its wavelength;
    NaN as an empty field."""
    header = ["row", "col", f"distance ({line.unit})"]
    located = cube.geo is not None
    if located:
        header += ["longitude", "latitude"]
        lon, lat = cube.lonlat(line.pixels[:, 0], line.pixels[:, 1])
    if cube.wavelengths is None:
        header += [f"band {b}" for b in range(cube.n_bands)]
    else:
        unit = f" {cube.wavelength_units}" if cube.wavelength_units else ""
        header += [f"{float(w):g}{unit}" for w in cube.wavelengths]

    def number(value: float) -> str:
        return repr(float(value)) if np.isfinite(value) else ""

    lines = [",".join(spreadsheet_safe(h) for h in header)]
    for i, (row, col) in enumerate(line.pixels.tolist()):
        cells = [str(row), str(col), number(line.distance[i])]
        if located:
            cells += [number(np.atleast_1d(lon)[i]), number(np.atleast_1d(lat)[i])]
        cells += [number(v) for v in line.spectra[i]]
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()
