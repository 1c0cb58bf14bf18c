"""Planet Tanager basic radiance and surface reflectance (HDF5, HDF-EOS swath).

Layout (Planet's Tanager product specification; HyperCoast ``tanager.py``):
``HDFEOS/SWATHS/HYP/Data Fields/toa_radiance`` or ``surface_reflectance``, ``(bands, y, x)``
float32 with ``_FillValue``; the band centres, widths and flags in the cube's attributes
``wavelengths``, ``fwhm``, ``good_wavelengths`` (or datasets of those names beside it);
``Data Fields/nodata_pixels`` marks pixels without data; ``HDFEOS/SWATHS/HYP/Geolocation
Fields/Latitude`` and ``Longitude`` per pixel.
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
    auxiliary,
    check_size,
    copy_bands,
    number,
    placed,
    quantity_from_units,
    scratch,
    values,
)

NAME = "Tanager"
_ROOTS = ("HDFEOS/SWATHS/HYP", "HDFEOS/GRIDS/HYP")
_CUBES = ("surface_reflectance", "toa_radiance", "ortho_surface_reflectance", "ortho_radiance")


def _candidates(handle) -> list[str]:
    names = (f"{root}/Data Fields/{name}" for root in _ROOTS for name in _CUBES)
    return [name for name in names if name in handle]


def matches(handle) -> bool:
    return bool(_candidates(handle))


def arrays(handle) -> list[ArrayInfo]:
    found = _candidates(handle)
    return [ArrayInfo(n, (handle[n].shape[1], handle[n].shape[2], handle[n].shape[0]), str(handle[n].dtype))
            for n in found]


def _per_band(handle, data, fields: str, key: str, bands: int, file_name: str) -> np.ndarray | None:
    value = attr(data, key)
    if value is None and f"{fields}/{key}" in handle:
        value = values(handle, f"{fields}/{key}", file_name)
    if value is None:
        return None
    array = np.asarray(value, dtype=float).ravel()
    return array if array.size == bands else None


def load(path: Path, handle, limits: Limits, choice: str | None, name: str) -> Cube:
    found = _candidates(handle)
    variable = choice if choice in found else found[0]
    data = checked_dataset(handle, variable, path.name)
    if data.ndim != 3:
        raise CubeError(f"Tanager '{variable}' has shape {data.shape}; the product stores (bands, y, x).")
    bands, rows, cols = data.shape
    check_size(rows, cols, bands, 4, limits, path.stat().st_size, f"Tanager '{variable}'")
    root = variable.split("/Data Fields/")[0]
    fields = f"{root}/Data Fields"
    wavelengths = _per_band(handle, data, fields, "wavelengths", bands, path.name)
    fwhm = _per_band(handle, data, fields, "fwhm", bands, path.name)
    good = _per_band(handle, data, fields, "good_wavelengths", bands, path.name)
    if wavelengths is None:
        raise CubeError(f"Tanager '{variable}' carries no wavelengths for its {bands} bands.")
    if np.nanmax(wavelengths) < 10:  # Planet's STAC gives µm; the files give nm
        wavelengths = wavelengths * 1000.0
        fwhm = None if fwhm is None else fwhm * 1000.0
    keep = np.flatnonzero(np.isfinite(wavelengths) & (wavelengths > 0))
    order = keep[np.argsort(wavelengths[keep], kind="stable")]
    out = scratch((len(order), rows, cols), np.float32)
    copy_bands(data, 0, order, out)
    fill = number(data, "_FillValue")
    if fill is not None:
        out[out == np.float32(fill)] = np.nan
    if f"{fields}/nodata_pixels" in handle:
        mask = np.asarray(auxiliary(handle, f"{fields}/nodata_pixels", path.name)[()]).astype(bool)
        if mask.shape == (rows, cols):
            for k in range(out.shape[0]):
                out[k][mask] = np.nan
    geo = None
    geofields = f"{root}/Geolocation Fields"
    leaf = variable.rsplit("/", 1)[-1]
    metadata = {"product": f"Tanager {leaf}", "format": "HDF5 (HDF-EOS)", "variable": variable}
    if f"{geofields}/Latitude" in handle and f"{geofields}/Longitude" in handle:
        lonlat = np.stack([values(handle, f"{geofields}/Longitude", path.name),
                           values(handle, f"{geofields}/Latitude", path.name)])
        geo = placed(lambda: Georef(rows, cols, lonlat=lonlat), metadata)
    kind = "reflectance" if "reflectance" in leaf else "radiance"
    units = attr(data, "units")
    return Cube(
        out, name=name, wavelengths=wavelengths[order], wavelength_units="nm",
        fwhm=None if fwhm is None else fwhm[order], bad_bands=None if good is None else good[order] == 0,
        quantity=kind if kind == "reflectance" else quantity_from_units(kind, units), metadata=metadata, geo=geo,
    )
