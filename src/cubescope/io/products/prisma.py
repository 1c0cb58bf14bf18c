"""ASI PRISMA Level 1 and Level 2B/2C/2D (HDF5-EOS, ``PRS_L2D_STD_*.he5``).

Layout (ASI's PRISMA Product Specifications; HyperCoast ``prisma.py``; the EnMAP-Box PRISMA
importers): ``HDFEOS/SWATHS/PRS_<level>_HCO/Data Fields/VNIR_Cube`` and ``SWIR_Cube``, uint16
stored ``(rows, bands, cols)``, bands from long to short wavelengths; root attributes
``List_Cw_Vnir`` / ``List_Cw_Swir`` (nm, 0 for a band not delivered), ``List_Fwhm_*`` and
``List_Cw_*_Flags`` (0 for a band flagged unusable).

Values: Level 2 ``L2ScaleVnirMin + DN (L2ScaleVnirMax - L2ScaleVnirMin) / 65535`` (SWIR
alike); Level 1 radiance ``DN / ScaleFactor_Vnir - Offset_Vnir``. Kept as stored integers with
a per-band gain and offset, so nothing is rounded twice.

Place: L2D is map-projected (``Epsg_Code`` with ``Product_ULcorner_easting`` / ``_northing``
and ``Product_LRcorner_*``, read as the centres of the corner pixels as the EnMAP-Box does,
which agrees with the product's own Latitude/Longitude arrays); other levels use the
``Geolocation Fields`` Latitude/Longitude (``Latitude_VNIR`` in Level 1) per pixel.
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
from cubescope.io.products.common import attr, check_size, copy_bands, number, placed, scratch, values

NAME = "PRISMA"
_DN_MAX = 65535.0


def _swath(handle) -> str | None:
    swaths = handle.get("HDFEOS/SWATHS")
    if swaths is None:
        return None
    found = [k for k in swaths if k.startswith("PRS_") and k.endswith("_HCO")]
    return f"HDFEOS/SWATHS/{found[0]}" if found else None


def matches(handle) -> bool:
    swath = _swath(handle)
    return swath is not None and f"{swath}/Data Fields/VNIR_Cube" in handle and "List_Cw_Vnir" in handle.attrs


def arrays(handle) -> list[ArrayInfo]:
    swath = _swath(handle)
    vnir = handle[f"{swath}/Data Fields/VNIR_Cube"]
    bands = int(np.count_nonzero(_list(handle, "List_Cw_Vnir"))) + int(np.count_nonzero(_list(handle, "List_Cw_Swir")))
    return [ArrayInfo("VNIR_Cube + SWIR_Cube", (vnir.shape[0], vnir.shape[2], bands), str(vnir.dtype))]


def _list(handle, key: str) -> np.ndarray:
    value = attr(handle, key)
    return np.zeros(0) if value is None else np.asarray(value, dtype=float).ravel()


def load(path: Path, handle, limits: Limits, choice: str | None, name: str) -> Cube:
    swath = _swath(handle)
    level = swath.rsplit("/", 1)[-1].split("_")[1]  # "L1", "L2B", "L2C", "L2D"
    fields = f"{swath}/Data Fields"
    detectors = []
    for det, key in (("Vnir", "VNIR_Cube"), ("Swir", "SWIR_Cube")):
        if f"{fields}/{key}" not in handle:
            continue
        data = checked_dataset(handle, f"{fields}/{key}", path.name)
        centres = _list(handle, f"List_Cw_{det}")
        if data.ndim != 3 or centres.size != data.shape[1]:
            raise CubeError(f"PRISMA {key} has shape {data.shape} but lists {centres.size} wavelengths.")
        detectors.append((det, data, centres))
    rows, cols = detectors[0][1].shape[0], detectors[0][1].shape[2]
    if any(d.shape[0] != rows or d.shape[2] != cols for _, d, _ in detectors):
        raise CubeError("PRISMA's VNIR and SWIR cubes differ in size.")
    # Every delivered band of both detectors (overlap included), sorted by wavelength.
    entries = []  # (wavelength, fwhm, flag, detector index, band index in the detector)
    for n, (det, _, centres) in enumerate(detectors):
        widths = _list(handle, f"List_Fwhm_{det}")
        flags = _list(handle, f"List_Cw_{det}_Flags")
        for b, centre in enumerate(centres):
            if centre > 0:
                entries.append((centre, widths[b] if widths.size == centres.size else np.nan,
                                flags[b] if flags.size == centres.size else 1, n, b))
    if not entries:
        raise CubeError("PRISMA lists no delivered band (every wavelength is 0).")
    entries.sort(key=lambda e: e[0])
    bands = len(entries)
    check_size(rows, cols, bands, 2, limits, path.stat().st_size, "PRISMA VNIR + SWIR")
    out = scratch((bands, rows, cols), detectors[0][1].dtype)
    gain, offset = np.ones(bands), np.zeros(bands)
    for n, (det, data, _) in enumerate(detectors):
        positions = [k for k, e in enumerate(entries) if e[3] == n]
        bands_here = [entries[k][4] for k in positions]
        staged = scratch((len(positions), rows, cols), data.dtype)
        copy_bands(data, 1, bands_here, staged)
        for i, k in enumerate(positions):
            out[k] = staged[i]
        g, o = _scaling(handle, level, det)
        gain[positions], offset[positions] = g, o
    kind = "radiance" if level in ("L1", "L2B") else "reflectance"
    units = "" if kind == "reflectance" else " (W/(m² sr µm))"
    metadata = {"product": f"PRISMA {level}", "format": "HDF5-EOS", "detectors": "VNIR + SWIR, sorted by wavelength"}
    geo = placed(lambda: _georef(handle, swath, level, rows, cols, path.name), metadata)
    for key in ("Product_ID", "Processing_Level", "Product_StartTime"):
        if key in handle.attrs:
            metadata[key] = str(attr(handle, key))
    flags = np.array([e[2] for e in entries])
    return Cube(
        out, name=name, wavelengths=[e[0] for e in entries], wavelength_units="nm", fwhm=[e[1] for e in entries],
        bad_bands=flags == 0, gain=gain, offset=offset, quantity=kind + units, metadata=metadata, geo=geo,
    )


def _scaling(handle, level: str, det: str) -> tuple[float, float]:
    """(gain, offset) turning a detector's stored DN into its physical value."""
    if level == "L1":
        factor = number(handle, f"ScaleFactor_{det}")
        if not factor:
            raise CubeError(f"PRISMA Level 1 has no ScaleFactor_{det}; its radiance cannot be computed.")
        return 1.0 / factor, -(number(handle, f"Offset_{det}", 0.0) or 0.0)
    low, high = number(handle, f"L2Scale{det}Min"), number(handle, f"L2Scale{det}Max")
    if low is None or high is None:
        raise CubeError(f"PRISMA {level} has no L2Scale{det}Min/Max; its values cannot be computed.")
    return (high - low) / _DN_MAX, low


def _georef(handle, swath: str, level: str, rows: int, cols: int, file_name: str) -> Georef | None:
    if level == "L2D" and "Epsg_Code" in handle.attrs and rows > 1 and cols > 1:
        ul_x, ul_y = number(handle, "Product_ULcorner_easting"), number(handle, "Product_ULcorner_northing")
        lr_x, lr_y = number(handle, "Product_LRcorner_easting"), number(handle, "Product_LRcorner_northing")
        if None not in (ul_x, ul_y, lr_x, lr_y):
            dx, dy = (lr_x - ul_x) / (cols - 1), (lr_y - ul_y) / (rows - 1)
            return Georef(rows, cols, crs=f"EPSG:{int(number(handle, 'Epsg_Code'))}",
                          geotransform=(ul_x - dx / 2, dx, 0.0, ul_y - dy / 2, 0.0, dy))
    where = f"{swath}/Geolocation Fields"
    for lat_name, lon_name in (("Latitude", "Longitude"), ("Latitude_VNIR", "Longitude_VNIR")):
        if f"{where}/{lat_name}" in handle and f"{where}/{lon_name}" in handle:
            lonlat = np.stack([values(handle, f"{where}/{lon_name}", file_name),
                               values(handle, f"{where}/{lat_name}", file_name)])
            if lonlat.shape[1:] == (rows, cols):
                return Georef(rows, cols, lonlat=lonlat)
    return None
