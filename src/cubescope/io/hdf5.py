"""HDF5 files (``.h5``, ``.hdf5``, ``.he5``): one dataset becomes the cube.

External links, external raw storage and virtual datasets are refused: a file must not make
the server read other files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io.axes import cube_from_bare_array
from cubescope.io.limits import Limits, check_cube_shape, check_declared
from cubescope.io.listing import ArrayInfo, choose_array, find_wavelengths

#: Most chunks one dataset may be stored in (a 1024 x 1024 x 224 cube in 64 x 64 x 16 chunks has 3584).
MAX_CHUNKS = 1_000_000


def open_hdf5(path: Path):
    import h5py

    try:
        return h5py.File(path, "r")
    except Exception as exc:
        raise CubeError(f"'{path.name}' is not a readable HDF5 file ({exc}).") from exc


def hdf5_arrays(path: Path, matlab: bool = False) -> list[ArrayInfo]:
    """Datasets in an HDF5 file, by path; with ``matlab`` their shapes are given in MATLAB order."""
    import h5py

    infos: list[ArrayInfo] = []
    with open_hdf5(path) as handle:

        def visit(name: str, obj: object) -> None:
            if not isinstance(obj, h5py.Dataset) or name.startswith("#refs#"):
                return
            if obj.dtype.kind not in "iuf":
                dtype = str(obj.dtype) if obj.dtype.kind else "other"
            else:
                dtype = str(obj.dtype.newbyteorder("="))
            shape = tuple(int(s) for s in obj.shape)
            infos.append(ArrayInfo(name, shape[::-1] if matlab else shape, dtype))

        try:
            handle.visititems(visit)
        except Exception as exc:
            raise CubeError(f"The structure of '{path.name}' could not be read ({exc}).") from exc
    return infos


def checked_dataset(handle, name: str, file_name: str):
    """The dataset ``name`` of an open file, after checking that its samples lie in the file
    and that reading it does not cost the library memory out of proportion (raises CubeError)."""
    import h5py

    link = handle.get(name, getlink=True)
    if link is None:
        raise CubeError(f"'{file_name}' has no dataset '{name}'.")
    if isinstance(link, h5py.ExternalLink | h5py.SoftLink):
        raise CubeError(f"'{name}' in '{file_name}' is a link; Cubescope reads only data stored in the file.")
    dataset = handle[name]
    if not isinstance(dataset, h5py.Dataset):
        raise CubeError(f"'{name}' in '{file_name}' is a group, not a dataset.")
    if dataset.external or dataset.is_virtual:
        raise CubeError(
            f"'{name}' in '{file_name}' keeps its data in other files (external or virtual "
            "storage); store it inside the file."
        )
    if dataset.chunks is not None:
        # The library's bookkeeping grows with the number of chunks read: a dataset of
        # one-element chunks takes memory linear in its samples before any are returned.
        chunks = int(np.prod([-(-n // c) for n, c in zip(dataset.shape, dataset.chunks, strict=True)]))
        if chunks > MAX_CHUNKS:
            raise CubeError(
                f"'{name}' in '{file_name}' is stored in {chunks:,} chunks, more than this server reads "
                f"({MAX_CHUNKS:,}); rewrite it with larger chunks (e.g. one band or a block of rows each)."
            )
    return dataset


def read_dataset(path: Path, name: str) -> np.ndarray:
    """Read one dataset whole, after :func:`checked_dataset`."""
    with open_hdf5(path) as handle:
        dataset = checked_dataset(handle, name, path.name)
        try:
            return dataset[()]
        except Exception as exc:
            raise CubeError(f"'{name}' in '{path.name}' could not be read ({exc}).") from exc


def _units(path: Path, name: str) -> str | None:
    with open_hdf5(path) as handle:
        for key in ("wavelength_units", "wavelength units", "units"):
            for obj in (handle[name], handle):
                if key in obj.attrs:
                    value = obj.attrs[key]
                    return value.decode() if isinstance(value, bytes) else str(value)
    return None


def load_hdf5(path: Path, limits: Limits, *, dataset: str | None = None,
              band_axis: int | None = None, name: str | None = None) -> Cube:
    """Open the one 3D dataset of an HDF5 file (or ``dataset``); wavelengths from a 1D
    dataset named like them, units from a ``wavelength_units``/``units`` attribute."""
    infos = hdf5_arrays(path)
    chosen = choose_array(infos, dataset, path.name)
    what = f"Dataset '{chosen.name}' of '{path.name}'"
    if chosen.dtype[:1] not in "iuf":
        raise CubeError(f"{what} holds {chosen.dtype} values, not numbers.")
    check_cube_shape(*sorted(chosen.shape), limits, what)
    check_declared(chosen.shape, np.dtype(chosen.dtype).itemsize, limits, compressed_from=path.stat().st_size,
                   what=what)
    array = read_dataset(path, chosen.name)
    wl_info = find_wavelengths([i for i in infos if i.name != chosen.name])
    wavelengths = None if wl_info is None else read_dataset(path, wl_info.name).ravel().astype(float)
    units = _units(path, wl_info.name) if wl_info else None
    cube = cube_from_bare_array(
        array, limits=limits, name=name or path.stem, band_axis=band_axis, default_axis=2,
        wavelengths=wavelengths, wavelength_units=units,
        metadata={"format": "HDF5", "dataset": chosen.name},
    )
    from cubescope.io.cf import cf_georef

    with open_hdf5(path) as handle:
        geo, unplaced = cf_georef(handle, chosen.name, int(cube.metadata["band axis index"]))
    if geo is not None and (geo.rows, geo.cols) == (cube.rows, cube.cols):
        cube.geo = geo
    elif unplaced:
        cube.metadata["georeferencing"] = f"none: {unplaced}"
    return cube
