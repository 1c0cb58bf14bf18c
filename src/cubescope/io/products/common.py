"""What the sensor-product readers share: attributes, band copying, scratch space."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cubescope.cube import in_memory_budget
from cubescope.errors import CubeError
from cubescope.geo import Georef
from cubescope.io.hdf5 import checked_dataset
from cubescope.io.limits import Limits, check_cube_shape, check_declared

#: Bytes read from a product at once while copying bands.
BLOCK_BYTES = 64 * 2**20


def attr(obj: Any, name: str, default: Any = None) -> Any:
    """An HDF5/netCDF attribute as plain Python: text decoded, one-element arrays unwrapped."""
    if name not in obj.attrs:
        return default
    value = obj.attrs[name]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip("\x00 ")
    if isinstance(value, np.ndarray):
        if value.dtype.kind in "SO":
            items = [v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in value.ravel()]
            return items[0] if len(items) == 1 else items
        return value.item() if value.size == 1 else value
    if isinstance(value, np.generic):
        return value.item()
    return value


def number(obj: Any, name: str, default: float | None = None) -> float | None:
    """A numeric attribute as a float, or ``default`` when absent.

    A one-element array is its scalar, and text holding a number is that number. Anything else
    (several values, text that is no number) is a :class:`CubeError` naming the attribute: a
    scale factor or fill value silently ignored shows raw counts as physical values.
    """
    value = attr(obj, name)
    if value is None:
        return default
    owner = getattr(obj, "name", None)
    where = f"'{name}' of '{owner}'" if owner and owner != "/" else f"'{name}'"
    items = np.asarray(value, dtype=object).ravel()
    if items.size != 1:
        raise CubeError(f"The attribute {where} holds {items.size} values where one number belongs; "
                        "the product's values cannot be read safely.")
    item = items[0]
    if isinstance(item, bytes):
        item = item.decode("utf-8", "replace")
    try:
        return float(str(item).strip("\x00 ") if isinstance(item, str) else item)
    except (TypeError, ValueError):
        raise CubeError(f"The attribute {where} is {str(item)[:40]!r}, not a number; the product's values "
                        "cannot be read safely.") from None


def placed(build: Callable[[], Georef | None], metadata: dict[str, Any]) -> Georef | None:
    """The georeferencing ``build`` makes, or None with the reason in ``metadata`` when the
    product's coordinates cannot be used: a product opens without a place rather than not at all."""
    try:
        return build()
    except CubeError as exc:
        metadata["georeferencing"] = f"none: {exc}"
        return None


def text(value: Any) -> str:
    """Bytes, arrays of bytes or strings as one string."""
    if isinstance(value, np.ndarray):
        value = value.ravel()[0] if value.size else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip("\x00 ")


#: Most values an auxiliary dataset (wavelengths, coordinates, a lookup table) may hold: a
#: 8192 x 8192 image's worth. A file declaring more is refused before anything is read.
MAX_AUXILIARY_VALUES = 8192 * 8192


def values(handle: Any, name: str, file_name: str) -> np.ndarray:
    """A small 1D/2D dataset read whole as float64 (wavelengths, fwhm, coordinates, flags)."""
    return np.asarray(auxiliary(handle, name, file_name)[()], dtype=np.float64)


def auxiliary(handle: Any, name: str, file_name: str):
    """An auxiliary dataset, checked (see :func:`checked_dataset`) and refused when it declares
    more than :data:`MAX_AUXILIARY_VALUES` values (a compressed file can declare a memory bomb)."""
    dataset = checked_dataset(handle, name, file_name)
    if int(np.prod(dataset.shape, dtype=np.float64)) > MAX_AUXILIARY_VALUES:
        raise CubeError(f"'{name}' in '{file_name}' declares {dataset.shape} values, more than an auxiliary "
                        f"dataset of a product may hold ({MAX_AUXILIARY_VALUES:,}).")
    return dataset


def scratch(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """A writable array for a product's samples: in memory when small, else a memory map of
    an unnamed temporary file (gone when the array is), so a large product never sits in
    private memory."""
    dtype = np.dtype(dtype)
    n_bytes = int(np.prod(shape)) * dtype.itemsize
    if n_bytes <= in_memory_budget():
        return np.empty(shape, dtype=dtype)
    handle = tempfile.TemporaryFile(prefix="cubescope-product-")
    handle.truncate(n_bytes)
    return np.memmap(handle, dtype=dtype, mode="r+", shape=shape)


def check_size(rows: int, cols: int, bands: int, itemsize: int, limits: Limits, file_size: int, what: str) -> None:
    """The product's declared size against the server's limits, before anything is read."""
    check_cube_shape(rows, cols, bands, limits, what)
    check_declared((rows, cols, bands), itemsize, limits, compressed_from=file_size, what=what)


def copy_bands(source: Any, band_axis: int, order: Sequence[int], out: np.ndarray, first: int = 0) -> None:
    """Copy bands ``order`` of ``source`` (an h5py dataset or array, 3D, bands on
    ``band_axis``) into ``out[first:first + len(order)]``, ``out`` being ``(bands, rows, cols)``.

    Reads runs of consecutive bands in blocks of about :data:`BLOCK_BYTES`; a descending run
    (bands stored from long to short wavelengths) is read once and reversed in memory.
    """
    order = [int(b) for b in order]
    shape = source.shape
    per_band = int(np.prod([n for i, n in enumerate(shape) if i != band_axis])) * np.dtype(source.dtype).itemsize
    block = max(1, BLOCK_BYTES // max(per_band, 1))
    k = 0
    while k < len(order):
        # The longest run of +1 or -1 steps starting at k, at most `block` long.
        step = 1 if k + 1 >= len(order) or order[k + 1] - order[k] != -1 else -1
        end = k + 1
        while end < len(order) and end - k < block and order[end] - order[end - 1] == step:
            end += 1
        lo, hi = min(order[k], order[end - 1]), max(order[k], order[end - 1]) + 1
        where = [slice(None)] * 3
        where[band_axis] = slice(lo, hi)
        try:
            data = np.asarray(source[tuple(where)])
        except Exception as exc:
            raise CubeError(f"Bands {lo}-{hi - 1} of the product could not be read ({exc}).") from exc
        data = np.moveaxis(data, band_axis, 0)
        if step == -1:
            data = data[::-1]
        out[first + k: first + end] = data
        k = end


def ascending(wavelengths: np.ndarray) -> np.ndarray:
    """The band order that sorts wavelengths ascending, stable (overlapping detectors keep
    their order at equal wavelengths)."""
    return np.argsort(np.asarray(wavelengths, dtype=float), kind="stable")


def quantity_from_units(kind: str, units: Any) -> str:
    """A page label for values of ``kind`` ("reflectance", "radiance") with the product's units."""
    units = text(units) if units is not None else ""
    if not units and "radiance" in kind.lower():
        return f"{kind} (units not given)"  # radiance always has units: say they are missing
    if not units or units.lower() in ("unitless", "1", "none", "dimensionless"):
        return kind
    return f"{kind} ({units})"


def read_geotiff(path: Path, limits: Limits, what: str) -> tuple[np.ndarray, Any, float | None]:
    """A product's multi-band GeoTIFF as ``(bands, rows, cols)`` (read by GDAL: any compression
    and tiling), with its georeferencing and its no-data value."""
    from cubescope.io.gdal import read_stack

    array, info = read_stack(path, limits, f"{what} '{path.name}'")
    return array, info["geo"], info["nodata"]
