"""Containers that hold several arrays (.npz, .mat, HDF5): listing them and choosing one."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from cubescope.errors import CubeError, SeveralCubes

_WAVELENGTH_NAME = re.compile(r"wa?ve?l|^wl$|lambda|^wvl", re.IGNORECASE)


@dataclass(frozen=True)
class ArrayInfo:
    """One array in a container, known from its header alone.

    Attributes
    ----------
    name : str
        Its name or path inside the container.
    shape : tuple of int
    dtype : str
    stored_bytes : int or None
        Bytes of samples the container really holds for it, when known.
    alternative : bool
        Another way of opening a cube listed before it (EMIT's swath geometry beside its
        orthorectified grid): offered, but not a reason to ask the user which cube they mean.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    stored_bytes: int | None = None
    alternative: bool = False

    @property
    def is_cube(self) -> bool:
        return len(self.shape) == 3 and self.dtype[:1] in "iuf<>=|" and all(s > 0 for s in self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def label(self) -> str:
        return f"{self.name}  ({' x '.join(map(str, self.shape))}, {self.dtype})"


def choose_array(infos: list[ArrayInfo], wanted: str | None, container: str) -> ArrayInfo:
    """The cube to open: the one named ``wanted``, or the only 3D array in the container."""
    if wanted is not None:
        for info in infos:
            if info.name == wanted:
                if len(info.shape) != 3:
                    raise CubeError(
                        f"'{wanted}' in '{container}' has shape {info.shape}; a cube needs 3 axes."
                    )
                return info
        raise CubeError(f"'{container}' has no array named '{wanted}'.")
    cubes = [info for info in infos if len(info.shape) == 3]
    if len(cubes) == 1:
        return cubes[0]
    if not cubes:
        shapes = ", ".join(f"{i.name} {i.shape}" for i in infos[:10]) or "nothing"
        raise CubeError(
            f"'{container}' holds no 3D array (found: {shapes}). A cube needs rows, columns and bands."
        )
    names = ", ".join(info.name for info in cubes[:20])
    raise SeveralCubes(f"'{container}' holds several cubes ({names}); choose which one to open.",
                       [info.name for info in cubes])


def find_wavelengths(infos: list[ArrayInfo], n_bands: int | None = None) -> ArrayInfo | None:
    """A 1D (or n x 1) array named like a wavelength list, with ``n_bands`` entries if given."""
    for info in infos:
        if not _WAVELENGTH_NAME.search(info.name.rsplit("/", 1)[-1]):
            continue
        if info.size < 2 or sum(s > 1 for s in info.shape) != 1:
            continue
        if n_bands is None or info.size == n_bands:
            return info
    return None
