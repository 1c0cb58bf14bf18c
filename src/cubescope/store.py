"""The cube store: every cube the app shows, in one canonical, memory-mappable form.

A cube is kept under its content id (128 bits of BLAKE3, hex) as a folder holding
``data.npy`` (band-sequential ``(bands, rows, cols)``, native byte order, memory-mapped on
open) and ``meta.json`` (wavelengths, no-data value, metadata, sizes and checksums: one
BLAKE3 digest per band image, so a cube can be written in any chunk order and each band is
verified the first time a process reads it, see :class:`BandCheck`).

Writing streams over chunks: band by band from a band-sequential source, row by row from a
band- or pixel-interleaved one (a memory-mapped view, see ``load_cube(lazy=True)``), so
converting a file larger than memory needs memory for one chunk only.

Writes go to a private temporary folder that is renamed into place in one step, so a reader
never sees half a cube; a crash leaves only a temporary folder, cleaned later. The store
has a size limit and evicts the least recently opened cubes beyond it. It never lists its
contents to users: a cube is reached by its id only.

Several app servers share cubes through a shared store, any fsspec URL
(``s3://bucket/cubescope``): each server keeps its own local, memory-mapped copies and
publishes what it stores there (``data.npy`` first, ``meta.json`` last, so an entry without
``meta.json`` is never used); a server asked for a cube it does not hold fetches it from there
and checks every band's checksum before using it. The shared store is never evicted by the app
(give the bucket a lifecycle rule).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import os
import re
import shutil
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import blake3
import numpy as np

from cubescope.badbands import encode_runs
from cubescope.cube import Cube, band_indices, physical_memory
from cubescope.errors import CubeError
from cubescope.geo import Georef
from cubescope.io import ArrayInfo, headers, list_arrays, load_cube, main_file
from cubescope.io.axes import cube_from_bare_array
from cubescope.io.envi import describe_envi
from cubescope.io.isolated import run_isolated
from cubescope.io.limits import Limits
from cubescope.io.upload import Content, content_id, stage_files

CUBE_ID = re.compile(r"^[0-9a-f]{32}$")
_FORMAT_VERSION = 3
#: Formats this server reads: 2 kept SHA-256 band digests, 3 keeps BLAKE3 ones.
_READABLE_VERSIONS = {2: "sha256", 3: "blake3"}
_STALE_TEMP_SECONDS = 6 * 3600
#: Bytes of samples moved per step when writing; bounds the memory a conversion needs.
_WRITE_CHUNK = 64 * 2**20
#: A swath's longitude/latitude arrays, (2, rows, cols) float64, beside data.npy.
_LONLAT = "lonlat.npy"

Progress = Callable[[float], None]
#: Told the place in the queue while other conversions run (see :class:`cubescope.io.isolated.Turns`).
Waiting = Callable[[int], None]

DISK_FULL = ("The cube store's disk is full: the cube could not be stored, and nothing of it was kept. Try again "
             "later, or ask the server's administrator to free space on the store's disk (or to lower "
             "CUBESCOPE_STORE_MAX_BYTES below the disk's size, so older cubes are evicted first).")
_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


@contextlib.contextmanager
def _naming_full_disk() -> Iterator[None]:
    """Turn "no space left on device" (or over quota) into :data:`DISK_FULL`."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _FULL_ERRNOS:
            raise CubeError(DISK_FULL) from exc
        raise


def configured_root() -> Path:
    """The store folder a server uses: ``CUBESCOPE_STORE``, default ``~/.cache/cubescope/store``."""
    return Path(os.environ.get("CUBESCOPE_STORE") or Path.home() / ".cache" / "cubescope" / "store")


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
    shared : str, optional
        fsspec URL of a store shared by several servers (credentials from the environment).
    """

    def __init__(self, root: str | os.PathLike[str], max_bytes: int = 20 * 2**30,
                 limits: Limits | None = None, shared: str | None = None, workspace: str | None = None) -> None:
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.limits = limits or Limits()
        self.shared = shared.rstrip("/") if shared else None
        (self.root / "objects").mkdir(parents=True, exist_ok=True)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        # Where this store object writes before renaming into place; a conversion child is given
        # a folder of its own, which its parent removes whatever becomes of the child.
        self.workspace = Path(workspace) if workspace else self.root / "tmp"
        if workspace is None:
            self.clean_temporary()

    # -------------------------------------------------------------- paths
    def _temp(self, kind: str) -> Path:
        """A new temporary path named with this process's id, so that what a dead process
        left can be told from what a live one is writing."""
        return self.workspace / f"{kind}-{os.getpid()}-{uuid.uuid4().hex}"

    def _folder(self, cube_id: str) -> Path:
        if not valid_id(cube_id):
            raise CubeError("That cube id is not valid (it must be 32 hexadecimal digits).")
        return self.root / "objects" / cube_id

    def __contains__(self, cube_id: object) -> bool:
        if not valid_id(cube_id):
            return False
        if (self._folder(str(cube_id)) / "meta.json").is_file():
            return True
        return self.shared is not None and self._shared_fs().exists(self._shared_path(str(cube_id), "meta.json"))

    # -------------------------------------------------------------- writing
    def put(self, cube: Cube, cube_id: str, source: dict[str, Any] | None = None,
            progress: Progress | None = None) -> str:
        """Store ``cube`` under ``cube_id`` unless it is there already; return the id.

        The samples are copied in chunks of about 64 MB into native byte order: by bands when
        ``cube.bsq`` is band-sequential in memory, else by rows (each row chunk of an
        interleaved file is one contiguous read). ``progress`` is called with the fraction done.
        """
        final = self._folder(cube_id)
        if (final / "meta.json").is_file():
            self._touch(final)
            self.publish(cube_id)
            return cube_id
        temp = self._temp("entry")
        try:
            with _naming_full_disk():
                _write_entry(cube, temp, final, source, progress)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        self.publish(cube_id)
        self.evict(keep=cube_id)
        return cube_id

    def put_files(self, files: Sequence[tuple[str, Content]], *, dataset: str | None = None,
                  band_axis: int | None = None, progress: Progress | None = None,
                  waiting: Waiting | None = None) -> str:
        """Store uploaded files (an ENVI pair, a zip, or one cube file); return the cube id.

        The same content uploaded again costs nothing: the id is known from the bytes alone.
        The conversion waits its turn (``waiting`` is told the place in the queue).

        Raises
        ------
        SeveralCubes
            When the files hold several cubes and ``dataset`` names none (its ``choices`` do).
        CubeError
            Naming what is wrong with the files, or :data:`DISK_FULL`.
        """
        options = f"dataset={dataset};band_axis={band_axis}"
        cube_id = content_id(files, options)
        if cube_id in self:
            self._touch(self._folder(cube_id))
            return cube_id
        staging = self._temp("upload")
        try:
            with _naming_full_disk():
                paths = stage_files(files, staging, self.limits)
            source = {"files": [p.name for p in paths], "dataset": dataset, "band_axis": band_axis}
            path = main_file(paths, dataset)
            if path.suffix.lower() == ".hdr":
                dataset = None  # it named the header; an ENVI file holds one cube
            self._convert_isolated(path, cube_id, dataset, band_axis, source, progress, waiting)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return cube_id

    def put_path(self, path: Path, cube_id: str, *, dataset: str | None = None, band_axis: int | None = None,
                 source: dict[str, Any] | None = None, progress: Progress | None = None,
                 waiting: Waiting | None = None) -> str:
        """Store a file the server holds (see :mod:`cubescope.sources`), read in place and
        converted chunk by chunk; the caller names it (``cube_id``)."""
        if cube_id not in self:
            self._convert_isolated(Path(path), cube_id, dataset, band_axis, source or {}, progress, waiting)
        return cube_id

    def put_url(self, url: str, *, dataset: str | None = None, band_axis: int | None = None,
                progress: Progress | None = None, waiting: Waiting | None = None) -> str:
        """Store the object at an fsspec URL (checked by the caller with
        :func:`cubescope.sources.check_url`): copied to local disk, then converted. The first
        half of ``progress`` is the copy, the second the conversion."""
        from cubescope import sources

        remote = sources.locate(url)
        cube_id = remote.source_id(f"dataset={dataset};band_axis={band_axis}")
        if cube_id in self:
            return cube_id
        staging = self._temp("fetch")
        try:
            with _naming_full_disk():
                path = remote.fetch(staging, self.limits, progress and (lambda f: progress(f / 2)))
            source = {"url": url, "dataset": dataset, "band_axis": band_axis}
            self._convert_isolated(path, cube_id, dataset, band_axis, source,
                                   progress and (lambda f: progress(0.5 + f / 2)), waiting)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return cube_id

    def _convert_isolated(self, path: Path, cube_id: str, dataset: str | None, band_axis: int | None,
                          source: dict[str, Any], progress: Progress | None, waiting: Waiting | None) -> None:
        # Parsers of untrusted files run in a child process: a crash or a memory bomb stays there.
        # The child writes in a folder of its own, removed here however the child ends.
        workspace = self._temp("convert")
        try:
            with _naming_full_disk():
                workspace.mkdir()
            run_isolated(_convert, str(self.root), str(workspace), self.max_bytes, self.limits, str(path),
                         cube_id, dataset, band_axis, source, memory_limit=self._child_memory(),
                         what=f"'{path.name}'", progress=progress, waiting=waiting,
                         explain_crash=self._crash_reason)
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        self.publish(cube_id)

    def _crash_reason(self, exitcode: int | None) -> str | None:
        """Why a conversion child died, when it can be told: a SIGBUS while the store's disk is
        (nearly) full is a write through a memory map that found no free block."""
        if exitcode != -signal.SIGBUS:
            return None
        try:
            usage = shutil.disk_usage(self.root)
        except OSError:
            return None
        return DISK_FULL if usage.free < max(_WRITE_CHUNK, usage.total // 100) else None

    def _child_memory(self) -> int:
        """Private memory for a conversion: the largest cube plus room for the readers (formats
        read whole need it), but never more than half the machine's memory."""
        return min(self.limits.max_bytes + 2 * 2**30, max(2 * 2**30, physical_memory() // 2))

    def relayout(self, cube_id: str, band_axis: int) -> str:
        """Store a cube read from a bare array again with its bands on another axis of that
        array; return the new cube's id.

        Works from the stored samples alone (no upload needed): the array as the file held it is
        the stored cube with its band axis moved back to where it was read from.

        Raises
        ------
        CubeError
            If the cube came from a format that states its layout (ENVI, TIFF with band axes...).
        """
        if band_axis not in (0, 1, 2):
            raise CubeError(f"The band axis must be 0, 1 or 2, not {band_axis}.")
        cube = self.open(cube_id)
        used = cube.metadata.get("band axis index")
        if used not in (0, 1, 2):
            raise CubeError("This cube's file states which axis holds the bands; it cannot be laid out again.")
        new_id = hashlib.sha256(f"{cube_id};band_axis={band_axis}".encode()).hexdigest()[:32]
        if new_id in self:
            return new_id
        original = np.moveaxis(cube.bsq, 0, int(used))
        metadata = {k: v for k, v in cube.metadata.items() if k not in ("band axis", "band axis index")}
        relaid = cube_from_bare_array(
            original, name=cube.name, band_axis=band_axis, default_axis=int(used), wavelengths=cube.wavelengths,
            wavelength_units=cube.wavelength_units, metadata=metadata, nodata=cube.nodata, limits=self.limits)
        # What the file said of the bands (widths, bad bands) holds where its wavelengths still
        # do: the new band axis has as many bands. The quantity holds for every layout.
        same_bands = relaid.wavelengths is not None and relaid.n_bands == cube.n_bands
        described = {**relaid.to_meta(), "quantity": cube.quantity}
        if same_bands:
            before = cube.to_meta()
            described.update(fwhm=before["fwhm"], bad_bands=before["bad_bands"])
        return self.put(Cube.from_meta(relaid.bsq, described), new_id, {"relaid from": cube_id, "band_axis": band_axis})

    def subset(self, parent: Cube, cube_id: str, rows: slice = slice(None), cols: slice = slice(None),
               bands: Any = None) -> str:
        """Store a window and a choice of bands of a cube as a cube of its own; return its id.

        The id covers the parent's id, the subset's bounds and the parent's bad-band list (it
        may be edited), so the same cut of the same cube is one entry, and another cut another.
        The new cube names its parent (its name and id) and the bounds in its metadata; see
        :meth:`Cube.subset` for what moves with the window and the bands.

        Parameters
        ----------
        parent : Cube
            The cube cut from (stored, or one the server makes such as the demo cube).
        cube_id : str
            Its id.
        rows, cols : slice
            The window, end-exclusive, step 1.
        bands : sequence of int or bool mask, optional
            The bands kept (default all).
        """
        part = parent.subset(rows, cols, bands)
        index = band_indices(bands, parent.n_bands)
        r0, r1, _ = rows.indices(parent.rows)
        c0, c1, _ = cols.indices(parent.cols)
        bounds = (f"{cube_id};subset={r0}:{r1},{c0}:{c1};bands={','.join(map(str, index.tolist()))}"
                  f";bad={encode_runs(~parent.good_bands)}")
        new_id = hashlib.sha256(bounds.encode()).hexdigest()[:32]
        if new_id in self:
            return new_id
        described = part.to_meta()
        described["metadata"] = {**described["metadata"], "subset of cube id": cube_id}
        return self.put(Cube.from_meta(part.bsq, described, geo=part.geo), new_id,
                        {"subset of": cube_id, "rows": [r0, r1], "cols": [c0, c1], "bands": index.tolist()})

    def list_upload(self, files: Sequence[tuple[str, Content]], waiting: Waiting | None = None) -> list[ArrayInfo]:
        """The arrays an uploaded container (.npz, .mat, HDF5) holds, so the user can choose."""
        staging = self._temp("inspect")
        try:
            with _naming_full_disk():
                paths = stage_files(files, staging, self.limits)
            found = headers(paths)
            if len(found) > 1:
                # Several ENVI cubes at once (a folder, a zip of a session): the user chooses one.
                return [run_isolated(describe_envi, str(h), self.limits, memory_limit=self._child_memory(),
                                     what=f"'{h.name}'", waiting=waiting) for h in found]
            path = main_file(paths)
            return run_isolated(list_arrays, str(path), memory_limit=self._child_memory(), what=f"'{path.name}'",
                                waiting=waiting)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # -------------------------------------------------------------- reading
    def open(self, cube_id: str, verify: bool = True) -> Cube:
        """The stored cube, memory-mapped read-only. With ``verify`` (the default) every band is
        checked against its digest the first time this process reads it, and again after the
        file changes on disk (see :class:`BandCheck`).

        Raises
        ------
        CubeError
            If the id is malformed or unknown (never stored, or evicted), or the stored copy
            fails its integrity check (then it is removed so it can be stored again).
        """
        folder = self._folder(cube_id)
        meta_path = folder / "meta.json"
        if not meta_path.is_file() and self.shared is not None:
            self._fetch_shared(cube_id)
        if not meta_path.is_file():
            # Removed because it was damaged (found by any reader in this process): say so again.
            raise CubeError(_REMOVED_DAMAGED.get(str(folder)) or (
                "This cube is not on the server (the link may be old and the cube evicted, or the "
                "id mistyped). Upload the file again, or open the demo cube."
            ))
        _REMOVED_DAMAGED.pop(str(folder), None)
        try:
            meta, data = _read_entry(folder, verify=False)
            geo = _read_geo(folder, meta, data.shape[1], data.shape[2])
        except (OSError, ValueError, KeyError, TypeError, CubeError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise CubeError(
                "The stored copy of this cube was damaged and has been removed; upload the file "
                f"again. ({exc})"
            ) from exc
        self._touch(folder)
        return Cube.from_meta(data, meta, geo=geo, check=BandCheck(folder, meta, verify=verify))

    # -------------------------------------------------------------- the shared store
    @cached_property
    def _shared_target(self) -> tuple[Any, str]:
        """The shared store's fsspec filesystem and its root path there."""
        import fsspec

        fs, base = fsspec.core.url_to_fs(self.shared)
        return fs, base.rstrip("/")

    def _shared_fs(self):
        return self._shared_target[0]

    def _shared_path(self, cube_id: str, name: str) -> str:
        return f"{self._shared_target[1]}/objects/{cube_id}/{name}"

    def publish(self, cube_id: str) -> None:
        """Copy a locally stored cube to the shared store (no-op without one, or when it is
        there already): data first, ``meta.json`` last."""
        if self.shared is None:
            return
        fs = self._shared_fs()
        if fs.exists(self._shared_path(cube_id, "meta.json")):
            return
        folder = self._folder(cube_id)
        try:
            fs.makedirs(self._shared_path(cube_id, ""), exist_ok=True)
            fs.put_file(str(folder / "data.npy"), self._shared_path(cube_id, "data.npy"))
            if (folder / _LONLAT).is_file():
                fs.put_file(str(folder / _LONLAT), self._shared_path(cube_id, _LONLAT))
            fs.put_file(str(folder / "meta.json"), self._shared_path(cube_id, "meta.json"))
        except OSError as exc:
            raise CubeError(
                f"The cube was stored here but could not be shared with the other servers ({exc})."
            ) from exc

    def _fetch_shared(self, cube_id: str) -> None:
        """Bring a cube from the shared store into the local one, checked band by band."""
        fs = self._shared_fs()
        if not fs.exists(self._shared_path(cube_id, "meta.json")):
            return
        temp = self._temp("entry")
        temp.mkdir(parents=True)
        try:
            fs.get_file(self._shared_path(cube_id, "meta.json"), str(temp / "meta.json"))
            fs.get_file(self._shared_path(cube_id, "data.npy"), str(temp / "data.npy"))
            if fs.exists(self._shared_path(cube_id, _LONLAT)):
                fs.get_file(self._shared_path(cube_id, _LONLAT), str(temp / _LONLAT))
            _read_entry(temp, verify=True)  # the map it opens is closed on return
            _fsync_folder(temp)
            try:
                os.rename(temp, self._folder(cube_id))
            except OSError:
                if not (self._folder(cube_id) / "meta.json").is_file():
                    raise
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, OSError) and exc.errno in _FULL_ERRNOS:
                raise CubeError(DISK_FULL) from exc
            raise CubeError(
                "The shared copy of this cube could not be used (damaged or incomplete); upload the file "
                f"again. ({exc})"
            ) from exc
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        self.evict(keep=cube_id)

    # -------------------------------------------------------------- housekeeping
    def _touch(self, folder: Path) -> None:
        try:
            os.utime(folder / "meta.json")
        except OSError:
            pass

    def size(self) -> int:
        """Bytes held by stored cubes."""
        return sum(f.stat().st_size for f in (self.root / "objects").glob("*/*") if f.is_file())

    def clean_temporary(self) -> list[str]:
        """Remove what conversions left in ``tmp/``: everything of a process that is no longer
        running (a server killed mid-conversion, a crashed child), and anything older than 6
        hours. Called when a store is opened and before eviction. Returns the names removed."""
        removed = []
        now = time.time()
        for temp in (self.root / "tmp").iterdir():
            try:
                if not _owner_alive(temp.name) or now - temp.stat().st_mtime > _STALE_TEMP_SECONDS:
                    shutil.rmtree(temp, ignore_errors=True) if temp.is_dir() else temp.unlink()
                    removed.append(temp.name)
            except OSError:
                pass
        return removed

    def evict(self, keep: str | None = None) -> list[str]:
        """Remove least recently used cubes until the store fits ``max_bytes``; clear stale
        temporary folders. Returns the evicted ids.

        A cube open in any process (see :class:`BandCheck`'s lease) is never removed, and its
        bytes still count: the store may then stay above ``max_bytes`` until it is closed."""
        self.clean_temporary()
        entries = []
        for folder in (self.root / "objects").iterdir():
            try:
                used = (folder / "meta.json").stat().st_mtime
                size = sum(f.stat().st_size for f in folder.iterdir())
            except OSError:
                continue
            entries.append((used, folder.name, size))
        total = sum(size for _, _, size in entries)  # cubes in use count, and are never removed
        evicted = []
        for _, cube_id, size in sorted(entries):
            if total <= self.max_bytes:
                break
            if cube_id == keep:
                continue
            folder = self.root / "objects" / cube_id
            try:
                with open(folder / "meta.json", "rb") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails while any process has it open
                    shutil.rmtree(folder, ignore_errors=True)
            except OSError:  # BlockingIOError: in use; FileNotFoundError: gone already
                continue
            total -= size
            evicted.append(cube_id)
        return evicted


def _owner_alive(name: str) -> bool:
    """Whether the process named in a temporary entry (``kind-pid-hex``) still runs; True for
    names of another form (left to the age rule)."""
    parts = name.split("-")
    if len(parts) != 3 or not parts[1].isdigit():
        return True
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, owned by someone else
    return True


def _convert(root: str, workspace: str, max_bytes: int, limits: Limits, path: str, cube_id: str,
             dataset: str | None, band_axis: int | None, source: dict[str, Any],
             progress: Progress | None = None) -> None:
    """In the child process: read a file (memory-mapped where the format allows) and store its
    canonical copy, chunk by chunk, writing in ``workspace`` before renaming into place."""
    store = CubeStore(root, max_bytes=max_bytes, limits=limits, workspace=workspace)
    cube = load_cube(path, dataset=dataset, band_axis=band_axis, limits=limits, lazy=True)
    store.put(cube, cube_id, source, progress=progress)


def _write_entry(cube: Cube, temp: Path, final: Path, source: dict[str, Any] | None,
                 progress: Progress | None) -> None:
    """Write a cube's entry in ``temp``, then rename it to ``final`` in one step."""
    temp.mkdir(parents=True)
    band_digests = _write_samples(cube.bsq, temp / "data.npy", progress)
    meta = _meta(cube, band_digests, source)
    if cube.geo is not None and cube.geo.lonlat_arrays is not None:
        meta["geo"]["lonlat_blake3"] = _write_lonlat(cube.geo.lonlat_arrays, temp / _LONLAT)
    (temp / "meta.json").write_text(json.dumps(meta, default=str))
    _fsync_folder(temp)
    try:
        os.rename(temp, final)
    except OSError:
        # Someone stored the same content first: theirs is identical, keep it.
        if not (final / "meta.json").is_file():
            raise


def _read_entry(folder: Path, verify: bool) -> tuple[dict[str, Any], np.ndarray]:
    """A store entry's meta and memory-mapped samples, after checking that they belong together
    (format, shape, type) and, with ``verify``, the band checksums (see :func:`check_samples`).
    Raises OSError, ValueError, KeyError or TypeError for anything amiss."""
    meta = json.loads((folder / "meta.json").read_text())
    data = np.load(folder / "data.npy", mmap_mode="r", allow_pickle=False)
    if meta.get("format_version") not in _READABLE_VERSIONS:
        raise ValueError(f"stored in format {meta.get('format_version')}, this server reads "
                         f"{', '.join(map(str, _READABLE_VERSIONS))}")
    if list(data.shape) != meta["shape"] or str(data.dtype) != meta["dtype"]:
        raise ValueError("shape or type differs from meta.json")
    if len(_digests(meta)[1]) != data.shape[0]:
        raise ValueError("the checksum list does not match the bands")
    if verify:
        check_samples(data, meta)
        _read_geo(folder, meta, data.shape[1], data.shape[2])
    return meta, data


def _write_lonlat(arrays: np.ndarray, path: Path) -> str:
    """Keep a swath's lon/lat arrays beside the samples; return their BLAKE3 digest."""
    np.save(path, np.ascontiguousarray(arrays, dtype="<f8"), allow_pickle=False)
    return blake3.blake3(path.read_bytes()).hexdigest()


def _read_geo(folder: Path, meta: dict[str, Any], rows: int, cols: int) -> Georef | None:
    """The stored georeferencing; a swath's lon/lat arrays are checked against their digest
    before any coordinate is served (ValueError when they differ)."""
    described = meta.get("geo")
    if not described:
        return None
    lonlat = None
    if described.get("kind") == "swath":
        raw = (folder / _LONLAT).read_bytes()
        if blake3.blake3(raw).hexdigest() != described.get("lonlat_blake3"):
            raise ValueError("the longitude/latitude arrays differ from their checksum")
        lonlat = np.load(io.BytesIO(raw), allow_pickle=False)
    return Georef.from_meta(described, rows, cols, lonlat)


def _digests(meta: dict[str, Any]) -> tuple[str, list[str]]:
    """A stored entry's band-digest algorithm and digests."""
    algorithm = _READABLE_VERSIONS[meta["format_version"]]
    return algorithm, meta["band_sha256"] if algorithm == "sha256" else meta["band_blake3"]


def _write_samples(samples: np.ndarray, path: Path, progress: Progress | None) -> list[str]:
    """Write ``(bands, rows, cols)`` samples to a native-order ``.npy`` in bounded chunks;
    return the BLAKE3 digest of each band image as written."""
    bands, rows = samples.shape[:2]
    dtype = samples.dtype.newbyteorder("=")
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=samples.shape)
    _reserve(path)
    digests = [blake3.blake3() for _ in range(bands)]
    # A band-sequential source is read a few bands at a time; an interleaved one (a strided
    # view) a few rows at a time, each one contiguous read. Either way every band image gets
    # its rows in order, so the per-band digests do not depend on the order. The samples go
    # straight into the output (no block in between) and are hashed from there.
    by_bands = samples.flags.c_contiguous
    length = bands if by_bands else rows
    step = max(1, _WRITE_CHUNK // (samples.nbytes // length or 1))
    for start in range(0, length, step):
        stop = min(start + step, length)
        if by_bands:
            out[start:stop] = samples[start:stop]
            written, first = out[start:stop], start
        else:
            _copy_rows(samples, out, start, stop)
            written, first = out[:, start:stop], 0
        for band, image in enumerate(written, first):
            digests[band].update(memoryview(image).cast("B"))
        if progress:
            progress(stop / length)
    out.flush()
    del out
    return [d.hexdigest() for d in digests]


#: Pixels transposed per step from a pixel-interleaved source: a block of them with all their
#: bands stays in the CPU's cache while it is spread over the bands, three times faster than
#: numpy's element-by-element walk of the whole chunk (2.6 GB/s against 0.8 for 224 bands).
_TRANSPOSE_PIXELS = 512
#: Fewer bands than this are copied in one walk: their pixels share cache lines anyway, and
#: the blocks' Python loop would cost more than it saves (3x slower for 2 bands).
_TRANSPOSE_MIN_BANDS = 8


def _copy_rows(samples: np.ndarray, out: np.ndarray, start: int, stop: int) -> None:
    """Copy rows ``start`` to ``stop - 1`` of every band of ``samples`` into ``out``."""
    pixels = np.moveaxis(samples, 0, 2)  # (rows, cols, bands): contiguous when the file is BIP
    if not pixels.flags.c_contiguous or samples.shape[0] < _TRANSPOSE_MIN_BANDS:
        out[:, start:stop] = samples[:, start:stop]
        return
    cols = samples.shape[2]
    for row in range(start, stop):
        for col in range(0, cols, _TRANSPOSE_PIXELS):
            end = min(col + _TRANSPOSE_PIXELS, cols)
            np.copyto(out[:, row, col:end], pixels[row, col:end].T)


def _reserve(path: Path) -> None:
    """Give a new (sparse) file all its disk blocks now, so that a full disk is an ``ENOSPC``
    here rather than a SIGBUS on a write through the memory map later."""
    with open(path, "r+b") as handle:
        try:
            os.posix_fallocate(handle.fileno(), 0, os.fstat(handle.fileno()).st_size)
        except OSError as exc:
            if exc.errno in _FULL_ERRNOS:
                raise
            # EOPNOTSUPP, EINVAL: a file system without it; a full disk then ends in SIGBUS,
            # which the store names as well (see CubeStore._crash_reason).


def band_digest(image: np.ndarray, algorithm: str = "blake3") -> str:
    """Digest of one band image's bytes, row-major: BLAKE3 (or SHA-256 for older entries)."""
    data = memoryview(np.ascontiguousarray(image)).cast("B")
    if algorithm == "sha256":
        return hashlib.sha256(data).hexdigest()
    return blake3.blake3(data, max_threads=blake3.blake3.AUTO).hexdigest()


def check_samples(data: np.ndarray, meta: dict[str, Any]) -> None:
    """Compare every stored band image with its digest; raise ValueError on a mismatch."""
    algorithm, digests = _digests(meta)
    for b in range(data.shape[0]):
        if band_digest(data[b], algorithm) != digests[b]:
            raise ValueError(f"checksum mismatch in band {b}")


class BandCheck:
    """Checks each band of a stored cube against its digest the first time this process reads
    it, and again after the file changes on disk (its size, inode or modification time).

    BLAKE3 makes this cheap next to the read it guards: 5 GB/s on one core here, 11 GB/s on
    two, against 1.5 GB/s for SHA-256 and 0.5 GB/s for copying the same bytes out of the page
    cache. It is a cryptographic hash, so a digest also holds against a deliberately changed
    copy (a shared store in a bucket), which xxHash, faster still, does not.

    On a mismatch the entry is removed (so an upload or the shared store can replace it) and
    :class:`~cubescope.errors.CubeError` is raised; the cube stays unusable (``failed``).
    """

    def __init__(self, folder: Path, meta: dict[str, Any], verify: bool = True) -> None:
        self.folder = folder
        self.algorithm, self.digests = _digests(meta)
        self.verified = np.full(len(self.digests), not verify)
        self.verify = verify
        # A shared lock on the entry for as long as the cube is open in this process: eviction
        # (in any process) skips entries it cannot lock exclusively. The lock goes with the file
        # object when the cube is garbage-collected, or with the process.
        self.lease = open(folder / "meta.json", "rb")
        fcntl.flock(self.lease, fcntl.LOCK_SH)
        self.failed = False
        self._signature = self._stat()
        self._lock = threading.Lock()

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.folder / "data.npy")
        except OSError:
            return None
        return info.st_size, info.st_ino, info.st_mtime_ns

    def __call__(self, data: np.ndarray, start: int, stop: int) -> None:
        """Verify bands ``start`` to ``stop - 1`` of ``data`` (the entry's mapped samples)."""
        with self._lock:
            if self.failed:
                raise CubeError(_DAMAGED)
            signature = self._stat()
            if signature != self._signature:
                self.verified[:] = not self.verify
                self._signature = signature
            for band in np.flatnonzero(~self.verified[start:stop]) + start:
                if band_digest(data[band], self.algorithm) != self.digests[band]:
                    self.failed = True
                    shutil.rmtree(self.folder, ignore_errors=True)
                    message = _DAMAGED + f" (band {band} differs from its checksum)."
                    _REMOVED_DAMAGED[str(self.folder)] = message
                    while len(_REMOVED_DAMAGED) > 256:
                        del _REMOVED_DAMAGED[next(iter(_REMOVED_DAMAGED))]
                    raise CubeError(message)
                self.verified[band] = True


_DAMAGED = ("The stored copy of this cube was changed or damaged on disk and has been removed; nothing from "
            "it is shown. Upload the file again (or reopen the link: another server may still hold it)")
#: Why entries were removed as damaged, by folder, so that opening one again says why it is gone
#: (whichever reader, a page or a background job, found the damage first).
_REMOVED_DAMAGED: dict[str, str] = {}


def _meta(cube: Cube, band_digests: list[str], source: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "format_version": _FORMAT_VERSION,
        **cube.to_meta(),
        "shape": list(cube.bsq.shape),
        "dtype": str(cube.dtype.newbyteorder("=")),
        "band_blake3": band_digests,
        "geo": None if cube.geo is None else cube.geo.to_meta(),
        "source": source or {},
    }


def _fsync_folder(folder: Path) -> None:
    for path in folder.iterdir():
        with open(path, "rb") as handle:
            os.fsync(handle.fileno())
