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
    """

    max_bytes: int = 32 * 2**30
    max_side: int = 200_000
    max_bands: int = 10_000
    max_header_bytes: int = 4 * 2**20

    @classmethod
    def from_env(cls) -> Limits:
        """Limits from ``CUBESCOPE_MAX_CUBE_BYTES`` and friends, else the defaults."""
        defaults = cls()
        return cls(
            max_bytes=int(os.environ.get("CUBESCOPE_MAX_CUBE_BYTES", defaults.max_bytes)),
            max_side=int(os.environ.get("CUBESCOPE_MAX_SIDE", defaults.max_side)),
            max_bands=int(os.environ.get("CUBESCOPE_MAX_BANDS", defaults.max_bands)),
        )


DEFAULT_LIMITS = Limits()


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
