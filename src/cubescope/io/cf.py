"""Where a netCDF/HDF5 variable lies on the Earth, read the way GDAL's netCDF driver reads it.

In the order GDAL looks:

1. root attributes ``geotransform`` (6 numbers, GDAL order) and ``spatial_ref`` (WKT), as EMIT
   writes them and as EMIT crops and orthorectified subsets keep them;
2. a CF ``grid_mapping`` variable named by the data variable, with its CRS in ``crs_wkt`` or
   ``spatial_ref`` and either GDAL's ``GeoTransform`` attribute or 1D ``x``/``y`` coordinate
   variables (pixel centres) on the image's axes (GDAL and rioxarray write both);
3. 1D latitude/longitude coordinate variables on the image's axes (a regular grid in degrees),
   or 2D ones named by the ``coordinates`` attribute (a swath).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cubescope.errors import CubeError
from cubescope.geo import WGS84, Georef

#: Relative spread of the steps between coordinate centres that still makes a regular grid.
REGULAR = 1e-6


def cf_georef(handle: Any, name: str, band_axis: int) -> tuple[Georef | None, str | None]:
    """The georeferencing of the 3D variable ``name`` whose bands lie on ``band_axis``, and, when
    the file describes a place that cannot be used, why.

    Returns
    -------
    (Georef or None, str or None)
    """
    data = handle[name]
    row_axis, col_axis = (i for i in range(3) if i != band_axis)
    rows, cols = int(data.shape[row_axis]), int(data.shape[col_axis])
    try:
        geo = (_root_grid(handle, rows, cols) or _grid_mapping(handle, data, row_axis, col_axis, rows, cols)
               or _lat_lon(handle, data, row_axis, col_axis, rows, cols))
    except CubeError as exc:
        return None, str(exc)
    return geo, None


def _text(value: Any) -> str:
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size == 1 else " ".join(str(v) for v in value.ravel())
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip("\x00 ")


def _numbers(value: Any) -> np.ndarray | None:
    try:
        if isinstance(value, bytes | str | np.bytes_ | np.str_):
            return np.array([float(v) for v in _text(value).replace(",", " ").split()])
        return np.asarray(value, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        return None


def _root_grid(handle: Any, rows: int, cols: int) -> Georef | None:
    if "geotransform" not in handle.attrs or "spatial_ref" not in handle.attrs:
        return None
    gt = _numbers(handle.attrs["geotransform"])
    if gt is None or gt.size != 6:
        raise CubeError("The file's root geotransform is not 6 numbers.")
    return Georef(rows, cols, crs=_text(handle.attrs["spatial_ref"]), geotransform=gt)


def _axis_coordinate(data: Any, axis: int) -> Any:
    """The 1D coordinate variable attached to one axis of ``data`` (a netCDF dimension scale)."""
    try:
        scales = data.dims[axis]
        return scales[0] if len(scales) else None
    except (AttributeError, IndexError, KeyError, TypeError, RuntimeError):
        return None


def centres_grid(y: Any, x: Any, rows: int, cols: int, crs: str) -> Georef | None:
    """A grid from 1D pixel-centre coordinates, when they are regular."""
    if y is None or x is None or rows < 2 or cols < 2:
        return None
    cy, cx = np.asarray(y[()], dtype=np.float64).ravel(), np.asarray(x[()], dtype=np.float64).ravel()
    if cy.size != rows or cx.size != cols:
        return None
    dy, dx = (cy[-1] - cy[0]) / (rows - 1), (cx[-1] - cx[0]) / (cols - 1)
    for centres, step in ((cy, dy), (cx, dx)):
        if step == 0 or np.max(np.abs(np.diff(centres) - step)) > REGULAR * abs(step) * max(1, centres.size):
            return None  # irregular coordinates are no affine grid
    return Georef(rows, cols, crs=crs, geotransform=(cx[0] - dx / 2, dx, 0.0, cy[0] - dy / 2, 0.0, dy))


def _grid_mapping(handle: Any, data: Any, row_axis: int, col_axis: int, rows: int, cols: int) -> Georef | None:
    mapping = data.attrs.get("grid_mapping")
    if mapping is None:
        return None
    mapping = _text(mapping).split(":")[0].strip()
    parent = data.parent
    variable = parent[mapping] if mapping in parent else handle[mapping] if mapping in handle else None
    if variable is None:
        return None
    crs = next((_text(variable.attrs[k]) for k in ("crs_wkt", "spatial_ref") if k in variable.attrs), None)
    if not crs:
        return None
    if "GeoTransform" in variable.attrs:
        gt = _numbers(variable.attrs["GeoTransform"])
        if gt is not None and gt.size == 6:
            return Georef(rows, cols, crs=crs, geotransform=gt)
    return centres_grid(_axis_coordinate(data, row_axis), _axis_coordinate(data, col_axis), rows, cols, crs)


def _lat_lon(handle: Any, data: Any, row_axis: int, col_axis: int, rows: int, cols: int) -> Georef | None:
    y, x = _axis_coordinate(data, row_axis), _axis_coordinate(data, col_axis)
    if y is not None and x is not None:
        names = y.name.rsplit("/", 1)[-1].lower(), x.name.rsplit("/", 1)[-1].lower()
        if names[0].startswith("lat") and names[1].startswith("lon"):
            return centres_grid(y, x, rows, cols, WGS84)
    named = _text(data.attrs.get("coordinates", "")).split()
    lat = next((n for n in named if n.lower().startswith("lat")), None)
    lon = next((n for n in named if n.lower().startswith("lon")), None)
    if lat and lon:
        parent = data.parent
        found = [parent[n] if n in parent else handle[n] if n in handle else None for n in (lon, lat)]
        if all(f is not None and f.shape == (rows, cols) for f in found):
            return Georef(rows, cols, lonlat=np.stack([np.asarray(f[()], dtype=np.float64) for f in found]))
    return None
