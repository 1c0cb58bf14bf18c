"""Sensor products opened as their agencies lay them out, recognised by their contents.

| product | read from | module |
|---|---|---|
| NASA EMIT L1B/L2A | netCDF4 | :mod:`.emit` |
| NASA PACE OCI L2 | netCDF4 | :mod:`.pace` |
| ASI PRISMA L1/L2B/L2C/L2D | HDF5-EOS | :mod:`.prisma` |
| Planet Tanager | HDF5-EOS | :mod:`.tanager` |
| NEON AOP reflectance | HDF5 | :mod:`.neon` |
| AVIRIS-3/-5 orthorectified | netCDF4 | :mod:`.aviris` |
| DLR EnMAP L1B/L1C/L2A | GeoTIFF + METADATA.XML (file, folder or .zip) | :mod:`.enmap` |
| DLR DESIS L1C/L2A | GeoTIFF + ENVI header (+ METADATA.xml) | :mod:`.desis` |

AVIRIS-NG products are ENVI files; :mod:`cubescope.io.envi` reads them with their ``map info``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io.hdf5 import open_hdf5
from cubescope.io.limits import Limits
from cubescope.io.listing import ArrayInfo
from cubescope.io.products import aviris, desis, emit, enmap, neon, pace, prisma, tanager
from cubescope.io.upload import stage_files

#: Readers of HDF5/netCDF4 products, asked in this order whether a file is theirs.
HDF5_PRODUCTS = (emit, pace, prisma, tanager, neon, aviris)

__all__ = ["HDF5_PRODUCTS", "hdf5_product", "list_hdf5_product", "load_hdf5_product", "load_product",
           "load_tiff_product", "product_file"]


def hdf5_product(handle) -> object | None:
    """The reader module whose layout an open HDF5/netCDF4 file follows, or None."""
    for module in HDF5_PRODUCTS:
        try:
            if module.matches(handle):
                return module
        except (KeyError, TypeError, ValueError, OSError):
            continue
    return None


def list_hdf5_product(path: Path) -> list[ArrayInfo] | None:
    """The cubes a product file offers (e.g. EMIT orthorectified and swath); None when the file
    is no known product."""
    with open_hdf5(path) as handle:
        module = hdf5_product(handle)
        return None if module is None else module.arrays(handle)


def load_hdf5_product(path: Path, limits: Limits, *, dataset: str | None, name: str | None) -> Cube | None:
    """The product in an HDF5/netCDF4 file as a cube, or None when it follows no known layout."""
    with open_hdf5(path) as handle:
        module = hdf5_product(handle)
        if module is None:
            return None
        return module.load(path, handle, limits, dataset, name or path.stem)


def load_tiff_product(path: Path, limits: Limits, name: str | None) -> Cube | None:
    """A GeoTIFF that is the spectral image of an EnMAP or DESIS product (its metadata beside
    it) as that product; None for any other TIFF."""
    folder = path.parent
    for xml in sorted(folder.glob("*.[xX][mM][lL]")):
        try:
            if enmap.matches_xml(enmap.parse_xml(xml)) and path in enmap.images(xml):
                return enmap.load(xml, limits, name or _product_name(xml))
        except CubeError:
            continue
    header = desis.header_for(path)
    if header is not None:
        return desis.load(path, header, limits, name or path.stem.rsplit("-SPECTRAL_IMAGE", 1)[0])
    return None


def product_file(paths: list[Path]) -> Path | None:
    """Among uploaded or unpacked files, the one that opens a GeoTIFF product: EnMAP's metadata
    XML, or a DESIS spectral image with its header."""
    for path in sorted(paths):
        if path.suffix.lower() == ".xml":
            try:
                if enmap.matches_xml(enmap.parse_xml(path)):
                    return path
            except CubeError:
                continue
    for path in sorted(paths):
        is_image = path.suffix.lower() in (".tif", ".tiff") and "SPECTRAL_IMAGE" in path.name.upper()
        if is_image and desis.header_for(path):
            return path
    return None


def load_product(path: Path, limits: Limits, *, name: str | None = None) -> Cube:
    """A product given by its metadata XML, its folder, or its delivered .zip."""
    if path.is_dir():
        found = product_file([p for p in path.iterdir() if p.is_file()])
        if found is None:
            raise CubeError(f"The folder '{path.name}' holds no EnMAP or DESIS product (no METADATA.XML with bands).")
        return _load_found(found, limits, name or path.name)
    if path.suffix.lower() == ".zip":
        folder = Path(tempfile.mkdtemp(prefix="cubescope-zip-"))
        try:
            with open(path, "rb") as handle:
                files = stage_files([(path.name, handle)], folder, limits)
            inner = [p for p in files if p.suffix.lower() == ".zip"]
            for nested in inner:  # EnMAP's download holds the product as a zip in a zip
                with open(nested, "rb") as handle:
                    files += stage_files([(nested.name, handle)], folder / "inner", limits)
            found = product_file(files)
            if found is None:
                raise CubeError(f"'{path.name}' holds no EnMAP or DESIS product (no METADATA.XML with bands).")
            return _load_found(found, limits, name or path.stem)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    root = enmap.parse_xml(path)
    if enmap.matches_xml(root):
        return enmap.load(path, limits, name or _product_name(path))
    image = desis.image_for(path)
    if image is not None and desis.header_for(image) is not None:
        return desis.load(image, desis.header_for(image), limits, name or _product_name(path))
    raise CubeError(f"'{path.name}' is an XML file, but not the metadata of an EnMAP or DESIS product.")


def _load_found(found: Path, limits: Limits, name: str) -> Cube:
    if found.suffix.lower() == ".xml":
        return enmap.load(found, limits, name)
    return desis.load(found, desis.header_for(found), limits, name)


def _product_name(xml: Path) -> str:
    return xml.name.rsplit("-METADATA", 1)[0] or xml.stem
