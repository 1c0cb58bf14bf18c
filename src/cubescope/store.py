"""The cube store: every cube the app shows, in one canonical, memory-mappable form.

A cube is kept under its content id (128 bits of SHA-256, hex) as a folder holding
``data.npy`` (band-sequential ``(bands, rows, cols)``, native byte order, memory-mapped on
open) and ``meta.json`` (wavelengths, no-data value, metadata, sizes and a checksum).

Writes go to a private temporary folder that is renamed into place in one step, so a reader
never sees half a cube; a crash leaves only a temporary folder, cleaned later. The store
has a size limit and evicts the least recently opened cubes beyond it. It never lists its
contents to users: a cube is reached by its id only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cubescope.cube import Cube
from cubescope.errors import CubeError
from cubescope.io import ArrayInfo, list_arrays, load_cube
from cubescope.io.isolated import run_isolated
from cubescope.io.limits import Limits
from cubescope.io.upload import content_id, main_file, stage_files

CUBE_ID = re.compile(r"^[0-9a-f]{32}$")
_FORMAT_VERSION = 1
_STALE_TEMP_SECONDS = 6 * 3600


def valid_id(cube_id: object) -> bool:
    """True for a well-formed cube id (32 lower-case hex digits); never a path."""
    return isinstance(cube_id, str) and bool(CUBE_ID.match(cube_id))


class CubeStore:
    """A folder of canonical cubes.

    Parameters
    ----------
    root : path
        The store folder; created when missing.
    max_bytes : int
        Total size beyond which least recently used cubes are evicted.
    limits : Limits, optional
        Size ceilings for what is put in.
    """

    def __init__(self, root: str | os.PathLike[str], max_bytes: int = 20 * 2**30,
                 limits: Limits | None = None) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.limits = limits or Limits()
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    # -------------------------------------------------------------- paths
    def _folder(self, cube_id: str) -> Path:
        if not valid_id(cube_id):
            raise CubeError("That cube id is not valid (it must be 32 hexadecimal digits).")
        return self.root / "objects" / cube_id

    def __contains__(self, cube_id: object) -> bool:
        return valid_id(cube_id) and (self._folder(str(cube_id)) / "meta.json").is_file()

    # -------------------------------------------------------------- writing
    def put(self, cube: Cube, cube_id: str, source: dict[str, Any] | None = None) -> str:
        """Store ``cube`` under ``cube_id`` unless it is there already; return the id.

        The samples are copied band by band (bounded memory) into native byte order.
        """
        final = self._folder(cube_id)
        if (final / "meta.json").is_file():
            self._touch(final)
            return cube_id
        temp = self.root / "tmp" / f"{cube_id}-{uuid.uuid4().hex}"
        temp.mkdir(parents=True)
        try:
            digest = hashlib.sha256()
            dtype = cube.dtype.newbyteorder("=")
            out = np.lib.format.open_memmap(temp / "data.npy", mode="w+", dtype=dtype,
                                            shape=cube.bsq.shape)
            for start, stop in cube.iter_band_chunks():
                block = np.asarray(cube.bsq[start:stop], dtype=dtype)
                out[start:stop] = block
                digest.update(np.ascontiguousarray(block).tobytes())
            out.flush()
            del out
            meta = _meta(cube, digest.hexdigest(), source)
            (temp / "meta.json").write_text(json.dumps(meta, default=str))
            _fsync_folder(temp)
            try:
                os.rename(temp, final)
            except OSError:
                # Someone stored the same content first: theirs is identical, keep it.
                if not (final / "meta.json").is_file():
                    raise
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        self.evict(keep=cube_id)
        return cube_id

    def put_files(self, files: Sequence[tuple[str, bytes]], *, dataset: str | None = None,
                  band_axis: int | None = None) -> str:
        """Store uploaded files (an ENVI pair, a zip, or one cube file); return the cube id.

        The same content uploaded again costs nothing: the id is known from the bytes alone.
        """
        options = f"dataset={dataset};band_axis={band_axis}"
        cube_id = content_id(files, options)
        if cube_id in self:
            self._touch(self._folder(cube_id))
            return cube_id
        staging = self.root / "tmp" / f"upload-{uuid.uuid4().hex}"
        try:
            paths = stage_files(files, staging, self.limits)
            path = main_file(paths)
            source = {"files": [p.name for p in paths], "dataset": dataset, "band_axis": band_axis}
            # Parsers of untrusted files run in a child process: a crash or a memory bomb stays there.
            run_isolated(_convert, str(self.root), self.max_bytes, self.limits, str(path), cube_id, dataset,
                         band_axis, source, memory_limit=self._child_memory(), what=f"'{path.name}'")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return cube_id

    def _child_memory(self) -> int:
        """Address space for a conversion: the largest cube twice over, plus room for the readers."""
        return max(4 * 2**30, 2 * self.limits.max_bytes + 2 * 2**30)

    def list_upload(self, files: Sequence[tuple[str, bytes]]) -> list[ArrayInfo]:
        """The arrays an uploaded container (.npz, .mat, HDF5) holds, so the user can choose."""
        staging = self.root / "tmp" / f"inspect-{uuid.uuid4().hex}"
        try:
            path = main_file(stage_files(files, staging, self.limits))
            return run_isolated(list_arrays, str(path), memory_limit=self._child_memory(), what=f"'{path.name}'")
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # -------------------------------------------------------------- reading
    def open(self, cube_id: str, verify: bool = True) -> Cube:
        """The stored cube, memory-mapped read-only.

        Raises
        ------
        CubeError
            If the id is malformed or unknown (never stored, or evicted), or the stored copy
            fails its integrity check (then it is removed so it can be stored again).
        """
        folder = self._folder(cube_id)
        meta_path = folder / "meta.json"
        if not meta_path.is_file():
            raise CubeError(
                "This cube is not on the server (the link may be old and the cube evicted, or the "
                "id mistyped). Upload the file again, or open the demo cube."
            )
        try:
            meta = json.loads(meta_path.read_text())
            data = np.load(folder / "data.npy", mmap_mode="r", allow_pickle=False)
            if list(data.shape) != meta["shape"] or str(data.dtype) != meta["dtype"]:
                raise ValueError("shape or type differs from meta.json")
            if verify and _digest(data) != meta["sha256"]:
                raise ValueError("checksum mismatch")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise CubeError(
                "The stored copy of this cube was damaged and has been removed; upload the file "
                f"again. ({exc})"
            ) from exc
        self._touch(folder)
        return Cube(
            data,
            name=meta["name"],
            wavelengths=meta.get("wavelengths"),
            wavelength_units=meta.get("wavelength_units"),
            fwhm=meta.get("fwhm"),
            bad_bands=meta.get("bad_bands"),
            nodata=meta.get("nodata"),
            default_bands=tuple(meta["default_bands"]) if meta.get("default_bands") else None,
            metadata=meta.get("metadata", {}),
        )

    # -------------------------------------------------------------- housekeeping
    def _touch(self, folder: Path) -> None:
        try:
            os.utime(folder / "meta.json")
        except OSError:
            pass

    def size(self) -> int:
        """Bytes held by stored cubes."""
        return sum(f.stat().st_size for f in (self.root / "objects").glob("*/*") if f.is_file())

    def evict(self, keep: str | None = None) -> list[str]:
        """Remove least recently used cubes until the store fits ``max_bytes``; clear stale
        temporary folders. Returns the evicted ids."""
        now = time.time()
        for temp in (self.root / "tmp").iterdir():
            try:
                if now - temp.stat().st_mtime > _STALE_TEMP_SECONDS:
                    shutil.rmtree(temp, ignore_errors=True)
            except OSError:
                pass
        entries = []
        for folder in (self.root / "objects").iterdir():
            try:
                used = (folder / "meta.json").stat().st_mtime
                size = sum(f.stat().st_size for f in folder.iterdir())
            except OSError:
                continue
            entries.append((used, folder.name, size))
        total = sum(size for _, _, size in entries)
        evicted = []
        for _, cube_id, size in sorted(entries):
            if total <= self.max_bytes:
                break
            if cube_id == keep:
                continue
            shutil.rmtree(self.root / "objects" / cube_id, ignore_errors=True)
            total -= size
            evicted.append(cube_id)
        return evicted


def _convert(root: str, max_bytes: int, limits: Limits, path: str, cube_id: str, dataset: str | None,
             band_axis: int | None, source: dict[str, Any]) -> None:
    """In the child process: read an uploaded file and store its canonical copy."""
    store = CubeStore(root, max_bytes=max_bytes, limits=limits)
    store.put(load_cube(path, dataset=dataset, band_axis=band_axis, limits=limits), cube_id, source)


def _digest(data: np.ndarray) -> str:
    digest = hashlib.sha256()
    step = max(1, (64 * 2**20) // max(data[0].nbytes, 1))
    for start in range(0, data.shape[0], step):
        digest.update(np.ascontiguousarray(data[start:start + step]).tobytes())
    return digest.hexdigest()


def _meta(cube: Cube, sha256: str, source: dict[str, Any] | None) -> dict[str, Any]:
    def listed(values: Any) -> Any:
        return None if values is None else np.asarray(values).tolist()

    return {
        "format_version": _FORMAT_VERSION,
        "name": cube.name,
        "shape": list(cube.bsq.shape),
        "dtype": str(cube.dtype.newbyteorder("=")),
        "sha256": sha256,
        "wavelengths": listed(cube.wavelengths),
        "wavelength_units": cube.wavelength_units,
        "fwhm": listed(cube.fwhm),
        "bad_bands": listed(cube.bad_bands),
        "nodata": cube.nodata,
        "default_bands": list(cube.default_bands) if cube.default_bands else None,
        "metadata": cube.metadata,
        "source": source or {},
    }


def _fsync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
