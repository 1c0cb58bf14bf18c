"""NumPy ``.npy`` and ``.npz`` files, never unpickled."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io.axes import cube_from_bare_array
from cubescope.io.limits import Limits, check_cube_shape, check_declared, check_expansion
from cubescope.io.listing import ArrayInfo, choose_array, find_wavelengths

_PICKLE_MESSAGE = (
    "holds Python objects (pickled data), which Cubescope never loads because unpickling can "
    "run code. Save the cube as a plain numeric array: np.save(path, cube.astype('float32'))."
)


def _read_npy_header(handle: Any, what: str) -> tuple[tuple[int, ...], np.dtype, bool, int]:
    try:
        version = np.lib.format.read_magic(handle)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle, max_header_size=10000)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle, max_header_size=10000)
        else:
            raise ValueError(f"unknown version {version}")
    except Exception as exc:
        raise CubeError(f"{what} is not a valid .npy file ({exc}).") from exc
    if dtype.hasobject:
        raise CubeError(f"{what} {_PICKLE_MESSAGE}")
    return tuple(int(s) for s in shape), dtype, bool(fortran), handle.tell()


def _check_array(shape: tuple[int, ...], dtype: np.dtype, limits: Limits, what: str,
                 available: int | None) -> None:
    if dtype.kind not in "iuf":
        raise CubeError(f"{what} holds samples of type {dtype}; a cube needs integers or floats.")
    if len(shape) == 3:
        check_cube_shape(shape[0], shape[1], shape[2], limits, what)
    check_declared(shape or (1,), dtype.itemsize, limits, available=available, what=what)


def load_npy(path: Path, limits: Limits, *, band_axis: int | None = None,
             name: str | None = None, lazy: bool | None = None) -> Cube:
    """Open a ``.npy`` cube memory-mapped; its layout is guessed unless ``band_axis`` is given."""
    what = f"'{path.name}'"
    size = path.stat().st_size
    with open(path, "rb") as handle:
        shape, dtype, _, data_offset = _read_npy_header(handle, what)
    _check_array(shape, dtype, limits, what, available=size - data_offset)
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    return cube_from_bare_array(
        array, limits=limits, name=name or path.stem, band_axis=band_axis, default_axis=2,
        metadata={"format": "NumPy .npy"}, lazy=lazy,
    )


def list_npz(path: Path, limits: Limits) -> list[ArrayInfo]:
    """The arrays in an ``.npz`` archive, read from the member headers only."""
    infos = []
    try:
        with zipfile.ZipFile(path) as archive:
            for member in archive.infolist():
                if not member.filename.endswith(".npy"):
                    continue
                with archive.open(member) as handle:
                    shape, dtype, _, offset = _read_npy_header(handle, f"Member '{member.filename}'")
                infos.append(ArrayInfo(member.filename[:-4], shape, str(dtype),
                                       member.file_size - offset))
    except (zipfile.BadZipFile, RuntimeError, OSError, EOFError, ValueError) as exc:
        raise CubeError(f"'{path.name}' is not a valid .npz archive ({type(exc).__name__}: {exc}).") from exc
    return infos


def load_npz(path: Path, limits: Limits, *, dataset: str | None = None,
             band_axis: int | None = None, name: str | None = None) -> Cube:
    """Open a cube from an ``.npz`` archive; ``dataset`` names the member when there are several.

    A 1D member whose name says wavelength (``wavelengths``, ``wl``, ``lambda``...) with one
    entry per band becomes the wavelength axis.
    """
    infos = list_npz(path, limits)
    chosen = choose_array(infos, dataset, path.name)
    what = f"Member '{chosen.name}' of '{path.name}'"
    _check_array(chosen.shape, np.dtype(chosen.dtype), limits, what, available=chosen.stored_bytes)
    check_expansion(chosen.size * np.dtype(chosen.dtype).itemsize, path.stat().st_size, limits, what)
    with zipfile.ZipFile(path) as archive, archive.open(chosen.name + ".npy") as handle:
        try:
            array = np.lib.format.read_array(handle, allow_pickle=False)
        except ValueError as exc:
            raise CubeError(f"{what} {_PICKLE_MESSAGE}") from exc
        wavelengths, units = _npz_wavelengths(archive, infos)
    return cube_from_bare_array(
        array, limits=limits, name=name or path.stem, band_axis=band_axis, default_axis=2,
        wavelengths=wavelengths, wavelength_units=units,
        metadata={"format": "NumPy .npz", "array": chosen.name},
    )


def _npz_wavelengths(archive: zipfile.ZipFile, infos: list[ArrayInfo]) -> tuple[Any, str | None]:
    found = find_wavelengths(infos)
    if found is None:
        return None, None
    with archive.open(found.name + ".npy") as handle:
        values = np.lib.format.read_array(handle, allow_pickle=False)
    units = None
    for info in infos:
        if info.name.lower() in {"wavelength_units", "units", "wavelength units"} and not info.shape:
            with archive.open(info.name + ".npy") as handle:
                units = str(np.lib.format.read_array(handle, allow_pickle=False))
    return np.asarray(values, dtype=float).ravel(), units
