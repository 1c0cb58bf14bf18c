"""NEON AOP directional surface reflectance (HDF5, ``NEON_D*_DP1.30006.001_*_reflectance.h5``).

Layout (NEON's AOP Reflectance HDF5 file description; HyperCoast ``neon.py``):
``<SITE>/Reflectance/Reflectance_Data`` int16 ``(y, x, bands)`` with attributes
``Scale_Factor`` (10000), ``Data_Ignore_Value`` (-9999) and the water-vapour windows
``Band_Window_1_Nanometers`` / ``Band_Window_2_Nanometers``;
``<SITE>/Reflectance/Metadata/Spectral_Data/Wavelength`` and ``FWHM`` (nm);
``<SITE>/Reflectance/Metadata/Coordinate_System/Map_Info`` (an ENVI ``map info`` string) and
``EPSG Code``.
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
from cubescope.io.products.common import attr, check_size, copy_bands, number, placed, scratch, text, values

NAME = "NEON AOP"


def _sites(handle) -> list[str]:
    return [site for site in handle if f"{site}/Reflectance/Reflectance_Data" in handle]


def matches(handle) -> bool:
    return bool(_sites(handle))


def arrays(handle) -> list[ArrayInfo]:
    out = []
    for site in _sites(handle):
        data = handle[f"{site}/Reflectance/Reflectance_Data"]
        out.append(ArrayInfo(f"{site}/Reflectance/Reflectance_Data", tuple(data.shape), str(data.dtype)))
    return out


def load(path: Path, handle, limits: Limits, choice: str | None, name: str) -> Cube:
    sites = _sites(handle)
    site = next((s for s in sites if choice and choice.startswith(s + "/")), sites[0])
    base = f"{site}/Reflectance"
    data = checked_dataset(handle, f"{base}/Reflectance_Data", path.name)
    rows, cols, bands = data.shape
    check_size(rows, cols, bands, data.dtype.itemsize, limits, path.stat().st_size, "NEON Reflectance_Data")
    wavelengths = values(handle, f"{base}/Metadata/Spectral_Data/Wavelength", path.name).ravel()
    if wavelengths.size != bands:
        raise CubeError(f"NEON lists {wavelengths.size} wavelengths for {bands} bands.")
    fwhm_name = f"{base}/Metadata/Spectral_Data/FWHM"
    fwhm = values(handle, fwhm_name, path.name).ravel() if fwhm_name in handle else None
    out = scratch((bands, rows, cols), data.dtype)
    copy_bands(data, 2, range(bands), out)
    scale = number(data, "Scale_Factor", 1.0)
    if not scale or not np.isfinite(scale):
        raise CubeError(f"NEON's Scale_Factor is {scale}; reflectance cannot be computed from the stored values.")
    bad = np.zeros(bands, dtype=bool)
    # NEON writes the water-vapour windows on the Reflectance group (NEON's reader and
    # HyperCoast read them there); some files carry them on the dataset too.
    for holder in (handle[base], data):
        for key in ("Band_Window_1_Nanometers", "Band_Window_2_Nanometers"):
            window = attr(holder, key)
            if window is not None and np.size(window) == 2:
                try:
                    low, high = sorted(float(v) for v in np.ravel(window))
                except (TypeError, ValueError):
                    raise CubeError(f"NEON's {key} is {window!r}, not two wavelengths in nm.") from None
                bad |= (wavelengths >= low) & (wavelengths <= high)
    metadata = {"product": "NEON AOP reflectance", "format": "HDF5", "site": site}
    return Cube(
        out, name=name, wavelengths=wavelengths, wavelength_units="nm", fwhm=fwhm,
        bad_bands=bad if bad.any() else None, nodata=number(data, "Data_Ignore_Value"),
        gain=1.0 / scale, quantity="reflectance", metadata=metadata,
        geo=placed(lambda: _georef(handle, base, rows, cols), metadata),
    )


def _georef(handle, base: str, rows: int, cols: int) -> Georef | None:
    system = f"{base}/Metadata/Coordinate_System"
    if f"{system}/Map_Info" not in handle or f"{system}/EPSG Code" not in handle:
        return None
    fields = [f.strip() for f in text(handle[f"{system}/Map_Info"][()]).split(",")]
    code = text(handle[f"{system}/EPSG Code"][()])
    try:
        x_ref, y_ref, easting, northing, x_size, y_size = (float(v) for v in fields[1:7])
        epsg = int(float(code))
    except (ValueError, IndexError):
        return None
    gt = (easting - (x_ref - 1) * x_size, x_size, 0.0, northing + (y_ref - 1) * y_size, 0.0, -y_size)
    return Georef(rows, cols, crs=f"EPSG:{epsg}", geotransform=gt)
