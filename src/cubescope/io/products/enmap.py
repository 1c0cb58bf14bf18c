"""DLR EnMAP Level 1B / 1C / 2A (GeoTIFF + ``METADATA.XML``).

Layout (DLR's EnMAP Level 1B/1C/2A product specification; the EnMAP-Box importers
``importenmapl1b/l1c/l2aalgorithm.py``): ``ENMAP01-____L2A-DT…-METADATA.XML`` beside
``…-SPECTRAL_IMAGE.TIF`` (L1C, L2A; for L1B ``…-SPECTRAL_IMAGE_VNIR.TIF`` and
``…-SPECTRAL_IMAGE_SWIR.TIF``), band-interleaved int16 (L2A) with no-data -32768. The XML's
``specific/bandCharacterisation/bandID`` elements give each band's
``wavelengthCenterOfBand``, ``FWHMOfBand``, ``GainOfBand`` and ``OffsetOfBand`` (value = DN x
gain + offset: reflectance as a fraction in L2A); ``product/bandStatistics/bandID`` with
``mean`` -1000000 and ``stdDeviation`` 0 marks a band without data.

Every band of both detectors is kept, the VNIR/SWIR overlap included, sorted by wavelength;
the user may flag overlap bands, the reader drops none.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io.limits import Limits
from cubescope.io.products.common import ascending, read_geotiff, scratch

NAME = "EnMAP"
#: Largest metadata XML read (real ones are a few MB).
MAX_XML_BYTES = 64 * 2**20


def parse_xml(path: Path):
    """The XML's root element, refusing files too large to be metadata."""
    if path.stat().st_size > MAX_XML_BYTES:
        raise CubeError(f"'{path.name}' is {path.stat().st_size:,} bytes, too large for a product's metadata XML.")
    try:
        return ElementTree.parse(path).getroot()
    except ElementTree.ParseError as exc:
        raise CubeError(f"'{path.name}' is not well-formed XML ({exc}).") from exc


def matches_xml(root) -> bool:
    return root.find("specific/bandCharacterisation/bandID") is not None


def _floats(root, where: str) -> np.ndarray:
    try:
        return np.array([float(e.text) for e in root.findall(where)], dtype=float)
    except (TypeError, ValueError) as exc:
        raise CubeError(f"EnMAP metadata has a non-numeric {where.rsplit('/', 1)[-1]} ({exc}).") from exc


def images(xml_path: Path) -> list[Path]:
    """The spectral image(s) of the product whose metadata is ``xml_path``: by the product's
    naming beside it, else any ``*SPECTRAL_IMAGE*`` GeoTIFF in the folder."""
    stem = xml_path.name
    for ending in ("-METADATA.XML", "-METADATA.xml", "METADATA.XML", "METADATA.xml"):
        if stem.endswith(ending):
            stem = stem[: -len(ending)]
            break
    folder = xml_path.parent
    found = sorted(p for p in folder.iterdir() if p.is_file() and "SPECTRAL_IMAGE" in p.name.upper()
                   and p.suffix.lower() in (".tif", ".tiff"))
    same = [p for p in found if p.name.startswith(stem)]
    return same or found


def load(xml_path: Path, limits: Limits, name: str) -> Cube:
    root = parse_xml(xml_path)
    band = "specific/bandCharacterisation/bandID/"
    wavelengths = _floats(root, band + "wavelengthCenterOfBand")
    fwhm, gains, offsets = (_floats(root, band + k) for k in ("FWHMOfBand", "GainOfBand", "OffsetOfBand"))
    n = wavelengths.size
    if n == 0 or any(a.size not in (0, n) for a in (fwhm, gains, offsets)):
        raise CubeError("EnMAP metadata lists band characteristics of differing lengths.")
    means = _floats(root, "product/bandStatistics/bandID/mean")
    stds = _floats(root, "product/bandStatistics/bandID/stdDeviation")
    empty = (means == -1000000) & (stds == 0) if means.size == n and stds.size == n else np.zeros(n, bool)
    files = images(xml_path)
    vnir = [p for p in files if "VNIR" in p.name.upper()]
    swir = [p for p in files if "SWIR" in p.name.upper()]
    if vnir and swir:
        parts = [vnir[0], swir[0]]  # L1B: the detectors apart, VNIR bands first in the XML
    else:
        whole = [p for p in files if p not in vnir + swir]
        if not whole:
            raise CubeError(f"No EnMAP spectral image (…-SPECTRAL_IMAGE.TIF) lies beside '{xml_path.name}'.")
        parts = [whole[0]]
    stacks = [read_geotiff(p, limits, "EnMAP spectral image") for p in parts]
    total = sum(s[0].shape[0] for s in stacks)
    if total != n:
        raise CubeError(f"EnMAP metadata describes {n} bands, the spectral image holds {total}.")
    rows, cols = stacks[0][0].shape[1:]
    if any(s[0].shape[1:] != (rows, cols) for s in stacks):
        raise CubeError("EnMAP's VNIR and SWIR images differ in size.")
    order = ascending(wavelengths)
    out = scratch((n, rows, cols), stacks[0][0].dtype)
    start = 0
    for array, _, _ in stacks:
        # Place this image's bands where the sorted order puts them.
        count = array.shape[0]
        for k, source in enumerate(order):
            if start <= source < start + count:
                out[k] = array[source - start]
        start += count
    # The processing level as EnPT writes it (specific/code), else from the product's name.
    code = (root.findtext("specific/code") or "").upper()
    level = next((lvl for lvl in ("L2A", "L1C", "L1B") if lvl in code or lvl in xml_path.name.upper()), "")
    nodata = stacks[0][2] if stacks[0][2] is not None else -32768.0
    return Cube(
        out, name=name, wavelengths=wavelengths[order], wavelength_units="nm",
        fwhm=fwhm[order] if fwhm.size else None, bad_bands=empty[order],
        gain=gains[order] if gains.size else None, offset=offsets[order] if offsets.size else None,
        nodata=nodata, quantity={"L2A": "reflectance", "": None}.get(level, "radiance"),
        metadata={"product": f"EnMAP {level}".strip(), "format": "GeoTIFF + METADATA.XML",
                  "files": [p.name for p in parts] + [xml_path.name]},
        geo=stacks[0][1],
    )
