"""Size limits checked before any allocation, against what a file declares and what it holds."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from cubescope.errors import CubeError


@dataclass(frozen=True)
class Limits:
    """What a loader may be asked to read.

    Attributes
    ----------
    max_bytes : int
        Largest cube, in bytes of samples as stored.
    max_side : int
        Largest number of rows or columns.
    max_bands : int
        Largest number of bands.
    max_header_bytes : int
        Largest text header (ENVI .hdr) read.
    max_expansion : float
        Largest ratio of samples declared to bytes of the file holding them, for compressed or
        chunked containers (HDF5, MATLAB, TIFF, zip): a file of a few KB that declares a GB is a
        bomb, not a cube. Declarations up to :data:`EXPANSION_FLOOR` bytes are always allowed.
    """

    max_bytes: int = 32 * 2**30
    max_side: int = 200_000
    max_bands: int = 10_000
    max_header_bytes: int = 4 * 2**20
    max_expansion: float = 100.0

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from ``CUBESCOPE_MAX_CUBE_BYTES`` and friends, else the defaults."""
        defaults = cls()
        return cls(
            max_bytes=int(os.environ.get("CUBESCOPE_MAX_CUBE_BYTES", defaults.max_bytes)),
            max_side=int(os.environ.get("CUBESCOPE_MAX_SIDE", defaults.max_side)),
            max_bands=int(os.environ.get("CUBESCOPE_MAX_BANDS", defaults.max_bands)),
            max_expansion=float(os.environ.get("CUBESCOPE_MAX_EXPANSION", defaults.max_expansion)),
        )


DEFAULT_LIMITS = Limits()
#: Declared sizes up to this are never refused for their expansion ratio.
EXPANSION_FLOOR = 64 * 2**20


def human_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KB"``; decimal units, as file browsers show them."""
    for unit in ("bytes", "KB", "MB", "GB", "TB", "PB"):
        if abs(n) < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def check_declared(
    shape: tuple[int, ...],
    itemsize: int,
    limits: Limits,
    *,
    available: int | None = None,
    compressed_from: int | None = None,
    what: str = "The file",
) -> int:
    """Check a declared cube shape before reading anything; return its size in bytes.

    Parameters
    ----------
    shape : tuple of int
        The declared dimensions (any order; three of them for a cube).
    itemsize : int
        Bytes per sample.
    limits : Limits
        Configured ceilings.
    available : int, optional
        Bytes the file really holds for the samples (file size minus header); when given,
        a declaration larger than that is refused as truncated or wrong.
    compressed_from : int, optional
        Size of the file that holds the samples compressed or chunked; a declaration more
        than ``limits.max_expansion`` times larger (and over :data:`EXPANSION_FLOOR`) is refused.
    what : str
        How to name the source in messages.

    Raises
    ------
    CubeError
        On a non-positive dimension, a size beyond the limits, or more bytes declared than
        the file holds.
    """
    if any(int(d) <= 0 for d in shape):
        raise CubeError(f"{what} declares an empty or negative dimension: {tuple(shape)}.")
    n_bytes = math.prod(int(d) for d in shape) * int(itemsize)
    if n_bytes > limits.max_bytes:
        raise CubeError(
            f"{what} declares {' x '.join(str(d) for d in shape)} samples "
            f"({human_bytes(n_bytes)}), more than this server accepts "
            f"({human_bytes(limits.max_bytes)}). Crop or subset the cube first."
        )
    check_expansion(n_bytes, compressed_from, limits, what)
    if available is not None and n_bytes > available:
        raise CubeError(
            f"{what} declares {' x '.join(str(d) for d in shape)} samples of {itemsize} bytes "
            f"({human_bytes(n_bytes)}) but holds only {human_bytes(max(available, 0))} of data. "
            "The file is truncated, or its header does not describe it (check lines, samples, "
            "bands, data type and header offset)."
        )
    return n_bytes


def check_cube_shape(rows: int, cols: int, bands: int, limits: Limits, what: str) -> None:
    """Refuse row, column or band counts beyond the limits."""
    if max(rows, cols) > limits.max_side:
        raise CubeError(
            f"{what} is {rows} x {cols} pixels; this server accepts at most {limits.max_side} "
            "pixels a side."
        )
    if bands > limits.max_bands:
        raise CubeError(
            f"{what} has {bands} bands; this server accepts at most {limits.max_bands}."
        )


def check_expansion(n_bytes: int, file_bytes: int | None, limits: Limits, what: str) -> None:
    """Refuse ``n_bytes`` of samples declared by a file of ``file_bytes`` bytes when the ratio
    exceeds ``limits.max_expansion`` (above :data:`EXPANSION_FLOOR`)."""
    if file_bytes is None or n_bytes <= EXPANSION_FLOOR:
        return
    if n_bytes > limits.max_expansion * max(file_bytes, 1):
        raise CubeError(
            f"{what} declares {human_bytes(n_bytes)} of samples in a file of {human_bytes(file_bytes)}: "
            f"{n_bytes / max(file_bytes, 1):,.0f} times its size, more than this server accepts "
            f"({limits.max_expansion:g} times; the administrator sets CUBESCOPE_MAX_EXPANSION). "
            "Real cubes compress far less; the file is damaged or built to exhaust memory."
        )
