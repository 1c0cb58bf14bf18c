"""NASA PACE OCI Level-2 apparent optical properties (netCDF4, ``PACE_OCI.*.L2.OC_AOP.*.nc``).

Layout (OB.DAAC Level-2 format; HyperCoast ``pace.py``): ``geophysical_data/Rrs``
``(number_of_lines, pixels_per_line, wavelength_3d)``, int16 with CF ``scale_factor``,
``add_offset`` and ``_FillValue`` (or float32 in some versions), units ``sr^-1``;
``sensor_band_parameters/wavelength_3d`` (nm); ``navigation_data/latitude`` and
``longitude`` per pixel (a swath, not a map grid).
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

NAME = "PACE OCI"
_WAVELENGTHS = ("sensor_band_parameters/wavelength_3d", "sensor_band_parameters/wavelength")


def matches(handle) -> bool:
    return "geophysical_data" in handle and "navigation_data" in handle and any(w in handle for w in _WAVELENGTHS)


def _cubes(handle) -> list[str]:
    group = handle["geophysical_data"]
    return [f"geophysical_data/{k}" for k, v in group.items() if getattr(v, "ndim", 0) == 3]


def arrays(handle) -> list[ArrayInfo]:
    return [ArrayInfo(n, tuple(handle[n].shape), str(handle[n].dtype)) for n in _cubes(handle)]


def load(path: Path, handle, limits: Limits, choice: str | None, name: str) -> Cube:
    cubes = _cubes(handle)
    if not cubes:
        raise CubeError(f"'{path.name}' is a PACE OCI Level-2 file without a spectral (3D) variable.")
    variable = choice if choice in cubes else ("geophysical_data/Rrs" if "geophysical_data/Rrs" in cubes else cubes[0])
    data = checked_dataset(handle, variable, path.name)
    rows, cols, bands = data.shape
    check_size(rows, cols, bands, data.dtype.itemsize, limits, path.stat().st_size, f"PACE '{variable}'")
    wl_name = next(w for w in _WAVELENGTHS if w in handle)
    wavelengths = values(handle, wl_name, path.name).ravel()
    if wavelengths.size != bands:
        raise CubeError(f"PACE lists {wavelengths.size} wavelengths for the {bands} bands of '{variable}'.")
    out = scratch((bands, rows, cols), data.dtype)
    order = np.argsort(wavelengths, kind="stable")
    copy_bands(data, 2, order, out)
    scale, offset = number(data, "scale_factor"), number(data, "add_offset")
    fill = number(data, "_FillValue")
    lonlat = np.stack([values(handle, "navigation_data/longitude", path.name),
                       values(handle, "navigation_data/latitude", path.name)])
    for coordinate, key in ((0, "navigation_data/longitude"), (1, "navigation_data/latitude")):
        nav_fill = number(handle[key], "_FillValue")
        if nav_fill is not None:
            lonlat[coordinate][lonlat[coordinate] == nav_fill] = np.nan
    leaf = variable.rsplit("/", 1)[-1]
    kind = "remote-sensing reflectance" if leaf.lower() == "rrs" else str(attr(data, "long_name") or leaf)
    metadata = {"product": "PACE OCI L2 " + leaf, "format": "netCDF4", "variable": variable}
    for key in ("time_coverage_start", "product_name", "processing_version", "title"):
        if key in handle.attrs:
            metadata[key] = str(attr(handle, key))
    return Cube(
        out, name=name, wavelengths=wavelengths[order], wavelength_units="nm",
        nodata=fill, gain=scale, offset=offset, quantity=quantity_from_units(kind, attr(data, "units")),
        metadata=metadata, geo=placed(lambda: Georef(rows, cols, lonlat=lonlat), metadata),
    )
