"""NASA EMIT L1B radiance and L2A reflectance (netCDF4).

Layout (EMIT Data Product User Guide; HyperCoast ``emit.py``; the EnMAP-Box EMIT importer):
the root variable ``reflectance`` (L2A) or ``radiance`` (L1B), ``(downtrack, crosstrack,
bands)`` float32 with ``_FillValue`` -9999; group ``sensor_band_parameters`` with
``wavelengths``, ``fwhm`` (nm) and ``good_wavelengths`` (1 good, 0 bad); group ``location``
with ``lat``/``lon`` of the swath and the geometry lookup table ``glt_x``/``glt_y`` (1-based
swath column/row of each orthorectified pixel, 0 where none); root attributes
``geotransform`` (GDAL order, of the orthorectified grid) and ``spatial_ref`` (WKT).

Opened orthorectified through the GLT by default, as HyperCoast and the EnMAP-Box do; the
swath geometry is the choice ``"<variable>:swath"``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.geo import Georef
from cubescope.io.cf import cf_georef
from cubescope.io.hdf5 import checked_dataset
from cubescope.io.limits import Limits
from cubescope.io.listing import ArrayInfo
from cubescope.io.products.common import (
    attr,
    auxiliary,
    check_size,
    copy_bands,
    number,
    placed,
    quantity_from_units,
    scratch,
    values,
)

NAME = "EMIT"
_VARIABLES = ("reflectance", "radiance")
_SWATH = ":swath"


def matches(handle) -> bool:
    # A crop or orthorectified subset may have lost its location group (its root geotransform
    # and spatial_ref place it): the band parameters and the variable make it EMIT.
    return "sensor_band_parameters/wavelengths" in handle and any(v in handle for v in _VARIABLES)


def _variable(handle) -> str:
    return next(v for v in _VARIABLES if v in handle)


def arrays(handle) -> list[ArrayInfo]:
    variable = _variable(handle)
    data = handle[variable]
    infos = []
    if "location/glt_x" in handle:
        oy, ox = handle["location/glt_x"].shape
        infos.append(ArrayInfo(variable, (oy, ox, data.shape[2]), str(data.dtype)))
    infos.append(ArrayInfo(variable + _SWATH, tuple(data.shape), str(data.dtype), alternative=bool(infos)))
    return infos


def load(path: Path, handle, limits: Limits, choice: str | None, name: str) -> Cube:
    variable = _variable(handle)
    swath = bool(choice and choice.endswith(_SWATH)) or "location/glt_x" not in handle
    data = checked_dataset(handle, variable, path.name)
    if data.ndim != 3:
        raise CubeError(f"EMIT '{variable}' has shape {data.shape}; the product stores (downtrack, crosstrack, bands).")
    down, cross, bands = data.shape
    wavelengths = values(handle, "sensor_band_parameters/wavelengths", path.name).ravel()
    if wavelengths.size != bands:
        raise CubeError(f"EMIT lists {wavelengths.size} wavelengths for {bands} bands.")
    fwhm = values(handle, "sensor_band_parameters/fwhm", path.name).ravel() \
        if "sensor_band_parameters/fwhm" in handle else None
    good = values(handle, "sensor_band_parameters/good_wavelengths", path.name).ravel() \
        if "sensor_band_parameters/good_wavelengths" in handle else None
    fill = number(data, "_FillValue", -9999.0)
    quantity = "reflectance" if variable == "reflectance" else quantity_from_units("radiance", attr(data, "units"))
    metadata = {"product": "EMIT " + ("L2A reflectance" if variable == "reflectance" else "L1B radiance"),
                "format": "netCDF4", "variable": variable}
    for key in ("time_coverage_start", "granule_id", "product_version", "platform"):
        if key in handle.attrs:
            metadata[key] = str(attr(handle, key))
    if swath:
        check_size(down, cross, bands, 4, limits, path.stat().st_size, f"EMIT '{variable}'")
        out = scratch((bands, down, cross), np.float32)
        copy_bands(data, 2, range(bands), out)
        if "location/lon" in handle and "location/lat" in handle:
            lonlat = np.stack([values(handle, "location/lon", path.name), values(handle, "location/lat", path.name)])
            geo = placed(lambda: Georef(down, cross, lonlat=lonlat), metadata)
            metadata["geometry"] = "swath (as acquired)"
        else:
            geo, unplaced = cf_georef(handle, variable, band_axis=2)
            if unplaced:
                metadata["georeferencing"] = f"none: {unplaced}"
            metadata["geometry"] = "a crop placed by its root geotransform" if geo else "no location in the file"
    else:
        declared = handle["location/glt_x"].shape, handle["location/glt_y"].shape
        if declared[0] != declared[1] or len(declared[0]) != 2:
            raise CubeError("EMIT's glt_x and glt_y differ in shape; the GLT is damaged.")
        rows, cols = declared[0]
        check_size(rows, cols, bands, 4, limits, path.stat().st_size, f"EMIT '{variable}' orthorectified")
        glt_x = np.asarray(auxiliary(handle, "location/glt_x", path.name)[()], dtype=np.int64)
        glt_y = np.asarray(auxiliary(handle, "location/glt_y", path.name)[()], dtype=np.int64)
        valid = (glt_x > 0) & (glt_y > 0)
        if np.any(glt_x[valid] > cross) or np.any(glt_y[valid] > down):
            raise CubeError("EMIT's GLT points outside the swath; the file is damaged.")
        src_r, src_c = glt_y[valid] - 1, glt_x[valid] - 1
        out = scratch((bands, rows, cols), np.float32)
        step = max(1, (64 * 2**20) // max(down * cross * 4, 1))
        for start in range(0, bands, step):
            stop = min(bands, start + step)
            block = np.asarray(data[:, :, start:stop])
            for k in range(stop - start):
                image = np.full((rows, cols), np.nan, dtype=np.float32)
                image[valid] = block[src_r, src_c, k]
                out[start + k] = image
        geo = placed(lambda: Georef(rows, cols, crs=str(attr(handle, "spatial_ref") or "EPSG:4326"),
                                    geotransform=np.asarray(attr(handle, "geotransform"), dtype=float).ravel()),
                     metadata)
        metadata["geometry"] = "orthorectified through the product's GLT (no swath pixel: NaN)"
    return Cube(
        out, name=name, wavelengths=wavelengths, wavelength_units="nm", fwhm=fwhm,
        bad_bands=None if good is None else good == 0, nodata=fill, quantity=quantity, metadata=metadata, geo=geo,
    )
