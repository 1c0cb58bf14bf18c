"""Cubes as xarray DataArrays, the way HyperCoast and most Python users of these products work.

:func:`to_xarray` gives a lazy ``(band, y, x)`` DataArray over the cube's samples (a Dask array
over the memory map: nothing is read until computed), with the file's no-data and scaling
applied on the way, a ``wavelength`` coordinate (and ``fwhm``, ``good_band``), and the CRS in
rioxarray's convention: a scalar ``spatial_ref`` coordinate holding ``crs_wkt``,
``spatial_ref`` and GDAL's ``GeoTransform``, named by the ``grid_mapping`` attribute, with
``x``/``y`` pixel-centre coordinates. :func:`from_xarray` reads such an array back, and arrays
laid out as HyperCoast's readers lay them out (``latitude``, ``longitude``, ``wavelength``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.geo import WGS84, Georef
from cubescope.io.cf import centres_grid

#: Names a band dimension goes by.
BAND_DIMS = ("band", "bands", "wavelength", "wavelengths", "wl")


def to_xarray(cube: Cube, chunks: Any = None) -> Any:
    """The cube as a lazy ``xarray.DataArray`` of dims ``("band", "y", "x")``.

    Parameters
    ----------
    cube : Cube
    chunks : optional
        Dask chunks; by default one band image per chunk (the cube's own layout).

    Returns
    -------
    xarray.DataArray
        Floats (float32, or float64 for 32/64-bit integers and float64) with no-data as NaN and
        the file's gain and offset applied, computed lazily. Coordinates ``band`` (0..n-1),
        ``wavelength`` (with its ``units``), ``fwhm``, ``good_band`` where the cube has them,
        ``y``/``x`` (pixel centres in the CRS for a north-up grid, else pixel indices), 2D
        ``longitude``/``latitude`` for a swath, and ``spatial_ref`` for a grid.
    """
    import dask.array as da
    import xarray as xr

    samples = da.from_array(cube.bsq, chunks=chunks or (1, cube.rows, cube.cols), asarray=False)

    def to_float(block: np.ndarray, block_info: dict | None = None) -> np.ndarray:
        first, last = block_info[0]["array-location"][0]  # the block's bands: their gains and offsets
        return cube._to_float(block, slice(first, last))

    values = samples.map_blocks(to_float, dtype=cube.float_dtype)
    coords: dict[str, Any] = {"band": np.arange(cube.n_bands)}
    if cube.wavelengths is not None:
        coords["wavelength"] = ("band", cube.wavelengths, {"units": cube.wavelength_units or ""})
    if cube.fwhm is not None:
        coords["fwhm"] = ("band", cube.fwhm, {"units": cube.wavelength_units or ""})
    if cube.bad_bands is not None:
        coords["good_band"] = ("band", ~cube.bad_bands)
    attrs: dict[str, Any] = {"name": cube.name, "long_name": cube.quantity or "value"}
    y, x = np.arange(cube.rows, dtype=np.float64), np.arange(cube.cols, dtype=np.float64)
    geo = cube.geo
    if geo is not None and geo.geotransform is not None:
        gt = geo.geotransform
        from pyproj import CRS

        wkt = CRS.from_user_input(geo.crs).to_wkt()
        coords["spatial_ref"] = ((), 0, {"crs_wkt": wkt, "spatial_ref": wkt,
                                         "GeoTransform": " ".join(repr(float(v)) for v in gt)})
        attrs["grid_mapping"] = "spatial_ref"
        if gt[2] == 0 and gt[4] == 0:
            x, y = gt[0] + (x + 0.5) * gt[1], gt[3] + (y + 0.5) * gt[5]
    elif geo is not None:
        coords["longitude"] = (("y", "x"), geo.lonlat_arrays[0])
        coords["latitude"] = (("y", "x"), geo.lonlat_arrays[1])
    coords["y"], coords["x"] = y, x
    return xr.DataArray(values, dims=("band", "y", "x"), coords=coords, attrs=attrs, name=cube.name)


def from_xarray(array: Any, *, name: str | None = None, wavelength_units: str | None = None) -> Cube:
    """A Cube from a 3D ``xarray.DataArray`` (its values are read into memory).

    Parameters
    ----------
    array : xarray.DataArray
        Three dims, one of them the bands: named as in :data:`BAND_DIMS`, or the dim of a
        ``wavelength`` coordinate. The other two are rows then columns, in the array's order.
    name : str, optional
    wavelength_units : str, optional
        When the wavelength coordinate has no ``units`` attribute.

    Returns
    -------
    Cube
        With the wavelengths, ``fwhm`` and ``good_band`` coordinates, and the place from a
        rioxarray/GDAL ``spatial_ref`` coordinate (``GeoTransform``, or regular ``x``/``y``
        centres), from regular 1D ``latitude``/``longitude`` coordinates, or from 2D ones (a swath).
    """
    if getattr(array, "ndim", None) != 3:
        raise CubeError(f"A cube needs a DataArray of 3 dims, not {getattr(array, 'dims', '?')}.")
    band_dim = _band_dim(array)
    rows_dim, cols_dim = (d for d in array.dims if d != band_dim)
    ordered = array.transpose(band_dim, rows_dim, cols_dim)
    samples = np.asarray(ordered.values)
    wavelength = _band_coordinate(ordered, band_dim, ("wavelength", "wavelengths", "wl", band_dim))
    units = wavelength_units
    if wavelength is not None:
        units = units or ordered.coords[wavelength].attrs.get("units") or None
    values = None if wavelength is None else np.asarray(ordered.coords[wavelength].values, dtype=float)
    fwhm_name = _band_coordinate(ordered, band_dim, ("fwhm",))
    good_name = _band_coordinate(ordered, band_dim, ("good_band", "good_wavelengths", "bbl"))
    good = None if good_name is None else np.asarray(ordered.coords[good_name].values).astype(bool)
    rows, cols = samples.shape[1:]
    return Cube(
        samples, name=name or str(array.name or array.attrs.get("name") or "cube"), wavelengths=values,
        wavelength_units=units,
        fwhm=None if fwhm_name is None else np.asarray(ordered.coords[fwhm_name].values, dtype=float),
        bad_bands=None if good is None else ~good,
        quantity=array.attrs.get("long_name") if array.attrs.get("long_name") not in (None, "value") else None,
        geo=_georef(ordered, rows_dim, cols_dim, rows, cols),
    )


def _band_dim(array: Any) -> str:
    for dim in array.dims:
        if str(dim).lower() in BAND_DIMS:
            return dim
    for name in ("wavelength", "wavelengths"):
        if name in array.coords and array.coords[name].ndim == 1:
            return array.coords[name].dims[0]
    raise CubeError(f"Which of the dims {tuple(array.dims)} holds the bands? Name it 'band' or give it a "
                    "'wavelength' coordinate.")


def _band_coordinate(array: Any, band_dim: str, names: tuple[str, ...]) -> str | None:
    for name in names:
        if name in array.coords and array.coords[name].dims == (band_dim,) and \
                np.asarray(array.coords[name].values).dtype.kind in "iufb":
            if name == band_dim and str(band_dim).lower() in ("band", "bands"):
                continue  # band numbers are no wavelengths
            return name
    return None


def _georef(array: Any, rows_dim: str, cols_dim: str, rows: int, cols: int) -> Georef | None:
    coords = array.coords
    crs = None
    if "spatial_ref" in coords:
        attrs = coords["spatial_ref"].attrs
        crs = attrs.get("crs_wkt") or attrs.get("spatial_ref")
        transform = attrs.get("GeoTransform")
        if crs and transform:
            numbers = [float(v) for v in str(transform).split()]
            if len(numbers) == 6:
                return Georef(rows, cols, crs=crs, geotransform=numbers)
    names = {str(rows_dim).lower(), str(cols_dim).lower()}
    if crs is None and names & {"lat", "latitude"} and names & {"lon", "longitude"}:
        crs = WGS84
    if crs and rows_dim in coords and cols_dim in coords:
        grid = centres_grid(coords[rows_dim].values, coords[cols_dim].values, rows, cols, crs)
        if grid is not None:
            return grid
    if "longitude" in coords and "latitude" in coords and coords["longitude"].ndim == 2:
        lon = np.asarray(coords["longitude"].transpose(rows_dim, cols_dim).values, float)
        lat = np.asarray(coords["latitude"].transpose(rows_dim, cols_dim).values, float)
        return Georef(rows, cols, lonlat=np.stack([lon, lat]))
    return None
