"""Loading cubes: one front door, :func:`load_cube`, over one module per format family."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from cubescope.cube import Cube
from cubescope.errors import CubeError, SeveralCubes
from cubescope.io.arrays import list_npz, load_npy, load_npz
from cubescope.io.envi import find_header, load_envi, load_lan
from cubescope.io.gdal import gdal_errors, is_gdal_stack, load_geotiff
from cubescope.io.hdf5 import hdf5_arrays, load_hdf5
from cubescope.io.limits import DEFAULT_LIMITS, Limits
from cubescope.io.listing import ArrayInfo
from cubescope.io.matlab import list_mat, load_mat
from cubescope.io.products import (
    list_hdf5_product,
    load_hdf5_product,
    load_product,
    load_tiff_product,
    product_file,
)
from cubescope.io.tiff import load_tiff
from cubescope.io.upload import safe_name

__all__ = ["FORMATS", "ArrayInfo", "Limits", "detect_format", "list_arrays", "load_cube"]

#: Format names accepted by ``load_cube(format=...)`` and what they cover.
FORMATS = {
    "envi": "ENVI header + data (.hdr with .img/.dat/.raw/.bsq/.bil/.bip or no ending)",
    "lan": "ERDAS/GIS .lan",
    "npy": "NumPy .npy",
    "npz": "NumPy .npz",
    "mat": "MATLAB .mat (v5, v7, v7.3)",
    "tiff": "multi-band GeoTIFF and Cloud-Optimized GeoTIFF (any compression, read by GDAL), multi-page TIFF",
    "hdf5": "HDF5 and netCDF4 (.h5, .hdf5, .he5, .nc), with EMIT, PACE, PRISMA, Tanager, NEON and AVIRIS-3 "
            "products read as their agencies lay them out",
    "product": "EnMAP or DESIS product: its METADATA.XML, its folder or its delivered .zip",
}
_BY_SUFFIX = {
    ".hdr": "envi",
    ".lan": "lan",
    ".npy": "npy",
    ".npz": "npz",
    ".mat": "mat",
    ".tif": "tiff",
    ".tiff": "tiff",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".he5": "hdf5",
    ".hdf": "hdf5",
    ".nc": "hdf5",
    ".nc4": "hdf5",
    ".xml": "product",
    ".zip": "product",
}
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def detect_format(path: str | Path) -> str:
    """The format of a file, from its first bytes, falling back on its ending.

    Raises
    ------
    CubeError
        When neither the contents nor the name say what the file is.
    """
    path = Path(path)
    if path.is_dir():
        return "product"
    if not path.is_file():
        raise CubeError(f"There is no file '{path.name}'.")
    with open(path, "rb") as handle:
        head = handle.read(1024)
    if head.startswith(b"\x93NUMPY"):
        return "npy"
    if head.startswith(b"MATLAB"):
        return "mat"
    if head.startswith(_HDF5_MAGIC) or head[512:520] == _HDF5_MAGIC:
        return "hdf5"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith((b"HEAD74", b"HEADER")):
        return "lan"
    if head.lstrip(b"\xef\xbb\xbf").startswith(b"ENVI"):
        return "envi"
    if head.startswith(b"PK\x03\x04") and path.suffix.lower() == ".npz":
        return "npz"
    if head.startswith(b"PK\x03\x04"):
        return "product"
    if head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return "product"
    if find_header(path) is not None:
        return "envi"
    suffix = path.suffix.lower()
    if head.startswith((b"CDF\x01", b"CDF\x02", b"CDF\x05")):
        raise CubeError(
            f"'{path.name}' is a classic netCDF-3 file; Cubescope reads netCDF-4 (HDF5-based), the format "
            "EMIT, PACE and AVIRIS products are delivered in. Convert it with `nccopy -k nc4`."
        )
    if suffix in _BY_SUFFIX and suffix not in {".npy", ".mat", ".tif", ".tiff", ".h5", ".hdf5", ".nc", ".nc4",
                                                ".xml", ".zip"}:
        return _BY_SUFFIX[suffix]
    raise CubeError(
        f"'{path.name}' is not a cube file Cubescope can read. Supported: "
        + "; ".join(FORMATS.values())
        + "."
    )


def list_arrays(path: str | Path) -> list[ArrayInfo]:
    """The arrays a container file (.npz, .mat, HDF5) holds; empty for single-cube formats.

    A page uses this to let the user choose when there are several cubes.
    """
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "npz":
        return list_npz(path, DEFAULT_LIMITS)
    if fmt == "mat":
        return list_mat(path)
    if fmt == "hdf5":
        offered = list_hdf5_product(path)
        return hdf5_arrays(path) if offered is None else offered
    return []


def load_cube(
    path: str | Path,
    *,
    format: str | None = None,
    dataset: str | None = None,
    band_axis: int | None = None,
    data_file: str | Path | None = None,
    name: str | None = None,
    limits: Limits | None = None,
    lazy: bool | None = None,
) -> Cube:
    """Open a hyperspectral cube from a file.

    Parameters
    ----------
    path : str or Path
        The file: an ENVI header or data file, .lan, .npy, .npz, .mat, .tif, .h5...
    format : str, optional
        One of :data:`FORMATS`; detected from the contents when omitted.
    dataset : str, optional
        Which array to open in a container holding several (.npz, .mat, HDF5).
    band_axis : int, optional
        For formats that do not state their layout (.npy, .npz, .mat, HDF5, TIFF): which axis
        holds the bands. Guessed when omitted (see :func:`cubescope.io.axes.guess_band_axis`).
    data_file : str or Path, optional
        ENVI only: the data file, when it is not next to the header under a usual name.
    name : str, optional
        Name for the cube; the file stem by default.
    limits : Limits, optional
        Size ceilings checked before reading; :data:`DEFAULT_LIMITS` by default.
    lazy : bool, optional
        ENVI, .lan and .npy files not stored band-sequentially: True keeps them a memory-mapped
        strided view (nothing read until used; how :class:`~cubescope.store.CubeStore` converts
        files larger than memory), False copies them into band-sequential order in memory (fast
        band images). By default they are copied only when small (see
        :func:`cubescope.cube.in_memory_budget`), so opening a large file never holds it in
        private memory. Other formats are read into memory either way.

    Returns
    -------
    Cube

    Raises
    ------
    CubeError
        For anything wrong with the file, with a message for the user.

    Notes
    -----
    This reads in the calling process. The C readers underneath can crash on a maliciously
    damaged file (scipy's MATLAB reader segfaults on some); for files from untrusted sources use
    :meth:`cubescope.store.CubeStore.put_files`, which converts them in a child process.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> folder = Path(tempfile.mkdtemp())
    >>> np.save(folder / "scan.npy", np.ones((20, 30, 6), dtype="float32"))
    >>> cube = load_cube(folder / "scan.npy")
    >>> cube.shape  # rows, columns, bands: the band axis was guessed (and said so)
    (20, 30, 6)
    >>> cube.metadata["band axis"].startswith("2 of shape (20, 30, 6)")
    True
    """
    path = Path(path)
    limits = limits or DEFAULT_LIMITS
    fmt = format or detect_format(path)
    if fmt not in FORMATS:
        raise CubeError(f"Unknown format '{fmt}'; use one of {', '.join(FORMATS)}.")
    try:
        if fmt == "envi":
            return load_envi(path, limits, data_file=Path(data_file) if data_file else None, name=name, lazy=lazy)
        if fmt == "lan":
            return load_lan(path, limits, name=name, lazy=lazy)
        if fmt == "npy":
            return load_npy(path, limits, band_axis=band_axis, name=name, lazy=lazy)
        if fmt == "tiff":
            product = load_tiff_product(path, limits, name)
            if product is not None:
                return product
            if band_axis is None and is_gdal_stack(path):
                return load_geotiff(path, limits, name=name)
            return load_tiff(path, limits, band_axis=band_axis, name=name)
        if fmt == "product":
            return load_product(path, limits, name=name)
        if fmt == "hdf5":
            product = load_hdf5_product(path, limits, dataset=dataset, name=name)
            if product is not None:
                return product
        loader = {"npz": load_npz, "mat": load_mat, "hdf5": load_hdf5}[fmt]
        return loader(path, limits, dataset=dataset, band_axis=band_axis, name=name)
    except CubeError:
        raise
    except MemoryError as exc:
        raise CubeError(f"'{path.name}' is too large to open on this server.") from exc
    except _parser_errors() as exc:
        # A file that passed every check and still fails is damaged in a way the checks do not
        # foresee; the user gets the reason, never a traceback. The list is explicit (not
        # Exception) so that the fuzz tests still see any other error as a bug of ours.
        raise CubeError(f"'{path.name}' could not be read as {FORMATS[fmt]} ({type(exc).__name__}: {exc})") from exc


def _parser_errors() -> tuple[type[BaseException], ...]:
    """What the format libraries raise on damaged files."""
    import struct
    import zipfile
    import zlib

    import tifffile
    from scipy.io.matlab import MatReadError

    return (OSError, ValueError, TypeError, KeyError, IndexError, ArithmeticError, EOFError, RuntimeError,
            UnicodeDecodeError, zipfile.BadZipFile, zlib.error, struct.error, MatReadError, tifffile.TiffFileError,
            *gdal_errors())


def headers(paths: Sequence[Path]) -> list[Path]:
    """The ENVI headers among uploaded files, sorted by name."""
    return sorted((p for p in paths if p.suffix.lower() == ".hdr"), key=lambda p: p.name)


def main_file(paths: Sequence[Path], header: str | None = None) -> Path:
    """The file that opens the cube: the ENVI header when there is one (``header`` names which,
    when there are several), else the only file. An EnMAP or DESIS product (its metadata XML,
    or a spectral image with its header) opens from the file that holds its bands' description."""
    product = product_file(list(paths))
    if product is not None:
        return product
    found = headers(paths)
    if header is not None and len(found) > 1:
        chosen = [p for p in found if p.name == safe_name(header)]
        if chosen:
            return chosen[0]
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise SeveralCubes("Several ENVI headers were uploaded (" + ", ".join(p.name for p in found) + "); "
                           "choose which cube to open.", [p.name for p in found])
    if len(paths) == 1:
        return paths[0]
    names = ", ".join(p.name for p in paths)
    raise CubeError(
        f"Several files were uploaded ({names}) but none is an ENVI header (.hdr). Upload one "
        "cube file, or an ENVI header with its data file."
    )
