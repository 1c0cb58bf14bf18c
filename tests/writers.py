"""Small files of every supported format, written by the tests themselves."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

ENVI_CODES = {
    np.dtype(k): v
    for k, v in {"u1": 1, "i2": 2, "i4": 3, "f4": 4, "f8": 5, "u2": 12, "u4": 13, "i8": 14, "u8": 15}.items()
}


def sample_cube(rows: int = 7, cols: int = 5, bands: int = 6, dtype: str = "f4", seed: int = 0) -> np.ndarray:
    """A (rows, cols, bands) array whose every value is distinct (so any mix-up shows)."""
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    values = np.arange(rows * cols * bands).reshape(rows, cols, bands)
    if dtype.kind == "f":
        return (values + rng.random(values.shape) * 0.5 - 40).astype(dtype)
    if dtype.kind == "i":
        return (values - values.size // 2).astype(dtype)
    return values.astype(dtype)


def write_envi(
    folder: Path,
    cube: np.ndarray,
    *,
    name: str = "scene",
    interleave: str = "bsq",
    byte_order: int = 0,
    offset: int = 0,
    data_suffix: str = ".img",
    extra: str = "",
    keys_upper: bool = False,
) -> tuple[Path, Path]:
    """Write ``cube`` (rows, cols, bands) as an ENVI pair; return (header, data) paths."""
    rows, cols, bands = cube.shape
    order = {"bsq": (2, 0, 1), "bil": (0, 2, 1), "bip": (0, 1, 2)}[interleave]
    dtype = cube.dtype.newbyteorder("<" if byte_order == 0 else ">")
    body = np.ascontiguousarray(cube.transpose(order)).astype(dtype).tobytes()
    data = folder / f"{name}{data_suffix}"
    data.write_bytes(b"\0" * offset + body)
    keys = {
        "samples": cols,
        "lines": rows,
        "bands": bands,
        "header offset": offset,
        "file type": "ENVI Standard",
        "data type": ENVI_CODES[cube.dtype.newbyteorder("=")],
        "interleave": interleave,
        "byte order": byte_order,
    }
    lines = ["ENVI"] + [f"{k.title() if keys_upper else k} = {v}" for k, v in keys.items()]
    header = folder / f"{name}.hdr"
    header.write_text("\n".join(lines) + "\n" + extra)
    return header, data


def write_lan(path: Path, cube: np.ndarray, big_endian: bool = False) -> None:
    """Write an ERDAS 7.4 (HEAD74) .lan file: 128-byte header, band-interleaved by line."""
    rows, cols, bands = cube.shape
    packing = {np.dtype("u1"): 0, np.dtype("i2"): 2}[cube.dtype.newbyteorder("=")]
    e = ">" if big_endian else "<"
    header = bytearray(128)
    header[0:6] = b"HEAD74"
    header[6:10] = struct.pack(e + "hh", packing, bands)
    header[16:32] = struct.pack(e + "iiii", cols, rows, 0, 0)
    body = np.ascontiguousarray(cube.transpose(0, 2, 1)).astype(cube.dtype.newbyteorder(e)).tobytes()
    path.write_bytes(bytes(header) + body)


def write_mat73(path: Path, variables: dict[str, np.ndarray]) -> None:
    """Write a MATLAB v7.3 file as MATLAB does: a 512-byte text preamble, then HDF5 with
    column-major arrays (axes reversed as h5py sees them) and a MATLAB_class attribute."""
    import h5py

    classes = {"f8": "double", "f4": "single", "i2": "int16", "u2": "uint16", "u1": "uint8", "i4": "int32"}
    with h5py.File(path, "w", userblock_size=512) as handle:
        for name, value in variables.items():
            dataset = handle.create_dataset(name, data=np.asarray(value).T)
            dataset.attrs["MATLAB_class"] = np.bytes_(classes[np.asarray(value).dtype.str[1:]])
    with open(path, "r+b") as handle:
        handle.write(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Nov 23 2026 HDF5 schema 1.00 .")


def fill_sparse_file(path: str, nbytes: int) -> None:
    """Create a sparse file of ``nbytes`` and write every byte of it through a memory map (on a
    full disk this dies of SIGBUS, as a conversion without reserved blocks would)."""
    import mmap

    with open(path, "w+b") as handle:
        handle.truncate(nbytes)
        with mmap.mmap(handle.fileno(), nbytes) as mapped:
            for start in range(0, nbytes, 1 << 20):
                mapped[start:start + (1 << 20)] = b"\1" * min(1 << 20, nbytes - start)
