"""DLR DESIS Level 1C / 2A (GeoTIFF + ENVI-style header + ``METADATA.xml``).

Layout (DLR's DESIS product specification; the EnMAP-Box importer
``importdesisl2aalgorithm.py``): ``DESIS-HSI-L2A-DT…-SPECTRAL_IMAGE.tif`` (band-interleaved
int16, UTM GeoTIFF) with ``…-SPECTRAL_IMAGE.hdr`` beside it, whose ``wavelength``, ``fwhm``,
``data gain values`` and ``data offset values`` give each band (value = DN x gain + offset:
reflectance as a fraction in L2A), and ``…-METADATA.xml``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io.envi import read_header
from cubescope.io.limits import Limits
from cubescope.io.products.common import ascending, read_geotiff, scratch

NAME = "DESIS"


def header_for(image: Path) -> Path | None:
    """The ENVI-style header DLR delivers beside a DESIS spectral image."""
    for suffix in (".hdr", ".HDR"):
        candidate = image.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def image_for(xml_path: Path) -> Path | None:
    """The spectral image of the product whose metadata is ``xml_path``."""
    stem = xml_path.name.rsplit("-METADATA", 1)[0]
    for path in sorted(xml_path.parent.iterdir()):
        is_image = "SPECTRAL_IMAGE" in path.name.upper() and path.suffix.lower() in (".tif", ".tiff")
        if path.name.startswith(stem) and is_image:
            return path
    return None


def _list(header: dict, key: str, n: int) -> np.ndarray | None:
    value = header.get(key)
    if not isinstance(value, list):
        return None
    try:
        array = np.array([float(v) for v in value])
    except ValueError as exc:
        raise CubeError(f"The DESIS header's '{key}' holds a value that is not a number ({exc}).") from exc
    return array if array.size == n else None


def load(image: Path, header_path: Path, limits: Limits, name: str) -> Cube:
    header = read_header(header_path, limits)
    array, geo, tiff_nodata = read_geotiff(image, limits, "DESIS spectral image")
    n, rows, cols = array.shape
    wavelengths = _list(header, "wavelength", n)
    if wavelengths is None:
        raise CubeError(f"The DESIS header '{header_path.name}' lists no wavelength for each of the {n} bands.")
    order = ascending(wavelengths)
    out = scratch((n, rows, cols), array.dtype)
    for k, source in enumerate(order):
        out[k] = array[source]
    fwhm, gain, offset = (_list(header, k, n) for k in ("fwhm", "data gain values", "data offset values"))
    nodata = tiff_nodata
    if nodata is None and "data ignore value" in header:
        try:
            nodata = float(header["data ignore value"])
        except (TypeError, ValueError):
            nodata = None
    level = "L2A" if "L2A" in image.name.upper() else ("L1C" if "L1C" in image.name.upper() else "")
    return Cube(
        out, name=name, wavelengths=wavelengths[order], wavelength_units="nm",
        fwhm=None if fwhm is None else fwhm[order], gain=None if gain is None else gain[order],
        offset=None if offset is None else offset[order], nodata=nodata,
        quantity="reflectance" if level == "L2A" else "radiance",
        metadata={"product": f"DESIS {level}".strip(), "format": "GeoTIFF + ENVI header",
                  "files": [image.name, header_path.name]},
        geo=geo,
    )
