"""AVIRIS-3 (and AVIRIS-5) orthorectified products in netCDF4 (``AV3*_RFL_ORT.nc``).

Layout (JPL's AVIRIS-3 L2A product description; HyperCoast ``aviris.py``): the variable
``reflectance`` (or ``radiance``), in the root or in a group of that name, with dimensions
``(wavelength, northing, easting)``, float32, ``_FillValue`` -9999; coordinate variables
``wavelength`` (nm), ``easting`` and ``northing`` (pixel centres, metres) and ``fwhm``; the CRS
in the grid-mapping variable its ``grid_mapping`` attribute names (``crs_wkt`` or
``spatial_ref``). AVIRIS-NG products are ENVI files and open through the ENVI reader.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.geo import Georef
from cubescope.io.hdf5 import checked_dataset
from cubescope.io.limits import Limits
from cubescope.io.listing import ArrayInfo
from cubescope.io.products.common import (
    attr,
    check_size,
    copy_bands,
    number,
    placed,
    quantity_from_units,
    scratch,
    values,
)

NAME = "AVIRIS-3"
_VARIABLES = ("reflectance", "radiance")


def _find(handle) -> tuple[str, str] | None:
    """(group prefix, variable) of the spectral cube."""
    for prefix in ("", "reflectance/", "radiance/"):
        for variable in _VARIABLES:
            name = prefix + variable
            if name in handle and getattr(handle[name], "ndim", 0) == 3 and _coordinate(handle, prefix, "easting"):
                return prefix, variable
    return None


def _coordinate(handle, prefix: str, key: str) -> str | None:
    for name in (prefix + key, key):
        if name in handle and getattr(handle[name], "ndim", 0) == 1:
            return name
    return None


def matches(handle) -> bool:
    return _find(handle) is not None and "sensor_band_parameters" not in handle


def arrays(handle) -> list[ArrayInfo]:
    prefix, variable = _find(handle)
    data = handle[prefix + variable]
    return [ArrayInfo(prefix + variable, (data.shape[1], data.shape[2], data.shape[0]), str(data.dtype))]


def load(path: Path, handle, limits: Limits, choice: str | None, name: str) -> Cube:
    prefix, variable = _find(handle)
    data = checked_dataset(handle, prefix + variable, path.name)
    bands, rows, cols = data.shape
    check_size(rows, cols, bands, 4, limits, path.stat().st_size, f"AVIRIS '{variable}'")
    wl_name = _coordinate(handle, prefix, "wavelength")
    if wl_name is None:
        raise CubeError(f"'{path.name}' has no wavelength variable for its {bands} bands.")
    wavelengths = values(handle, wl_name, path.name).ravel()
    fwhm_name = _coordinate(handle, prefix, "fwhm")
    fwhm = values(handle, fwhm_name, path.name).ravel() if fwhm_name else None
    order = np.argsort(wavelengths, kind="stable")
    out = scratch((bands, rows, cols), np.float32)
    copy_bands(data, 0, order, out)
    easting = values(handle, _coordinate(handle, prefix, "easting"), path.name).ravel()
    northing = values(handle, _coordinate(handle, prefix, "northing"), path.name).ravel()
    geo = None
    crs = _crs(handle, data)
    metadata = {"product": f"AVIRIS {variable} (orthorectified)", "format": "netCDF4", "variable": prefix + variable}
    if crs and easting.size == cols and northing.size == rows and cols > 1 and rows > 1:
        dx, dy = (easting[-1] - easting[0]) / (cols - 1), (northing[-1] - northing[0]) / (rows - 1)
        gt = (easting[0] - dx / 2, dx, 0.0, northing[0] - dy / 2, 0.0, dy)
        geo = placed(lambda: Georef(rows, cols, crs=crs, geotransform=gt), metadata)
    kind = "reflectance" if variable == "reflectance" else quantity_from_units("radiance", attr(data, "units"))
    return Cube(
        out, name=name, wavelengths=wavelengths[order], wavelength_units="nm",
        fwhm=None if fwhm is None or fwhm.size != bands else fwhm[order],
        nodata=number(data, "_FillValue", -9999.0), quantity=kind, metadata=metadata, geo=geo,
    )


def _crs(handle, data) -> str | None:
    mapping = attr(data, "grid_mapping")
    candidates = [mapping] if isinstance(mapping, str) else []
    candidates += ["transverse_mercator", "crs", "spatial_ref"]
    for name in candidates:
        if name in handle:
            for key in ("crs_wkt", "spatial_ref"):
                value = attr(handle[name], key)
                if isinstance(value, str) and value.strip():
                    return value
    return None
