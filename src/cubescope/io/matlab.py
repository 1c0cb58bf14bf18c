"""MATLAB ``.mat`` files: v4/v5/v7 through ``scipy.io``, v7.3 (HDF5) through ``h5py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io.axes import cube_from_bare_array
from cubescope.io.hdf5 import hdf5_arrays, read_dataset
from cubescope.io.limits import Limits, check_cube_shape, check_declared
from cubescope.io.listing import ArrayInfo, choose_array, find_wavelengths

_MATLAB_CLASSES = {
    "double": "float64",
    "single": "float32",
    "int8": "int8",
    "uint8": "uint8",
    "int16": "int16",
    "uint16": "uint16",
    "int32": "int32",
    "uint32": "uint32",
    "int64": "int64",
    "uint64": "uint64",
}


def is_v73(path: Path) -> bool:
    with open(path, "rb") as handle:
        head = handle.read(128)
    return head.startswith(b"MATLAB 7.3")


def list_mat(path: Path) -> list[ArrayInfo]:
    """Variables of a .mat file with their MATLAB shapes, without loading them."""
    if is_v73(path):
        return hdf5_arrays(path, matlab=True)
    import scipy.io

    try:
        entries = scipy.io.whosmat(str(path))
    except Exception as exc:
        raise CubeError(f"'{path.name}' is not a readable MATLAB file ({exc}).") from exc
    return [
        ArrayInfo(name, tuple(int(s) for s in shape), _MATLAB_CLASSES.get(cls, f"MATLAB {cls}"))
        for name, shape, cls in entries
    ]


def load_mat(path: Path, limits: Limits, *, dataset: str | None = None,
             band_axis: int | None = None, name: str | None = None) -> Cube:
    """Open a cube from a MATLAB file.

    The cube is the one 3D numeric variable (or ``dataset``); a variable whose name says
    wavelength (``wavelengths``, ``wavlength``, ``wl``...) with one entry per band becomes the
    wavelength axis. MATLAB's usual layout is ``(rows, cols, bands)``. Cell arrays and structs
    are never loaded.
    """
    infos = list_mat(path)
    chosen = choose_array(infos, dataset, path.name)
    what = f"Variable '{chosen.name}' of '{path.name}'"
    if chosen.dtype not in _MATLAB_CLASSES.values():
        raise CubeError(f"{what} is a MATLAB {chosen.dtype.removeprefix('MATLAB ')}, not a numeric array.")
    check_cube_shape(*chosen.shape, limits, what)
    check_declared(chosen.shape, np.dtype(chosen.dtype).itemsize, limits, compressed_from=path.stat().st_size,
                   what=what)
    wl_info = find_wavelengths([i for i in infos if i.name != chosen.name])
    if is_v73(path):
        # h5py sees MATLAB's column-major arrays with their axes reversed.
        array = read_dataset(path, chosen.name).T
        wavelengths = None if wl_info is None else read_dataset(path, wl_info.name).ravel()
        fmt = "MATLAB v7.3 (HDF5)"
    else:
        import scipy.io

        names = [chosen.name] + ([wl_info.name] if wl_info else [])
        try:
            variables = scipy.io.loadmat(str(path), variable_names=names)
        except Exception as exc:
            raise CubeError(f"'{path.name}' could not be read as a MATLAB file ({exc}).") from exc
        array = variables[chosen.name]
        if array.dtype.hasobject:
            raise CubeError(f"{what} holds MATLAB objects, not numbers.")
        wavelengths = None if wl_info is None else np.asarray(variables[wl_info.name]).ravel()
        fmt = "MATLAB v5"
    if wavelengths is not None and wavelengths.dtype.kind not in "iuf":
        wavelengths = None
    return cube_from_bare_array(
        array, limits=limits, name=name or path.stem, band_axis=band_axis, default_axis=2,
        wavelengths=None if wavelengths is None else wavelengths.astype(float),
        metadata={"format": fmt, "variable": chosen.name,
                  **({"wavelength variable": wl_info.name} if wl_info else {})},
    )
