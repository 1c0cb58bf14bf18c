"""Uploaded files: safe names, content ids, zip bundles unpacked within limits.

Which of the staged files opens the cube is :func:`cubescope.io.main_file`'s to say."""

from __future__ import annotations

import io
import lzma
import os
import re
import shutil
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO

import blake3

from cubescope.errors import CubeError
from cubescope.io.limits import Limits, check_expansion, human_bytes

# Letters and digits of any script, spaces, and ._- survive; anything else (slashes, controls,
# quotes, shell characters) becomes "_".
_SAFE = re.compile(r"[^\w .-]+")
#: Longest stored name, in bytes of UTF-8: file systems allow 255.
_MAX_NAME_BYTES = 240
_MAX_MEMBERS = 64
_PIECE = 16 * 2**20

#: An uploaded file's content: bytes, a seekable binary file (Streamlit's ``UploadedFile``),
#: which is read in pieces so that no second copy of a large upload is made, or the path of a
#: file the upload was streamed into (staged by a hard link where the file system allows).
Content = bytes | BinaryIO | Path


def _as_file(data: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(data) if isinstance(data, (bytes, bytearray, memoryview)) else data


def _size(data: Content) -> int:
    if isinstance(data, Path):
        return data.stat().st_size
    return _as_file(data).seek(0, io.SEEK_END)


def _pieces(data: Content) -> Iterator[bytes | memoryview]:
    """The content in pieces of 16 MB: views, never copies, of bytes and of in-memory files
    (Streamlit's ``UploadedFile`` is a ``BytesIO``: reading it would copy every upload once more
    in the server, which with ten uploads at once was a tenth of the server's time); reads of
    other files. A consumer must not keep a piece."""
    if isinstance(data, Path):
        with open(data, "rb") as handle:
            yield from _pieces(handle)
        return
    if isinstance(data, (bytes, bytearray, memoryview)):
        view = memoryview(data)
    elif isinstance(data, io.BytesIO):
        view = data.getbuffer()
    else:
        data.seek(0)
        while piece := data.read(_PIECE):
            yield piece
        return
    with view:
        for start in range(0, len(view), _PIECE):
            with view[start:start + _PIECE] as piece:
                yield piece


def safe_name(name: str, fallback: str = "file") -> str:
    """A file name reduced to letters and digits (any script), spaces and ``._-``: no folders,
    no leading dot, never empty. Its endings are kept whole, so a header and its data file
    still pair: a name too long for the file system loses characters from the middle.

    >>> safe_name("../../etc/passwd")
    'passwd'
    >>> safe_name("scène 01.hdr")
    'scène 01.hdr'
    >>> safe_name("스캔.hdr")
    '스캔.hdr'
    """
    base = PurePosixPath(str(name).replace("\\", "/")).name
    cleaned = _SAFE.sub("_", base).strip().lstrip("._ ")
    if len(cleaned.encode()) > _MAX_NAME_BYTES:
        # Keep the first 120 and the last 100 bytes' worth: the endings (".bip.hdr") decide the role.
        head = cleaned.encode()[:120].decode(errors="ignore")
        tail = cleaned.encode()[-100:].decode(errors="ignore")
        cleaned = f"{head}…{tail}"
    return cleaned or fallback


def content_id(files: Sequence[tuple[str, Content]], options: str = "") -> str:
    """128-bit hex id of everything that decides the cube: each file's name (its role: which is
    the header, which the data, and the cube's shown name) with its bytes, and the load options.
    The order of the files does not matter.

    Names are part of the id, so the same bytes under other names are another cube: two users
    share a stored cube only when they upload the same files under the same names, and a name
    never reaches someone who did not upload it.
    """
    entries = []
    for name, data in files:
        digest = blake3.blake3()  # cryptographic, and three times SHA-256's speed on one core
        for piece in _pieces(data):
            digest.update(piece)
        entries.append(f"{safe_name(name)}\0{digest.hexdigest()}")
    entries.sort()
    return blake3.blake3(("\n".join(entries) + "\n" + options).encode()).hexdigest()[:32]


def stage_files(files: Sequence[tuple[str, Content]], folder: Path, limits: Limits) -> list[Path]:
    """Write uploads into ``folder`` under safe names, in pieces, unpacking .zip bundles.

    Uploads larger together than the largest cube (plus headers) are refused before anything
    is written. Zip members are checked before extraction: no absolute paths or ``..``, at most
    64 members, and their declared sizes must fit the limits (a zip bomb is refused unread).
    """
    total = sum(_size(data) for _, data in files)
    if total > limits.max_bytes + limits.max_header_bytes * max(1, len(files)):
        raise CubeError(
            f"The upload holds {human_bytes(total)}, more than this server accepts ({human_bytes(limits.max_bytes)})."
        )
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name, data in files:
        clean = safe_name(name)
        if clean.lower().endswith(".zip"):
            written.extend(_unzip(name, data, folder, limits))
            continue
        target = folder / clean
        if isinstance(data, Path):
            _link_or_copy(data, target)
        else:
            with open(target, "wb") as sink:
                for piece in _pieces(data):
                    sink.write(piece)
        written.append(target)
    if not written:
        raise CubeError("No file was uploaded.")
    return written


def _link_or_copy(source: Path, target: Path) -> None:
    """``target`` as a second name of ``source`` (no bytes copied), or a copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _unzip(name: str, data: Content, folder: Path, limits: Limits) -> list[Path]:
    if isinstance(data, Path):
        with open(data, "rb") as handle:
            return _unzip(name, handle, folder, limits)
    handle = _as_file(data)
    handle.seek(0)
    try:
        archive = zipfile.ZipFile(handle)
    except zipfile.BadZipFile as exc:
        raise CubeError(f"'{safe_name(name)}' is not a valid .zip file ({exc}).") from exc
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir()]
        if len(members) > _MAX_MEMBERS:
            raise CubeError(f"The zip holds {len(members)} files; a cube needs only a few (at most {_MAX_MEMBERS}).")
        total = sum(m.file_size for m in members)
        if total > limits.max_bytes + limits.max_header_bytes * len(members):
            raise CubeError(
                f"The zip unpacks to {human_bytes(total)}, more than this server accepts "
                f"({human_bytes(limits.max_bytes)})."
            )
        check_expansion(total, handle.seek(0, io.SEEK_END), limits, f"'{safe_name(name)}'")
        paths = []
        for member in members:
            parts = PurePosixPath(member.filename.replace("\\", "/")).parts
            if member.filename.startswith(("/", "\\")) or ".." in parts:
                raise CubeError(f"The zip member '{member.filename}' points outside the archive; refused.")
            if parts and parts[0] == "__MACOSX":
                continue
            target = folder / safe_name(member.filename)
            try:
                with archive.open(member) as source, open(target, "wb") as sink:
                    copied = 0
                    while chunk := source.read(1 << 20):
                        copied += len(chunk)
                        if copied > member.file_size:
                            raise CubeError(f"The zip member '{member.filename}' is larger than it declares.")
                        sink.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError,
                    lzma.LZMAError, OSError) as exc:
                # A bad CRC, a broken deflate stream, an unknown method or the encrypted flag.
                raise CubeError(
                    f"The zip member '{safe_name(member.filename)}' cannot be unpacked ({type(exc).__name__}: {exc}). "
                    "Zip the files again, without encryption."
                ) from exc
            paths.append(target)
    return paths
