"""Cubes a server opens without an upload: files under its data folder, and object-store URLs.

A deployment points ``CUBESCOPE_DATA_ROOT`` at a folder of cubes (a flight-line archive, a lab
share); users pick files inside it by relative path and nothing outside it can be reached, not
even through ``..`` or a symbolic link. Object-store URLs (``s3://bucket/line.hdr``) are read
through fsspec, with credentials from the environment (``AWS_ACCESS_KEY_ID``, an instance role,
``~/.aws``), never from the URL; only URLs under prefixes the deployment allows
(``CUBESCOPE_REMOTE_PREFIXES``) are opened, so a user cannot make the server read whatever its
credentials reach.

Neither kind is hashed for its id (that would read a 30 GB file just to name it): the id is
the SHA-256 of where the file is and what its storage says of its version (size and
modification time, or the object's ETag), so a link keeps naming the same data.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from cubescope.errors import CubeError
from cubescope.io.envi import DATA_SUFFIXES, find_data_file
from cubescope.io.limits import Limits, human_bytes

#: Files listed in the data folder (ENVI data files are reached through their headers; EnMAP
#: and DESIS products through their ``…METADATA.XML``, listed apart from other XML files).
CUBE_SUFFIXES = (".hdr", ".lan", ".npy", ".npz", ".mat", ".tif", ".tiff", ".h5", ".hdf5", ".he5", ".nc", ".nc4",
                 ".zip")
_LIST_LIMIT = 5000
_COPY_CHUNK = 16 * 2**20
_URL_TEXT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+.-]*://[^\s\x00-\x1f\x7f]+$")

Progress = Callable[[float], None]


def _id(*parts: object) -> str:
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:32]


# ------------------------------------------------------------------ the server's data folder

def resolve_in_folder(root: str | os.PathLike[str], relative: object) -> Path:
    """The file ``relative`` names inside ``root``, after following any links.

    Raises
    ------
    CubeError
        If the name is empty or malformed, leads outside ``root``, or names no file.
    """
    if not isinstance(relative, str) or not relative.strip() or "\0" in relative or len(relative) > 4096:
        raise CubeError("Give the file's path relative to the data folder, e.g. 'flights/line_01.hdr'.")
    base = Path(root).resolve(strict=True)
    candidate = (base / relative.strip().lstrip("/")).resolve()
    if not candidate.is_relative_to(base):
        raise CubeError("That path leads outside the server's data folder; only files inside it can be opened.")
    if not candidate.is_file():
        raise CubeError(f"There is no file '{relative.strip()}' in the server's data folder.")
    _check_companions(base, candidate)
    return candidate


def _check_companions(base: Path, path: Path, limit: int = 10_000) -> None:
    """Every file beside ``path`` that opening it may read (the same name's ENVI data, ``.aux.xml``,
    overviews; a product's image files) lies inside ``base`` after following links: a header
    inside the folder must not serve the bytes of a linked data file outside it."""
    stem = path.name.split(".")[0].lower()
    product = path.suffix.lower() == ".xml"
    for k, sibling in enumerate(path.parent.iterdir()):
        if k >= limit:
            raise CubeError("The cube's folder holds too many files to check; move the cube to a folder of its own.")
        name = sibling.name.lower()
        if (name.startswith(stem) or (product and _product_image(sibling.name))) and \
                not sibling.resolve().is_relative_to(base):
            raise CubeError(f"'{sibling.name}' beside '{path.name}' links outside the server's data folder; "
                            "only files inside it are opened.")


def list_folder(root: str | os.PathLike[str], limit: int = _LIST_LIMIT) -> list[str]:
    """Relative paths (POSIX) of the cube files under ``root``, sorted; hidden entries and
    links leading outside ``root`` are left out."""
    base = Path(root).resolve(strict=True)
    found: list[str] = []
    for folder, dirs, files in os.walk(base, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            listed = Path(name).suffix.lower() in CUBE_SUFFIXES or name.upper().endswith("METADATA.XML")
            if name.startswith(".") or not listed:
                continue
            path = Path(folder) / name
            if not path.resolve().is_relative_to(base):
                continue
            found.append(path.relative_to(base).as_posix())
        if len(found) >= limit:
            break
    return sorted(found)[:limit]


def _product_image(name: str) -> bool:
    """Whether a file beside a product's METADATA.XML is one of its images (EnMAP, DESIS)."""
    return "SPECTRAL_IMAGE" in name.upper()


def folder_source_id(path: Path) -> str:
    """Id of a data-folder file: its path, size and modification time (and its ENVI data
    file's, so rewriting the data changes the id)."""
    parts: list[object] = ["folder", path]
    companions = [path]
    if path.suffix.lower() == ".hdr":
        try:
            companions.append(find_data_file(path))
        except CubeError:
            pass
    if path.suffix.lower() == ".xml":  # a product's metadata: its images are the data
        companions += sorted(p for p in path.parent.iterdir() if _product_image(p.name) and p.is_file())
    for file in companions:
        stat = file.stat()
        parts += [file.name, stat.st_size, stat.st_mtime_ns]
    return _id(*parts)


# ------------------------------------------------------------------ object-store URLs

def allowed_prefixes() -> list[str]:
    """URL prefixes users may open, from ``CUBESCOPE_REMOTE_PREFIXES`` (comma-separated)."""
    text = os.environ.get("CUBESCOPE_REMOTE_PREFIXES", "")
    return [p.strip() for p in text.split(",") if p.strip()]


def check_url(url: object, prefixes: Sequence[str]) -> str:
    """A URL the server may open for a user, or CubeError saying what is wrong with it.

    Refused: credentials, queries or fragments in the URL, chained fsspec URLs (``a::b``),
    ``..`` segments, and anything not under one of ``prefixes``.
    """
    if not prefixes:
        raise CubeError("Opening cubes from URLs is not enabled on this server (CUBESCOPE_REMOTE_PREFIXES is unset).")
    if isinstance(url, str) and "::" in url:
        raise CubeError("Chained URLs (with '::') are not accepted; give the object's own URL.")
    if not isinstance(url, str) or len(url) > 2000 or not _URL_TEXT.match(url.strip()):
        raise CubeError("Give a URL such as s3://bucket/folder/scene.hdr (no spaces).")
    url = url.strip()
    parts = urlsplit(url)
    if "@" in parts.netloc or parts.username or parts.password:
        raise CubeError("Do not put credentials in the URL: the server uses its own, from its environment.")
    if parts.query or parts.fragment:
        raise CubeError("The URL must not carry a query or fragment ('?...' or '#...').")
    if ".." in PurePosixPath(parts.path).parts:
        raise CubeError("The URL must not contain '..' segments.")
    if not any(_under(url, prefix) for prefix in prefixes):
        raise CubeError("This server opens URLs under " + ", ".join(prefixes) + " only.")
    return url


def _under(url: str, prefix: str) -> bool:
    """Whether ``url`` lies under ``prefix`` by whole path segments: ``s3://bucket`` allows
    ``s3://bucket/...`` and not ``s3://bucket-evil/...`` (a plain ``startswith`` would). A prefix
    ending in ``/`` is a folder; the scheme and host compare without letter case."""
    u, p = urlsplit(url), urlsplit(prefix)
    if (u.scheme.lower(), u.netloc.lower()) != (p.scheme.lower(), p.netloc.lower()):
        return False
    folder = p.path.rstrip("/")
    if not folder:
        return True
    return u.path == folder or u.path.startswith(folder + "/")


def _filesystem(url: str):
    import fsspec

    try:
        return fsspec.core.url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise CubeError(f"This server cannot read '{urlsplit(url).scheme}' URLs ({exc}).") from exc


def _companions(fs, path: str) -> list[str]:
    """The object and, for ENVI, its header or data object beside it."""
    posix = PurePosixPath(path)
    stem, suffix = posix.stem, posix.suffix
    if suffix.lower() == ".hdr":
        wanted = [stem + s for s in DATA_SUFFIXES]  # in the order the ENVI reader tries them
    elif suffix in DATA_SUFFIXES:
        wanted = [stem + ".hdr", stem + ".HDR"]
    else:
        return [path]
    try:
        beside = fs.ls(str(posix.parent), detail=False)
    except OSError:
        beside = []
    names = {PurePosixPath(p).name: p for p in beside if PurePosixPath(p).name != posix.name}
    return [path, *[names[n] for n in wanted if n in names][:1]]


@dataclass(frozen=True)
class RemoteCube:
    """An object at a URL and, for ENVI, its header or data object beside it, as the object
    store describes them (one listing and one lookup per object, done by :func:`locate`)."""

    url: str
    fs: Any
    items: tuple[tuple[str, dict], ...]

    def source_id(self, options: str = "") -> str:
        """Id: the URL, what the store says of each object's version (size, ETag, time), and
        the reading ``options`` (dataset, band axis) that change what is read."""
        parts: list[object] = ["url", self.url, options]
        for item, info in self.items:
            parts += [item, info.get("size"), info.get("ETag") or info.get("etag") or "",
                      info.get("LastModified") or info.get("mtime") or info.get("created") or ""]
        return _id(*parts)

    def fetch(self, folder: Path, limits: Limits, progress: Progress | None = None) -> Path:
        """Copy the objects into ``folder`` in 16 MB pieces; return the local path of the first.
        Sizes are checked against ``limits`` before anything is read."""
        sizes = [int(info.get("size") or 0) for _, info in self.items]
        allowed = limits.max_bytes + limits.max_header_bytes + 2**20
        if sum(sizes) > allowed:
            raise CubeError(
                f"'{self.url}' holds {human_bytes(sum(sizes))}; this server accepts cubes up to "
                f"{human_bytes(limits.max_bytes)}."
            )
        folder.mkdir(parents=True, exist_ok=True)
        total, done = max(1, sum(sizes)), 0
        local = []
        try:
            for item, _ in self.items:
                target = folder / PurePosixPath(item).name
                with self.fs.open(item, "rb") as source, open(target, "wb") as sink:
                    while chunk := source.read(_COPY_CHUNK):
                        sink.write(chunk)
                        done += len(chunk)
                        if done > allowed:
                            raise CubeError(f"'{self.url}' is larger than it said; it was not opened.")
                        if progress:
                            progress(done / total)
                local.append(target)
        except OSError as exc:
            raise CubeError(f"'{self.url}' could not be read ({type(exc).__name__}: {exc}).") from exc
        return local[0]


def locate(url: str) -> RemoteCube:
    """Look up the object at ``url`` (checked with :func:`check_url`) and its ENVI companion."""
    fs, path = _filesystem(url)
    try:
        return RemoteCube(url, fs, tuple((item, fs.info(item)) for item in _companions(fs, path)))
    except FileNotFoundError as exc:
        raise CubeError(f"There is no object at '{url}'.") from exc
    except OSError as exc:
        raise CubeError(f"'{url}' could not be reached ({type(exc).__name__}: {exc}).") from exc
